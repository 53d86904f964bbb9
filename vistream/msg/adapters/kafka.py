"""Kafka adapter (confluent-kafka / librdkafka): acks=all, keyed partitioning, bounded retries."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from vistream.msg.adapters import AdapterError, ConnInfo, MessageCallback
from vistream.msg.config import AdapterConfig
from vistream.msg.spool import SpoolEntry

# librdkafka logs every refused connection; the broker's own retry log says it once per state change
_rdkafka_log = logging.getLogger("vistream.msg.kafka.librdkafka")
if _rdkafka_log.level == logging.NOTSET:
    _rdkafka_log.setLevel(logging.CRITICAL)


def json_field(payload: bytes, path: str) -> str | None:
    """The value at a dotted path (``sensor.id``) of a JSON payload, as a string; None when absent."""
    try:
        node: Any = json.loads(payload)
    except ValueError:
        return None
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, str) else json.dumps(node)


class KafkaAdapter:
    """Config keys: proto-cfg / producer-proto-cfg (librdkafka settings ``"a=b;c=d"``), consumer-proto-cfg,
    consumer-group-id, partition-key (dotted JSON path whose value keys the message, default ``sensor.id``;
    messages with one key land on one partition, as Kafka's murmur2 partitioner places them).

    A message leaves the spool when its delivery report says the leader and all in-sync replicas have it
    (``acks=all``); librdkafka retries inside ``message.timeout.ms``, then the spool retries.
    """

    protocol = "kafka"
    requires = ("confluent_kafka", "confluent-kafka")  # (module, pip package) checked when a broker is created

    def __init__(self, conn: ConnInfo, config: AdapterConfig) -> None:
        self.conn, self.cfg = conn, config
        self.partition_key = config.get("partition-key", "sensor.id")
        self.producer = None

    def _base(self) -> dict[str, Any]:
        return {"bootstrap.servers": f"{self.conn.host}:{self.conn.port}", "socket.connection.setup.timeout.ms": 5000,
                "reconnect.backoff.max.ms": 1000, "logger": _rdkafka_log}

    def producer_config(self, timeout: float) -> dict[str, Any]:
        c = self._base() | {
            "acks": "all",
            "enable.idempotence": False,
            "message.timeout.ms": int(timeout * 1000),
            "retries": 5,
            "retry.backoff.ms": 100,
            "linger.ms": 5,
            "partitioner": "murmur2_random",
        }
        c.update(self.cfg.kv_list("proto-cfg"))
        c.update(self.cfg.kv_list("producer-proto-cfg"))
        if str(c.get("acks")) not in ("all", "-1"):
            raise self.cfg.error("proto-cfg", f"acks={c['acks']} would lose at-least-once delivery; use acks=all")
        return c

    def connect(self, timeout: float) -> None:
        from confluent_kafka import KafkaException, Producer  # noqa: PLC0415 - optional dependency

        self.close()
        try:
            p = Producer(self.producer_config(max(timeout, 1.0)))
            # the producer connects lazily; a metadata request proves the broker answers
            p.list_topics(timeout=timeout)
        except KafkaException as e:
            err = e.args[0] if e.args else e
            auth = "SASL" in str(err) or "AUTHENTICATION" in str(err).upper()
            raise AdapterError(f"kafka {self.conn}: cannot connect: {err}", auth=auth) from e
        self.producer = p

    def publish(self, entries: list[SpoolEntry], timeout: float) -> list[int]:
        from confluent_kafka import KafkaException  # noqa: PLC0415

        if self.producer is None:
            raise AdapterError(f"kafka {self.conn}: not connected")
        done: list[int] = []
        errors: list[str] = []

        def report(sid):
            def cb(err, msg):
                if err is None:
                    done.append(sid)
                else:
                    errors.append(str(err))
            return cb

        for e in entries:
            key = e.key if e.key is not None else (json_field(e.payload, self.partition_key)
                                                   if self.partition_key else None)
            try:
                self.producer.produce(e.topic, e.payload, key=key, on_delivery=report(e.id))
            except BufferError:
                break  # local queue full: send the rest next round
            except KafkaException as err:
                raise AdapterError(f"kafka {self.conn}: produce failed: {err}") from err
        left = self.producer.flush(timeout)
        if left:
            # drop what librdkafka still holds: the spool resends it, librdkafka must not send it again later
            self.producer.purge()
            self.producer.flush(0)
            self.close()
            if not done:
                raise AdapterError(f"kafka {self.conn}: {left} message(s) not acknowledged within {timeout:.1f} s"
                                   + (f" ({errors[-1]})" if errors else ""))
        elif errors and not done:
            raise AdapterError(f"kafka {self.conn}: delivery failed: {errors[-1]}")
        return done

    def consume(self, topics: list[str], callback: MessageCallback, stop: threading.Event,
                on_ready=None) -> None:
        from confluent_kafka import Consumer, KafkaError  # noqa: PLC0415

        c = Consumer(self._base() | {
            "group.id": self.cfg.get("consumer-group-id", "vistream"), "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
        } | self.cfg.kv_list("consumer-proto-cfg"))
        c.subscribe(topics, on_assign=lambda consumer, parts: on_ready() if on_ready is not None else None)
        try:
            while not stop.is_set():
                m = c.poll(0.2)
                if m is None:
                    continue
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    if m.error().fatal():
                        raise AdapterError(f"kafka {self.conn}: consumer error: {m.error()}")
                    continue
                callback(m.topic(), m.value())
        finally:
            c.close()

    def close(self) -> None:
        p, self.producer = self.producer, None
        if p is not None:
            p.flush(0)
