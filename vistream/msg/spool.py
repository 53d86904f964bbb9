"""A small durable outbox: messages wait in SQLite (WAL mode) until the broker acknowledged them."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

OVERFLOW_POLICIES = ("drop-oldest", "drop-newest")


class SpoolBusy(RuntimeError):
    """Another live Spool (in this or another process) has the file open."""


@dataclass(slots=True)
class SpoolEntry:
    """One spooled message; ``id`` increases with arrival order and identifies it for :meth:`Spool.ack`."""

    id: int
    topic: str
    key: str | None
    payload: bytes
    attempts: int


class Spool:
    """Thread-safe FIFO of pending messages, bounded by ``max_messages``.

    ``path`` is a file (survives a process restart and a crash) or ``":memory:"``. When full, ``overflow``
    decides: ``"drop-oldest"`` evicts the oldest pending message, ``"drop-newest"`` refuses the new one;
    either way :attr:`dropped` counts it and :meth:`put` never blocks the caller.

    Example::

        sp = Spool("out.db", max_messages=10000)
        sp.put("topic", b"{...}")
        for e in sp.peek(100): ...
        sp.ack([e.id])
    """

    def __init__(self, path: str | Path = ":memory:", max_messages: int = 100_000,
                 overflow: str = "drop-oldest") -> None:
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"spool-overflow must be one of {', '.join(OVERFLOW_POLICIES)}, got {overflow!r}")
        if max_messages < 1:
            raise ValueError(f"spool-max-messages must be >= 1, got {max_messages}")
        self.path = str(path)
        self._lockfile = None
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._lock_file()
        self.max_messages = int(max_messages)
        self.overflow = overflow
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a process crash; only an OS crash can lose the last commits
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,"
                         " key TEXT, payload BLOB NOT NULL, created REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0)")
        self._db.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        self._count = self._db.execute("SELECT COUNT(*) FROM spool").fetchone()[0]
        self.dropped = 0  # this process's drops; the total since the file was created is in counters
        self.not_empty = threading.Event()
        if self._count:
            self.not_empty.set()

    def _lock_file(self) -> None:
        # two senders on one spool would both send every message: one live Spool per file
        try:
            import fcntl  # noqa: PLC0415 - POSIX only
        except ImportError:
            return
        f = open(self.path + ".lock", "a+")  # noqa: SIM115 - held open for the spool's lifetime
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise SpoolBusy(f"spool {self.path} is in use by another sender (give each one its own spool-path)") \
                from None
        self._lockfile = f

    def __len__(self) -> int:
        return self._count

    def put(self, topic: str, payload: bytes, key: str | None = None) -> int | None:
        """Append a message; returns its id, or None when it was dropped (``drop-newest`` on a full spool)."""
        return self.put_many([(topic, payload, key)])[0]

    def put_many(self, messages: list[tuple[str, bytes, str | None]]) -> list[int | None]:
        """Append ``(topic, payload, key)`` messages in one transaction (one commit for a whole batch)."""
        ids: list[int | None] = []
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                dropped = 0
                for topic, payload, key in messages:
                    if self._count >= self.max_messages:
                        dropped += 1
                        if self.overflow == "drop-newest":
                            ids.append(None)
                            continue
                        cur.execute("DELETE FROM spool WHERE id = (SELECT MIN(id) FROM spool)")
                        self._count -= 1
                    cur.execute("INSERT INTO spool (topic, key, payload, created) VALUES (?, ?, ?, ?)",
                                (topic, key, sqlite3.Binary(payload), time.time()))
                    ids.append(cur.lastrowid)
                    self._count += 1
                if dropped:
                    cur.execute("INSERT INTO counters VALUES ('dropped', ?) "
                                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (dropped,))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                self._count = self._db.execute("SELECT COUNT(*) FROM spool").fetchone()[0]
                raise
            self.dropped += dropped
            if self._count:
                self.not_empty.set()
        return ids

    def peek(self, limit: int = 100, after_id: int = 0) -> list[SpoolEntry]:
        """Up to ``limit`` oldest pending messages with ``id > after_id`` (they stay until acked)."""
        with self._lock:
            rows = self._db.execute("SELECT id, topic, key, payload, attempts FROM spool WHERE id > ? ORDER BY id "
                                    "LIMIT ?", (after_id, limit)).fetchall()
        return [SpoolEntry(r[0], r[1], r[2], bytes(r[3]), r[4]) for r in rows]

    def ack(self, ids: list[int]) -> int:
        """Remove acknowledged messages; returns how many were still pending."""
        if not ids:
            return 0
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany("DELETE FROM spool WHERE id = ?", [(i,) for i in ids])
            removed = max(cur.rowcount, 0)  # executemany: total rows deleted
            cur.execute("COMMIT")
            self._count -= removed
            if not self._count:
                self.not_empty.clear()
            return removed

    def mark_attempt(self, ids: list[int]) -> None:
        """Count one more failed delivery attempt for these messages."""
        if not ids:
            return
        with self._lock:
            self._db.executemany("UPDATE spool SET attempts = attempts + 1 WHERE id = ?", [(i,) for i in ids])

    def total_dropped(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
        return row[0] if row else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._lockfile is not None:
                self._lockfile.close()  # releases the lock
                self._lockfile = None
