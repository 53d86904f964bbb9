"""CPU time per thread of this process, for ``vistream bench``: which thread (element, model worker, FFmpeg
codec thread) spends the cores. Linux only (``/proc/self/task``); elsewhere it reports nothing."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_TASKS = Path("/proc/self/task")
# CPU seconds of streaming threads at their end, by native id (name, seconds): a thread that ends between two
# samples is gone from /proc, and without this the time it used after the last sample would be lost (a short
# run could lose a thread entirely)
_ended: dict[int, tuple[str, float, float]] = {}  # native id -> (name, CPU seconds, monotonic end time)
_ended_lock = threading.Lock()
_active = 0  # running samplers; threads record their end only while one runs


def note_thread_end() -> None:
    """Called by a streaming thread as it ends (see :func:`vistream.core.element.streaming_thread`): records its
    CPU time for the samplers running now."""
    if _active:
        with _ended_lock:
            _ended[threading.get_native_id()] = (threading.current_thread().name, time.thread_time(),
                                                 time.monotonic())


@dataclass
class ThreadStat:
    name: str  # the Python thread's name, else the OS thread name (e.g. FFmpeg's "av:h264:df0")
    threads: int  # threads of this name
    cpu_s: float  # user + system CPU seconds during the run


def available() -> bool:
    return _TASKS.is_dir()


def _cpu(tid: str) -> float | None:
    """User + system CPU seconds of thread ``tid``, or None when it has ended."""
    try:
        stat = (_TASKS / tid / "stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _comm(tid: str) -> str:
    """The OS name of thread ``tid`` ("" when it has ended)."""
    try:
        return (_TASKS / tid / "comm").read_text().strip()
    except OSError:
        return ""


class ThreadCpu:
    """Samples every thread's CPU time every ``interval`` seconds between :meth:`start` and :meth:`stop`, so
    that threads ending before the run does (element threads at EOS) are counted up to their last sample."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self._base: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._names: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._process = _comm(str(os.getpid())) if available() else ""

    def _sample(self) -> dict[int, float]:
        py_names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
        now = {}
        for tid in os.listdir(_TASKS):
            cpu = _cpu(tid)
            if cpu is None:  # the thread ended between listing and reading
                continue
            now[int(tid)] = cpu
            if int(tid) not in self._names:
                # threads a native library started without naming them (x264's, ONNX Runtime's pools) carry
                # the process name
                name = py_names.get(int(tid))
                if name is None:
                    comm = _comm(tid)
                    name = "unnamed native threads" if comm == self._process else comm
                self._names[int(tid)] = name
        return now

    def start(self) -> ThreadCpu:
        global _active
        if not available():
            return self
        with _ended_lock:
            _active += 1
        self._t_start = time.monotonic()
        self._base = self._sample()
        self._last = dict(self._base)
        self._thread = threading.Thread(target=self._loop, name="vistream:bench-cpu", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._last.update(self._sample())

    def stop(self) -> list[ThreadStat]:
        """Per-name CPU time during the run, largest first (this sampler's own thread left out)."""
        if self._thread is None:
            return []
        global _active
        self._stop.set()
        self._thread.join()
        self._last.update(self._sample())
        with _ended_lock:
            _active -= 1
            ended = {tid: v for tid, v in _ended.items()
                     if v[2] >= self._t_start and (tid not in self._last or v[1] > self._last[tid])}
            if not _active:
                _ended.clear()
        for tid, (name, cpu, _) in ended.items():  # ended after their last sample (or before the first)
            self._names.setdefault(tid, name)
            self._last[tid] = cpu
        own = self._thread.native_id
        by_name: dict[str, list[float]] = {}
        for tid, cpu in self._last.items():
            if tid == own:
                continue
            used = cpu - self._base.get(tid, 0.0)
            if used > 0:
                by_name.setdefault(self._names.get(tid, "?"), []).append(used)
        stats = [ThreadStat(name, len(v), sum(v)) for name, v in by_name.items()]
        return sorted(stats, key=lambda s: -s.cpu_s)
