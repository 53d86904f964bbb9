"""MQTT adapter (paho-mqtt 2): QoS 1 publishes, a message leaves the spool on its PUBACK."""

from __future__ import annotations

import threading
import time

from vistream.msg.adapters import AdapterError, ConnInfo, MessageCallback
from vistream.msg.config import AdapterConfig
from vistream.msg.spool import SpoolEntry


class MqttAdapter:
    """Config keys (``[message-broker]``): username, password, client-id, keep-alive (or set-keepalive),
    enable-tls, tls-cafile, tls-capath, tls-certfile, tls-keyfile, loop-timeout (ms), qos (1 or 2)."""

    protocol = "mqtt"
    requires = ("paho.mqtt", "paho-mqtt")  # (module, pip package) checked when a broker is created

    def __init__(self, conn: ConnInfo, config: AdapterConfig) -> None:
        self.conn, self.cfg = conn, config
        self.qos = config.get_int("qos", 1)
        if self.qos not in (1, 2):
            raise config.error("qos", f"must be 1 or 2 for at-least-once delivery, got {self.qos}")
        self.keepalive = config.get_int("keep-alive", config.get_int("set-keepalive", 60), minimum=1)
        self.client = None
        self._cond = threading.Condition()
        self._acked: set[int] = set()
        self._connected = False
        self._rc = None

    def _new_client(self, suffix: str = ""):
        import paho.mqtt.client as mqtt  # noqa: PLC0415 - optional dependency

        client_id = self.cfg.get("client-id", "") + suffix
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                        clean_session=True)
        if self.cfg.get("username") is not None:
            c.username_pw_set(self.cfg.get("username"), self.cfg.get("password"))
        if self.cfg.get_bool("enable-tls", False):
            c.tls_set(ca_certs=self.cfg.get("tls-cafile"), certfile=self.cfg.get("tls-certfile"),
                      keyfile=self.cfg.get("tls-keyfile"))
            if self.cfg.get("tls-capath"):
                c.tls_context.load_verify_locations(capath=self.cfg.get("tls-capath"))
        c.max_inflight_messages_set(200)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        return c

    def _on_connect(self, client, userdata, flags, rc, properties=None) -> None:
        with self._cond:
            self._rc = rc
            self._connected = not rc.is_failure
            self._cond.notify_all()

    def _on_disconnect(self, client, userdata, flags, rc, properties=None) -> None:
        with self._cond:
            self._connected = False
            self._cond.notify_all()

    def _on_publish(self, client, userdata, mid, rc, properties=None) -> None:
        with self._cond:
            self._acked.add(mid)
            self._cond.notify_all()

    def connect(self, timeout: float, suffix: str = "") -> None:
        self.close()
        self.client = self._new_client(suffix)
        # message ids restart with each client: acks remembered from an old one must not match new ids
        self._rc, self._connected, self._acked = None, False, set()
        try:
            self.client.connect(self.conn.host, self.conn.port, keepalive=self.keepalive)
        except OSError as e:
            self.close()
            raise AdapterError(f"mqtt {self.conn}: cannot connect: {e.strerror or e}") from e
        self.client.loop_start()
        with self._cond:
            self._cond.wait_for(lambda: self._rc is not None, timeout)
        rc = self._rc
        if rc is None or rc.is_failure:
            self.close()
            if rc is None:
                raise AdapterError(f"mqtt {self.conn}: no CONNACK within {timeout:.1f} s")
            auth = rc.value in (4, 5, 134, 135)  # bad user name or password / not authorised
            raise AdapterError(f"mqtt {self.conn}: connection refused: {rc}", auth=auth)

    def publish(self, entries: list[SpoolEntry], timeout: float) -> list[int]:
        if self.client is None or not self._connected:
            raise AdapterError(f"mqtt {self.conn}: not connected")
        mids = {}
        for e in entries:
            info = self.client.publish(e.topic, e.payload, qos=self.qos)
            if info.rc != 0:
                raise AdapterError(f"mqtt {self.conn}: publish failed: {info.rc}")
            mids[info.mid] = e.id
        deadline = time.monotonic() + timeout
        with self._cond:
            while not set(mids) <= self._acked and self._connected:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            done = [sid for mid, sid in mids.items() if mid in self._acked]
            self._acked.difference_update(mids)
        if len(done) < len(mids) and not self._connected:
            # paho would resend its queue after reconnecting; we drop it and resend from the spool instead
            self.close()
        return done

    def consume(self, topics: list[str], callback: MessageCallback, stop: threading.Event,
                on_ready=None) -> None:
        self.connect(10.0, suffix="-sub" if self.cfg.get("client-id") else "")
        self.client.on_message = lambda c, u, msg: callback(msg.topic, msg.payload)
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.subscribe([(t, self.qos) for t in topics])
        if not subscribed.wait(10):
            self.close()
            raise AdapterError(f"mqtt {self.conn}: no SUBACK for {topics}")
        if on_ready is not None:
            on_ready()
        while not stop.wait(0.1):
            if not self._connected:
                self.close()
                raise AdapterError(f"mqtt {self.conn}: connection lost")
        self.close()

    def close(self) -> None:
        c, self.client = self.client, None
        if c is not None:
            try:
                c.disconnect()
            finally:
                c.loop_stop()
        self._connected = False
