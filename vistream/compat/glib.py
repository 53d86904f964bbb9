"""``GLib`` for DeepStream Python apps: a main loop, timeouts and idle callbacks.

One default main context serves the whole process, as GLib's does. Work for it (bus messages of a pipeline
whose bus has ``add_signal_watch()``, ``timeout_add`` and ``idle_add`` callbacks) is queued from any thread
and run by the thread that calls ``MainLoop.run()``, so bus callbacks never run inside a streaming thread.
``MainLoop.quit()`` may be called from any thread.

>>> loop = MainLoop()
>>> _ = timeout_add(10, loop.quit)
>>> loop.run()   # returns after about 10 ms
"""

from __future__ import annotations

import heapq
import itertools
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

PRIORITY_HIGH = -100
PRIORITY_DEFAULT = 0
PRIORITY_HIGH_IDLE = 100
PRIORITY_DEFAULT_IDLE = 200
PRIORITY_LOW = 300
SOURCE_CONTINUE = True
SOURCE_REMOVE = False

# The loop wakes at least this often, so Ctrl-C (KeyboardInterrupt) reaches a blocked run().
_MAX_WAIT_S = 0.1


class MainContext:
    """A queue of pending callbacks and timers, dispatched by :meth:`iteration` (``GLib.MainContext``)."""

    _default: MainContext | None = None
    _default_lock = threading.Lock()

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: deque[tuple[int, Callable[..., Any], tuple[Any, ...], bool]] = deque()
        self._timers: list[tuple[float, int, float, Callable[..., Any], tuple[Any, ...]]] = []
        self._ids = itertools.count(1)
        self._removed: set[int] = set()

    @classmethod
    def default(cls) -> MainContext:
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
            return cls._default

    # --- sources ------------------------------------------------------------------------------------------
    def invoke(self, callback: Callable[..., Any], *args: Any, repeat: bool = False) -> int:
        """Queue ``callback(*args)``; with ``repeat`` it runs again while it returns True (an idle source)."""
        with self._cond:
            sid = next(self._ids)
            self._pending.append((sid, callback, args, repeat))
            self._cond.notify_all()
        return sid

    def add_timeout(self, interval_s: float, callback: Callable[..., Any], *args: Any) -> int:
        with self._cond:
            sid = next(self._ids)
            heapq.heappush(self._timers, (time.monotonic() + interval_s, sid, interval_s, callback, args))
            self._cond.notify_all()
        return sid

    def remove(self, source_id: int) -> bool:
        with self._cond:
            known = any(p[0] == source_id for p in self._pending) or any(t[1] == source_id for t in self._timers)
            if known:
                self._removed.add(source_id)
            return known

    def wakeup(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # --- dispatch -----------------------------------------------------------------------------------------
    def pending(self) -> bool:
        with self._cond:
            return bool(self._pending) or bool(self._timers and self._timers[0][0] <= time.monotonic())

    def iteration(self, may_block: bool = True, stop: Callable[[], bool] | None = None) -> bool:
        """Run what is due; when nothing is and ``may_block``, wait (at most 0.1 s). True if anything ran."""
        with self._cond:
            if may_block and not self._due() and not (stop and stop()):
                wait = _MAX_WAIT_S
                if self._timers:
                    wait = min(wait, max(0.0, self._timers[0][0] - time.monotonic()))
                self._cond.wait(wait)
            now = time.monotonic()
            work = list(self._pending)
            self._pending.clear()
            timers = []
            while self._timers and self._timers[0][0] <= now:
                timers.append(heapq.heappop(self._timers))
        ran = False
        for sid, cb, args, repeat in work:
            if self._take_removed(sid):
                continue
            ran = True
            if _call(cb, args) and repeat:
                with self._cond:
                    self._pending.append((sid, cb, args, repeat))
        for _, sid, interval, cb, args in timers:
            if self._take_removed(sid):
                continue
            ran = True
            if _call(cb, args):
                with self._cond:
                    heapq.heappush(self._timers, (time.monotonic() + interval, sid, interval, cb, args))
        return ran

    def _due(self) -> bool:
        return bool(self._pending) or bool(self._timers and self._timers[0][0] <= time.monotonic())

    def _take_removed(self, sid: int) -> bool:
        with self._cond:
            if sid in self._removed:
                self._removed.discard(sid)
                return True
        return False


def _call(callback: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Run a callback; as in PyGObject an exception is printed, the loop goes on and the source is removed."""
    try:
        return callback(*args)
    except Exception:
        print(f"Traceback in a GLib callback ({getattr(callback, '__qualname__', callback)}):", file=sys.stderr)
        traceback.print_exc()
        return False


class MainLoop:
    """``GLib.MainLoop``: ``run()`` dispatches the default context until ``quit()`` (from any thread)."""

    def __init__(self, context: MainContext | None = None, is_running: bool = False):
        self._context = context or MainContext.default()
        self._quit = threading.Event()
        self._running = False

    @classmethod
    def new(cls, context: MainContext | None = None, is_running: bool = False) -> MainLoop:
        return cls(context, is_running)

    def run(self) -> None:
        self._quit.clear()
        self._running = True
        try:
            while not self._quit.is_set():
                self._context.iteration(True, self._quit.is_set)
        finally:
            self._running = False

    def quit(self) -> None:
        self._quit.set()
        self._context.wakeup()

    def is_running(self) -> bool:
        return self._running

    def get_context(self) -> MainContext:
        return self._context


def timeout_add(interval_ms: int, callback: Callable[..., Any], *args: Any, priority: int = PRIORITY_DEFAULT) -> int:
    """Call ``callback(*args)`` every ``interval_ms`` while it returns True (from the loop's thread)."""
    return MainContext.default().add_timeout(interval_ms / 1000.0, callback, *args)


def timeout_add_seconds(interval_s: int, callback: Callable[..., Any], *args: Any,
                        priority: int = PRIORITY_DEFAULT) -> int:
    return MainContext.default().add_timeout(float(interval_s), callback, *args)


def idle_add(callback: Callable[..., Any], *args: Any, priority: int = PRIORITY_DEFAULT_IDLE) -> int:
    """Call ``callback(*args)`` from the loop's thread, again while it returns True."""
    return MainContext.default().invoke(callback, *args, repeat=True)


def source_remove(source_id: int) -> bool:
    return MainContext.default().remove(source_id)


def threads_init() -> None:
    """Nothing to do: kept because old samples call ``GObject.threads_init()``."""


__all__ = [
    "PRIORITY_DEFAULT", "PRIORITY_DEFAULT_IDLE", "PRIORITY_HIGH", "PRIORITY_HIGH_IDLE", "PRIORITY_LOW",
    "SOURCE_CONTINUE", "SOURCE_REMOVE", "MainContext", "MainLoop", "idle_add", "source_remove", "threads_init",
    "timeout_add", "timeout_add_seconds",
]
