"""Per-source FPS in deepstream-app's ``**PERF:`` format."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from vistream.core.pad import Pad, PadProbeReturn, PadProbeType
from vistream.meta import get_batch_meta


class PerfMonitor:
    """Counts frames per source at a pad and prints current and average FPS every ``interval`` seconds::

        **PERF:  FPS 0 (Avg)	FPS 1 (Avg)
        **PERF:  29.97 (29.91)	30.02 (29.95)
    """

    def __init__(self, num_sources: int, interval: float = 5.0, out: TextIO | None = None):
        self.num_sources = num_sources
        self.interval = float(interval)
        self.out = out or sys.stdout
        self.total = [0] * num_sources
        self._last = [0] * num_sources
        self._lock = threading.Lock()
        self._start: float | None = None
        self._last_t = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reports: list[list[tuple[float, float]]] = []

    def attach(self, pad: Pad) -> None:
        pad.add_probe(PadProbeType.BUFFER, self._probe)

    def _probe(self, pad, info, _):
        bm = get_batch_meta(info.get_buffer())
        if bm is not None:
            with self._lock:
                if self._start is None:
                    self._start = self._last_t = time.monotonic()
                for fm in bm.frame_meta_list:
                    if 0 <= fm.source_id < self.num_sources:
                        self.total[fm.source_id] += 1
        return PadProbeReturn.OK

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="vistream:perf", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.report()

    def snapshot(self) -> list[tuple[float, float]]:
        """``(current FPS, average FPS)`` per source since the last snapshot."""
        now = time.monotonic()
        with self._lock:
            if self._start is None:
                return [(0.0, 0.0)] * self.num_sources
            dt = max(now - self._last_t, 1e-9)
            elapsed = max(now - self._start, 1e-9)
            out = [((t - last) / dt, t / elapsed) for t, last in zip(self.total, self._last, strict=True)]
            self._last = list(self.total)
            self._last_t = now
        return out

    def report(self) -> None:
        values = self.snapshot()
        self.reports.append(values)
        header = "\t".join(f"FPS {i} (Avg)" for i in range(self.num_sources))
        row = "\t".join(f"{cur:.2f} ({avg:.2f})" for cur, avg in values)
        print(f"\n**PERF:  {header}\t\n**PERF:  {row}\t", file=self.out, flush=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)

    def summary(self, elapsed: float) -> str:
        parts = [f"FPS {i}: {n} frames, {n / max(elapsed, 1e-9):.2f} avg" for i, n in enumerate(self.total)]
        return "**PERF summary:  " + "\t".join(parts)
