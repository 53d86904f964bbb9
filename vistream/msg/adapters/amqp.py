"""AMQP 0-9-1 adapter (pika): persistent messages on a topic exchange, with publisher confirms."""

from __future__ import annotations

import logging
import threading
import time

from vistream.msg.adapters import AdapterError, ConnInfo, MessageCallback
from vistream.msg.config import AdapterConfig
from vistream.msg.spool import SpoolEntry

# pika logs a traceback for every refused connection; the broker's retry log reports failures once
_pika_log = logging.getLogger("pika")
if _pika_log.level == logging.NOTSET:
    _pika_log.setLevel(logging.CRITICAL)


class AmqpAdapter:
    """Config keys: hostname, port, username, password (default guest/guest), exchange (default
    ``amq.topic``), topic (routing key), amqp-framesize, amqp-heartbeat, vhost. The topic is the routing
    key; a message leaves the spool when the broker confirmed it (a consumer's queue must be bound to the
    exchange with that key, or the broker discards it, as in DeepStream)."""

    protocol = "amqp"
    requires = ("pika", "pika")  # (module, pip package) checked when a broker is created

    def __init__(self, conn: ConnInfo, config: AdapterConfig) -> None:
        self.conn, self.cfg = conn, config
        self.exchange = config.get("exchange", "amq.topic")
        self.frame_max = config.get_int("amqp-framesize", 131072, minimum=4096)
        self.heartbeat = config.get_int("amqp-heartbeat", 0, minimum=0)
        self.connection = None
        self.channel = None

    def _params(self, timeout: float):
        import pika  # noqa: PLC0415 - optional dependency

        cred = pika.PlainCredentials(self.cfg.get("username", "guest"), self.cfg.get("password", "guest"))
        return pika.ConnectionParameters(
            self.conn.host, self.conn.port, self.cfg.get("vhost", "/"), cred, frame_max=self.frame_max,
            heartbeat=self.heartbeat, connection_attempts=1, socket_timeout=timeout,
            blocked_connection_timeout=timeout, stack_timeout=timeout + 1)

    def connect(self, timeout: float) -> None:
        import pika  # noqa: PLC0415
        from pika import exceptions as pe  # noqa: PLC0415

        self.close()
        try:
            self.connection = pika.BlockingConnection(self._params(timeout))
            self.channel = self.connection.channel()
            # Publisher confirms, kept asynchronous: BlockingChannel.confirm_delivery would wait for each
            # message's ack in turn (one persistence round per message, ~100 msg/s); the underlying channel
            # lets a whole batch be in flight and collects the acks (multiple=True acks cover ranges).
            self._outstanding: dict[int, int] = {}  # delivery tag -> spool id
            self._confirmed: list[int] = []
            self._tag = 0
            selected = []
            self.channel._impl.confirm_delivery(ack_nack_callback=self._on_confirm,
                                                callback=lambda frame: selected.append(True))
            deadline = time.monotonic() + timeout
            while not selected:
                if time.monotonic() > deadline:
                    raise AdapterError(f"amqp {self.conn}: Confirm.Select not answered within {timeout:.1f} s")
                self.connection.process_data_events(time_limit=0.05)
        except (pe.ProbableAuthenticationError, pe.AuthenticationError, pe.ProbableAccessDeniedError) as e:
            self.close()
            raise AdapterError(f"amqp {self.conn}: authentication failed for user "
                               f"{self.cfg.get('username', 'guest')!r}: {e!r}", auth=True) from e
        except (pe.AMQPError, OSError) as e:
            self.close()
            raise AdapterError(f"amqp {self.conn}: cannot connect: {e!r}") from e

    def _on_confirm(self, frame) -> None:
        import pika  # noqa: PLC0415

        m = frame.method
        tags = [t for t in self._outstanding if t <= m.delivery_tag] if m.multiple else [m.delivery_tag]
        ok = isinstance(m, pika.spec.Basic.Ack)
        for t in tags:
            sid = self._outstanding.pop(t, None)
            if ok and sid is not None:
                self._confirmed.append(sid)

    def publish(self, entries: list[SpoolEntry], timeout: float) -> list[int]:
        import pika  # noqa: PLC0415
        from pika import exceptions as pe  # noqa: PLC0415

        if self.channel is None:
            raise AdapterError(f"amqp {self.conn}: not connected")
        props = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent, content_type="application/json")
        self._confirmed = []
        try:
            for e in entries:
                self._tag += 1
                self._outstanding[self._tag] = e.id
                self.channel._impl.basic_publish(self.exchange, e.topic, e.payload, props)
            deadline = time.monotonic() + timeout
            while self._outstanding and time.monotonic() < deadline:
                self.connection.process_data_events(time_limit=0.01)
        except (pe.AMQPError, OSError) as err:
            done = self._confirmed
            self.close()
            if done:
                return done
            raise AdapterError(f"amqp {self.conn}: connection lost: {err!r}") from err
        if self._outstanding:
            # unconfirmed (nacked ones are simply absent): drop the channel so late acks cannot mix in
            self._outstanding.clear()
            done = self._confirmed
            self.close()
            return done
        return self._confirmed

    def consume(self, topics: list[str], callback: MessageCallback, stop: threading.Event,
                on_ready=None) -> None:
        from pika import exceptions as pe  # noqa: PLC0415

        self.connect(10.0)
        try:
            q = self.channel.queue_declare("", exclusive=True).method.queue
            for t in topics:
                self.channel.queue_bind(q, self.exchange, routing_key=t)

            def on_msg(ch, method, props, body):
                callback(method.routing_key, body)
                ch.basic_ack(method.delivery_tag)

            self.channel.basic_consume(q, on_msg)
            if on_ready is not None:
                on_ready()
            while not stop.is_set():
                self.connection.process_data_events(time_limit=0.2)
        except (pe.AMQPError, OSError) as e:
            raise AdapterError(f"amqp {self.conn}: connection lost: {e!r}") from e
        finally:
            self.close()

    def close(self) -> None:
        conn, self.connection, self.channel = self.connection, None, None
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a dead connection may fail to close; it is dropped anyway
                pass
