"""What the machine was busy with while a benchmark part ran: GPU kernel time and NVDEC use (``nvidia-smi``)
and the host's CPU use (``/proc/stat``), so a result says which resource ran out.

>>> with Monitor() as m:                 # doctest: +SKIP
...     run_part()
>>> m.result                             # {"gpu_util_mean": 41.0, "dec_util_mean": 97.5, "host_cpu_busy": 0.62, ...}
"""

from __future__ import annotations

import os
import subprocess
import threading
import time

_FIELDS = ("gpu_util", "mem_util", "dec_util")


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all host cores."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    return sum(v) - idle, sum(v)


class Monitor:
    """Samples ``utilization.gpu`` (share of time a kernel ran), ``utilization.memory`` and
    ``utilization.decoder`` (share of time an NVDEC engine was busy) every ``interval_ms``, and the host CPU
    busy share between enter and exit. The first GPU sample is dropped (it covers time before the part)."""

    def __init__(self, interval_ms: int = 500, gpu: int = 0) -> None:
        self.interval_ms, self.gpu = interval_ms, gpu
        self.samples: list[tuple[float, ...]] = []
        self.result: dict = {}
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> Monitor:
        self._cpu0 = _cpu_times()
        self._t0 = time.perf_counter()
        try:
            self._proc = subprocess.Popen(
                ["nvidia-smi", "-i", str(self.gpu), "--query-gpu=utilization.gpu,utilization.memory,"
                 "utilization.decoder", "--format=csv,noheader,nounits", f"-lms={self.interval_ms}"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except OSError:  # no nvidia-smi: host CPU only
            self._proc = None
        if self._proc is not None:
            self._reader = threading.Thread(target=self._read, name="bench-gpu-monitor", daemon=True)
            self._reader.start()
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                self.samples.append(tuple(float(x) for x in line.split(",")))
            except ValueError:  # "[N/A]" on GPUs without the counter
                continue

    def __exit__(self, *exc) -> None:
        busy1, total1 = _cpu_times()
        busy0, total0 = self._cpu0
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=5)
            assert self._reader is not None
            self._reader.join(timeout=5)
        s = self.samples[1:] or self.samples
        res: dict = {"seconds": round(time.perf_counter() - self._t0, 1),
                     "host_cpu_busy": round((busy1 - busy0) / max(1, total1 - total0), 3),
                     "host_cores": os.cpu_count()}
        for k, name in enumerate(_FIELDS):
            vals = [v[k] for v in s if len(v) > k]
            if vals:
                res[f"{name}_mean"] = round(sum(vals) / len(vals), 1)
                res[f"{name}_max"] = max(vals)
        self.result = res
