"""A bounded, thread-safe data queue with GStreamer's leaky modes (used by ``queue`` and threaded elements)."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from vistream.core.buffer import Buffer

LEAKY_NO, LEAKY_UPSTREAM, LEAKY_DOWNSTREAM = 0, 1, 2


class Flushing(Exception):
    """The queue was flushed while waiting."""


class DataQueue:
    """Holds buffers and events in order. Buffers count against the limits; events never block.

    ``leaky``: 0 block the producer when full (back-pressure), 1 drop the new buffer, 2 drop the oldest buffer.
    A limit of 0 means no limit on that measure.
    """

    def __init__(self, max_buffers: int = 200, max_bytes: int = 0, max_time: int = 0, leaky: int = LEAKY_NO):
        self.max_buffers = max_buffers
        self.max_bytes = max_bytes
        self.max_time = max_time
        self.leaky = leaky
        self._items: deque[tuple[Any, int]] = deque()
        self._cond = threading.Condition()
        self._flushing = False
        self.level_buffers = 0
        self.level_bytes = 0
        self.dropped = 0
        self.peak_buffers = 0

    def _full(self) -> bool:
        if self.max_buffers and self.level_buffers >= self.max_buffers:
            return True
        if self.max_bytes and self.level_bytes >= self.max_bytes:
            return True
        if self.max_time and self.level_time() >= self.max_time:
            return True
        return False

    def level_time(self) -> int:
        pts = [it.pts for it, _ in self._items if isinstance(it, Buffer) and it.pts >= 0]
        return (max(pts) - min(pts)) if len(pts) > 1 else 0

    def put(self, item: Any, size: int = 0) -> bool:
        """Add an item; blocks while full (leaky=0). Returns False if the item was dropped or the queue flushes."""
        is_buffer = isinstance(item, Buffer)
        with self._cond:
            if self._flushing:
                raise Flushing()
            if is_buffer:
                while self._full():
                    if self.leaky == LEAKY_UPSTREAM:
                        self.dropped += 1
                        return False
                    if self.leaky == LEAKY_DOWNSTREAM:
                        if not self._drop_oldest_buffer():
                            break
                        continue
                    self._cond.wait()
                    if self._flushing:
                        raise Flushing()
                self.level_buffers += 1
                self.level_bytes += size
                self.peak_buffers = max(self.peak_buffers, self.level_buffers)
            self._items.append((item, size))
            self._cond.notify_all()
            return True

    def _drop_oldest_buffer(self) -> bool:
        for i, (it, size) in enumerate(self._items):
            if isinstance(it, Buffer):
                del self._items[i]
                self.level_buffers -= 1
                self.level_bytes -= size
                self.dropped += 1
                return True
        return False

    def get(self, timeout: float | None = None) -> Any:
        """Remove and return the oldest item; raises :class:`Flushing` when flushed, TimeoutError on timeout."""
        with self._cond:
            while not self._items:
                if self._flushing:
                    raise Flushing()
                if not self._cond.wait(timeout):
                    raise TimeoutError
            if self._flushing:
                raise Flushing()
            item, size = self._items.popleft()
            if isinstance(item, Buffer):
                self.level_buffers -= 1
                self.level_bytes -= size
            self._cond.notify_all()
            return item

    def set_flushing(self, flushing: bool) -> None:
        with self._cond:
            self._flushing = flushing
            if flushing:
                self._items.clear()
                self.level_buffers = self.level_bytes = 0
            self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._items)
