"""The bus: errors, warnings, state changes, EOS and element messages travel up to the application."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from enum import IntFlag
from typing import Any


class MessageType(IntFlag):
    """Kinds of bus message (values as GStreamer's ``GstMessageType``)."""

    UNKNOWN = 0
    EOS = 1 << 0
    ERROR = 1 << 1
    WARNING = 1 << 2
    INFO = 1 << 3
    TAG = 1 << 4
    BUFFERING = 1 << 5
    STATE_CHANGED = 1 << 6
    STREAM_STATUS = 1 << 13
    ELEMENT = 1 << 15
    LATENCY = 1 << 19
    ASYNC_DONE = 1 << 21
    STREAM_START = 1 << 22
    QOS = 1 << 24
    ANY = 0xFFFFFFFF


class Message:
    """A bus message from element ``src`` (the element object; ``src.name`` is its name)."""

    __slots__ = ("type", "src", "structure", "timestamp")

    def __init__(self, type_: MessageType, src: Any, structure: dict[str, Any] | None = None):
        self.type = type_
        self.src = src
        self.structure = structure or {}
        self.timestamp = time.monotonic()

    @property
    def src_name(self) -> str:
        return getattr(self.src, "name", str(self.src))

    def parse_error(self) -> tuple[Exception, str]:
        """``(error, debug)`` of an ERROR message; ``str(error)`` names the element."""
        return self.structure["error"], self.structure.get("debug", "")

    def parse_warning(self) -> tuple[Exception, str]:
        return self.structure["error"], self.structure.get("debug", "")

    parse_info = parse_warning

    def parse_state_changed(self) -> tuple[Any, Any, Any]:
        return self.structure["old"], self.structure["new"], self.structure["pending"]

    def get_structure(self) -> dict[str, Any]:
        return self.structure

    def has_name(self, name: str) -> bool:
        return self.structure.get("name") == name

    def __repr__(self) -> str:
        return f"<Message {self.type.name} from {self.src_name}: {self.structure}>"


class Bus:
    """A thread-safe message queue from the pipeline's elements to the application.

    Poll it (``pop``, ``timed_pop_filtered``) or add watch callbacks that run in the posting thread.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[Message] = queue.Queue()
        self._watches: list[tuple[Callable[..., Any], tuple[Any, ...], bool]] = []
        self._lock = threading.Lock()
        self.flushing = False

    def post(self, message: Message) -> None:
        if self.flushing:
            return
        consumed = False
        for cb, args, consume in list(self._watches):
            cb(self, message, *args)
            consumed = consumed or consume
        if not consumed:
            self._queue.put(message)

    def add_watch(self, callback: Callable[..., Any], *user_data: Any, consume: bool = False) -> int:
        """Call ``callback(bus, message, *user_data)`` for every message, in the posting thread.

        With ``consume=True`` the watch takes the messages (as GStreamer's signal watch does): they are not
        also queued for ``pop``/``timed_pop_filtered``.
        """
        with self._lock:
            self._watches.append((callback, user_data, consume))
            return len(self._watches)

    def remove_watch(self, callback: Callable[..., Any]) -> None:
        with self._lock:
            self._watches = [w for w in self._watches if w[0] is not callback]

    def pop(self) -> Message | None:
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def timed_pop(self, timeout: float | None) -> Message | None:
        """Next message within ``timeout`` seconds (None waits for ever)."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def timed_pop_filtered(self, timeout: float | None, types: MessageType) -> Message | None:
        """Next message of one of ``types``; others are discarded, as in GStreamer."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            msg = self.timed_pop(remaining)
            if msg is None:
                return None
            if msg.type & types:
                return msg

    poll = timed_pop_filtered

    def have_pending(self) -> bool:
        return not self._queue.empty()

    def set_flushing(self, flushing: bool) -> None:
        self.flushing = flushing
        if flushing:
            while self.pop() is not None:
                pass
