"""A worker's durable record of processed frames: one SQLite file (WAL mode) per worker.

The worker appends; the manager reads with a cursor (``rows after id N``) from another process, also after
the worker died, so the records outlive the worker as long as the file's storage does. Appends commit once per
batch (``put_many``), which is the at-least-once window: a frame is recorded when its batch's commit returned.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class Outbox:
    """``Outbox(path)``: ``put_many([(source, frame, payload_bytes), ...])`` appends in one transaction;
    ``read_after(last_id, limit)`` returns ``[(id, source, frame, payload)]`` in append order."""

    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = str(path)
        if not readonly:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        uri = f"file:{self.path}?mode=ro" if readonly else f"file:{self.path}"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=10)
        self._lock = threading.Lock()
        if not readonly:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # a commit survives a process crash
            self._db.execute("CREATE TABLE IF NOT EXISTS frames (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                             "source TEXT NOT NULL, frame INTEGER NOT NULL, payload BLOB NOT NULL)")

    def put_many(self, rows: list[tuple[str, int, bytes]]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO frames (source, frame, payload) VALUES (?, ?, ?)", rows)
            self._db.execute("COMMIT")

    def read_after(self, last_id: int, limit: int = 5000) -> list[tuple[int, str, int, bytes]]:
        with self._lock:
            try:
                return self._db.execute("SELECT id, source, frame, payload FROM frames WHERE id > ? ORDER BY id "
                                        "LIMIT ?", (last_id, limit)).fetchall()
            except sqlite3.OperationalError as e:  # the writer has not created the table yet
                if "no such table" in str(e):
                    return []
                raise

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM frames").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
