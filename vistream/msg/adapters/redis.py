"""Redis adapter (redis-py): each message is XADDed to the stream named by the topic."""

from __future__ import annotations

import threading

from vistream.msg.adapters import AdapterError, ConnInfo, MessageCallback
from vistream.msg.config import AdapterConfig
from vistream.msg.spool import SpoolEntry


class RedisAdapter:
    """Config keys: hostname, port, password, streamsize (XADD MAXLEN ~), payloadkey (field name, default
    ``metadata``), consumergroup (consumers read with XREADGROUP and XACK). A message leaves the spool when
    XADD returned its entry id."""

    protocol = "redis"
    requires = ("redis", "redis")  # (module, pip package) checked when a broker is created

    def __init__(self, conn: ConnInfo, config: AdapterConfig) -> None:
        self.conn, self.cfg = conn, config
        self.payload_key = config.get("payloadkey", "metadata")
        self.stream_size = config.get_int("streamsize", 0, minimum=0) or None
        self.password = config.get("password") or None
        self.r = None

    def _errors(self):
        import redis  # noqa: PLC0415 - optional dependency

        return redis

    def connect(self, timeout: float) -> None:
        redis = self._errors()
        self.close()
        r = redis.Redis(self.conn.host, self.conn.port, password=self.password, socket_timeout=timeout,
                        socket_connect_timeout=timeout, retry=None)
        try:
            r.ping()
        except redis.AuthenticationError as e:
            raise AdapterError(f"redis {self.conn}: authentication failed: {e}", auth=True) from e
        except redis.ResponseError as e:
            auth = "NOAUTH" in str(e) or "WRONGPASS" in str(e)
            raise AdapterError(f"redis {self.conn}: {e}", auth=auth) from e
        except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
            raise AdapterError(f"redis {self.conn}: cannot connect: {e}") from e
        self.r = r

    def publish(self, entries: list[SpoolEntry], timeout: float) -> list[int]:
        redis = self._errors()
        if self.r is None:
            raise AdapterError(f"redis {self.conn}: not connected")
        pipe = self.r.pipeline(transaction=False)
        for e in entries:
            pipe.xadd(e.topic, {self.payload_key: e.payload}, maxlen=self.stream_size, approximate=True)
        try:
            results = pipe.execute(raise_on_error=False)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
            self.close()
            raise AdapterError(f"redis {self.conn}: connection lost: {e}") from e
        return [e.id for e, res in zip(entries, results, strict=True) if not isinstance(res, Exception)]

    def consume(self, topics: list[str], callback: MessageCallback, stop: threading.Event,
                on_ready=None) -> None:
        redis = self._errors()
        self.connect(10.0)
        group = self.cfg.get("consumergroup")
        try:
            # start after the newest entry that exists now ("$" would race with the first XREAD)
            last = {}
            for t in topics:
                newest = self.r.xrevrange(t, count=1)
                last[t] = newest[0][0] if newest else "0-0"
            if group:
                for t in topics:
                    try:
                        self.r.xgroup_create(t, group, id="0", mkstream=True)
                    except redis.ResponseError as e:
                        if "BUSYGROUP" not in str(e):
                            raise
            if on_ready is not None:
                on_ready()
            while not stop.is_set():
                if group:
                    resp = self.r.xreadgroup(group, "vistream", {t: ">" for t in topics}, count=100, block=200)
                else:
                    resp = self.r.xread(last, count=100, block=200)
                for stream, items in resp or []:
                    name = stream.decode() if isinstance(stream, bytes) else stream
                    for entry_id, fields in items:
                        callback(name, fields.get(self.payload_key.encode(), b""))
                        if group:
                            self.r.xack(name, group, entry_id)
                        else:
                            last[name] = entry_id
        except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
            raise AdapterError(f"redis {self.conn}: connection lost: {e}") from e
        finally:
            self.close()

    def close(self) -> None:
        r, self.r = self.r, None
        if r is not None:
            r.close()
