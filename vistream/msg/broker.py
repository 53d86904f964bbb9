"""``MsgBroker``: the library behind the ``nvmsgbroker`` element (spool + background sender)."""

from __future__ import annotations

import hashlib
import logging
import os
import random
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from vistream.meta.batch import BatchMeta
from vistream.msg.adapters import AdapterError, parse_conn_str, protocol_name, resolve_adapter
from vistream.msg.config import AdapterConfig, ConfigError, as_bool, as_int
from vistream.msg.converter import Payload, payloads_of
from vistream.msg.spool import OVERFLOW_POLICIES, Spool, SpoolBusy

log = logging.getLogger("vistream.msg.broker")


@dataclass(slots=True)
class BrokerStats:
    """Counters of a :class:`MsgBroker` (this process): ``spooled`` accepted into the spool, ``sent``
    acknowledged by the broker, ``retries`` messages sent again after a failure, ``dropped`` evicted or
    refused by a full spool, ``pending`` waiting in the spool now, ``connected`` whether the adapter is
    connected, ``reconnects`` successful connects, ``last_error`` the latest failure (or "")."""

    spooled: int = 0
    sent: int = 0
    retries: int = 0
    dropped: int = 0
    pending: int = 0
    connected: bool = False
    reconnects: int = 0
    auth_failed: bool = False
    last_error: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def default_spool_path(protocol: str, conn: str, topic: str) -> Path:
    """Where a broker's spool lives unless ``spool-path`` says otherwise (one file per destination)."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "vistream" / "spool"
    digest = hashlib.sha1(f"{protocol}|{conn}|{topic}".encode()).hexdigest()[:12]
    return base / f"{protocol}-{digest}.db"


class MsgBroker:
    """Sends payloads to a message broker with at-least-once delivery; never blocks the caller.

    Properties mirror ``nvmsgbroker``: ``proto_lib`` (``kafka`` / ``mqtt`` / ``amqp`` / ``redis``, DeepStream's
    ``libnvds_*_proto.so`` names, or ``"module:Class"``), ``conn_str`` (``"host;port[;topic]"``), ``topic``,
    ``config`` (adapter config file, ``[message-broker]`` group), ``sync`` (kept for the element: clock
    sync is the sink's business), ``comp_id`` (only payloads whose ``componentId`` matches, 0 = all),
    ``new_api`` (accepted; both APIs share this delivery path).

    Delivery: :meth:`publish` (or :meth:`process` for a batch) writes the message to a SQLite spool
    (``spool-path``, WAL mode) and returns; a background thread sends the oldest pending messages in
    batches and deletes each one only after the broker acknowledged it (MQTT PUBACK, AMQP publisher
    confirm, Kafka acks=all delivery report, Redis XADD reply). Failures reconnect with exponential
    back-off (``retry-initial-ms`` doubling to ``retry-max-ms``, with jitter); bad credentials are
    reported in :attr:`stats` ``.last_error`` / ``.auth_failed`` while messages keep spooling. A full spool
    (``spool-max-messages``) drops by ``spool-overflow`` (``drop-oldest`` | ``drop-newest``), counted.
    These spool keys may be given as arguments or in the adapter config file.

    Example::

        broker = MsgBroker("libnvds_mqtt_proto.so", "localhost;1883", topic="ds-events")
        broker.publish(b'{"hello": 1}')
        broker.process(batch_meta)      # sends the payloads MsgConverter attached
        broker.flush(5.0); broker.close()
    """

    def __init__(
        self,
        proto_lib: str,
        conn_str: str = "",
        topic: str | None = None,
        config: str | os.PathLike | None = None,
        sync: bool = False,
        comp_id: int = 0,
        new_api: bool = False,
        *,
        spool_path: str | os.PathLike | None = None,
        spool_max_messages: int | None = None,
        spool_overflow: str | None = None,
        retry_initial_ms: int | None = None,
        retry_max_ms: int | None = None,
        send_batch: int | None = None,
        send_timeout: float = 5.0,
        start: bool = True,
    ) -> None:
        self.protocol = protocol_name(proto_lib)
        adapter_cls = resolve_adapter(proto_lib)
        self.adapter_config = AdapterConfig.load(config, self.protocol)
        ac = self.adapter_config
        self.conn = parse_conn_str(conn_str, self.protocol)
        self.topic = topic or self.conn.topic or ac.get("topic")
        if not self.topic:
            raise ConfigError("nvmsgbroker: no topic: set the topic property, or give it as the third "
                              "field of conn-str ('host;port;topic')")
        self.sync = as_bool(sync, "nvmsgbroker: sync")
        self.comp_id = as_int(comp_id, "nvmsgbroker: comp-id", minimum=0)
        self.new_api = as_bool(new_api, "nvmsgbroker: new-api")
        # the adapter config may also name the host/port (amqp / redis hostname, port keys)
        if ac.get("hostname") and not conn_str:
            self.conn.host = ac.get("hostname")
        if ac.get("port") and not conn_str:
            self.conn.port = ac.get_int("port", self.conn.port, minimum=1)
        overflow = spool_overflow or ac.get("spool-overflow", "drop-oldest")
        if overflow not in OVERFLOW_POLICIES:
            raise (ac.error("spool-overflow", f"must be one of {', '.join(OVERFLOW_POLICIES)}")
                   if spool_overflow is None else ConfigError(f"nvmsgbroker: spool-overflow={overflow!r}: must be "
                                                              f"one of {', '.join(OVERFLOW_POLICIES)}"))
        max_msgs = spool_max_messages or ac.get_int("spool-max-messages", 100_000, minimum=1)
        path = spool_path or ac.get("spool-path")
        self.retry_initial = (retry_initial_ms or ac.get_int("retry-initial-ms", 200, minimum=1)) / 1000
        self.retry_max = (retry_max_ms or ac.get_int("retry-max-ms", 5000, minimum=1)) / 1000
        self.send_batch = send_batch or ac.get_int("send-batch", 200, minimum=1)
        self.send_timeout = float(send_timeout)
        self.adapter = adapter_cls(self.conn, ac)
        self.spool = self._open_spool(path, max_msgs, overflow)
        self.stats = BrokerStats(pending=len(self.spool))
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    def _open_spool(self, path, max_msgs: int, overflow: str) -> Spool:
        if path:
            try:
                return Spool(path, max_msgs, overflow)
            except SpoolBusy as e:
                raise ConfigError(f"nvmsgbroker: spool-path: {e}") from None
        # default location: the first free one of a few per destination (several brokers may share one)
        base = default_spool_path(self.protocol, str(self.conn), self.topic)
        for i in range(16):
            try:
                return Spool(base if i == 0 else base.with_name(f"{base.stem}-{i}{base.suffix}"), max_msgs, overflow)
            except SpoolBusy:
                continue
        raise ConfigError(f"nvmsgbroker: every default spool file next to {base} is in use; set spool-path")

    # ------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the sender thread (done by the constructor unless ``start=False``)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"msgbroker-{self.protocol}", daemon=True)
            self._thread.start()

    def publish(self, payload: bytes | str | Payload, topic: str | None = None, key: str | None = None) -> int | None:
        """Spool one message for sending; returns its spool id (None if a full spool refused it)."""
        return self.publish_many([payload], topic, key)[0]

    def publish_many(self, payloads: list[bytes | str | Payload], topic: str | None = None,
                     key: str | None = None) -> list[int | None]:
        """Spool several messages in one transaction (what :meth:`process` uses); returns their spool ids."""
        rows = []
        for p in payloads:
            t, k = topic, key
            if isinstance(p, Payload):
                t, k, p = t or p.topic, k or p.key, p.payload
            rows.append((t or self.topic, p.encode() if isinstance(p, str) else bytes(p), k))
        dropped_before = self.spool.dropped
        ids = self.spool.put_many(rows)
        with self._lock:
            self.stats.spooled += sum(i is not None for i in ids)
            self.stats.dropped += self.spool.dropped - dropped_before
            self.stats.pending = len(self.spool)
        return ids

    def process(self, batch_meta: BatchMeta) -> int:
        """Spool every payload attached to the batch (by ``MsgConverter``) that matches ``comp_id``;
        returns how many were spooled."""
        payloads = payloads_of(batch_meta, self.comp_id)
        return sum(i is not None for i in self.publish_many(payloads)) if payloads else 0

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the spool is empty; False if messages are still pending after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.spool) and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.spool) == 0

    def close(self, timeout: float = 5.0) -> None:
        """Try to flush for ``timeout`` seconds, then stop; unsent messages stay in the spool file."""
        if self._thread is not None:
            self.flush(timeout)
            self._stop.set()
            self.spool.not_empty.set()  # wake the sender
            self._thread.join(self.send_timeout + 5)
            self._thread = None
        self.adapter.close()
        self.spool.close()

    def __enter__(self) -> MsgBroker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------------
    def _fail(self, msg: str, auth: bool = False) -> None:
        with self._lock:
            if self.stats.connected or msg != self.stats.last_error:
                log.warning("nvmsgbroker %s: %s", self.protocol, msg)
            self.stats.connected = False
            self.stats.last_error = msg
            self.stats.auth_failed = auth

    def _backoff(self) -> None:
        # exponential, with jitter so many pipelines do not reconnect in lockstep
        self._stop.wait(self._delay * random.uniform(0.8, 1.2))
        self._delay = min(self._delay * 2, self.retry_max)

    def _close_adapter(self) -> None:
        try:
            self.adapter.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail; it is dropped anyway
            log.debug("nvmsgbroker %s: close failed", self.protocol, exc_info=True)

    def _run(self) -> None:
        self._delay = self.retry_initial
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as e:  # noqa: BLE001 - the sender must outlive any one failure
                log.exception("nvmsgbroker %s: sender error", self.protocol)
                self._fail(f"{type(e).__name__}: {e}")
                self._close_adapter()
                self._backoff()

    def _step(self) -> None:
        if not self.stats.connected:
            try:
                self.adapter.connect(self.send_timeout)
            except AdapterError as e:
                self._fail(str(e), e.auth)
                self._backoff()
                return
            with self._lock:
                self.stats.connected, self.stats.auth_failed = True, False
                self.stats.reconnects += 1
            log.info("nvmsgbroker %s: connected to %s", self.protocol, self.conn)
        batch = self.spool.peek(self.send_batch)
        if not batch:
            self.spool.not_empty.wait(0.2)
            return
        try:
            acked = list(self.adapter.publish(batch, self.send_timeout))
            error = None
        except AdapterError as e:
            acked, error = [], e
        removed = self.spool.ack(acked)
        with self._lock:
            self.stats.sent += removed
            self.stats.retries += sum(e.attempts > 0 for e in batch)  # sent before, not acknowledged then
            self.stats.pending = len(self.spool)
        if error is not None or len(acked) < len(batch):
            done = set(acked)
            self.spool.mark_attempt([e.id for e in batch if e.id not in done])
            self._fail(str(error) if error else f"{len(batch) - len(acked)} message(s) not acknowledged",
                       bool(error and error.auth))
            self._close_adapter()
            self._backoff()
        else:
            self._delay = self.retry_initial


__all__ = ["BrokerStats", "MsgBroker", "default_spool_path"]
