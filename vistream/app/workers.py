"""Run the sources of one pipeline in N worker processes on one machine.

One Python process is limited by its interpreter lock: with many streams on a GPU the decoder threads, the
muxer and the host part of inference contend for it long before NVDEC or the GPU are busy. ``--workers N``
splits the sources over N processes (``multiprocessing`` *spawn*: each has its own interpreter and CUDA
context, none inherits the parent's threads or GPU state), each running its own pipeline that batches its own
sources, and reports per-stream frame counts to the parent, which prints deepstream-app's ``**PERF`` lines
for every stream with its global source id.

The sharding is the one the Ray cluster uses (:func:`shard`, :func:`app_config_for_sources`; see
:mod:`vistream.cluster`): there, workers are Ray actors on many machines; here, processes on one.

>>> run_app_workers("samples/configs/deepstream-app/source4_tiled_tracker_sgie.txt", workers=2)  # doctest: +SKIP
>>> run_launch_workers("{sources} nvstreammux name=m batch-size={batch} width=1920 height=1080 ! "
...                    "nvinfer config-file-path=cfg.txt ! fakesink name=sink",
...                    ["file:///v/a.mp4"] * 64, workers=4)  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import multiprocessing as mp
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from vistream.app.config import AppConfig, SourceConfig, SourceType, load_app_config

DEFAULT_SOURCE = "uridecodebin uri={uri} ! m.sink_{i}"


def shard(count: int, workers: int) -> list[list[int]]:
    """Source indices ``0..count-1`` dealt round-robin over at most ``workers`` non-empty shards."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1 (got {workers})")
    return [ids for ids in (list(range(w, count, workers)) for w in range(min(workers, max(count, 1)))) if ids]


def config_sources(cfg: AppConfig, what: str = "running sources in worker processes") -> list[str]:
    """The URIs of a deepstream-app config's enabled sources (``num-sources`` of type 3 repeated); ``what``
    names the feature in the error for a source without a URI."""
    uris = []
    for src in cfg.active_sources:
        if not src.uri:
            raise ValueError(f"{src.where(cfg.path)}: {what} needs URI sources (type=2, 3 or 4)")
        uris += [src.uri] * src.stream_count
    return uris


def app_config_for_sources(cfg: AppConfig, uris: Sequence[str], tag: str | None = None) -> AppConfig:
    """A copy of ``cfg`` whose sources are ``uris`` (source ``i`` is the ``i``-th URI, built like the first
    enabled ``[sourceN]`` group), with the muxer batching them all; file sinks get ``_<tag>`` before the
    extension so workers do not write the same file; per-process PERF output is off (the parent reports)."""
    cfg = copy.deepcopy(cfg)
    template = next((s for s in cfg.sources if s.enable), SourceConfig())
    cfg.sources = []
    for i, uri in enumerate(uris):
        src = copy.deepcopy(template)
        src.index, src.enable, src.uri, src.num_sources = i, True, uri, 1
        if src.type not in (SourceType.URI, SourceType.RTSP):
            src.type = SourceType.URI
        cfg.sources.append(src)
    cfg.source_list = None
    cfg.streammux.batch_size = len(uris)  # each worker batches its own sources
    if tag:
        for sink in cfg.sinks:
            out = getattr(sink, "output_file", None)
            if out:
                p = Path(out)
                sink.output_file = str(p.with_name(f"{p.stem}_{tag}{p.suffix}"))
    cfg.application.enable_perf_measurement = False
    return cfg


class FrameCounter:
    """Given to a worker target: ``add(source_index)`` counts a frame of the worker's ``source_index``-th source;
    counts go to the parent every ``flush_s`` seconds. ``ready()`` (optional) says the worker finished its
    set-up and blocks until every worker has (so timed runs start together)."""

    def __init__(self, worker: int, ids: list[int], q, start_event, flush_s: float = 0.5) -> None:
        self.worker, self.ids, self._q, self._start = worker, ids, q, start_event
        self._counts = [0] * len(ids)
        self._sent = [0] * len(ids)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._flush_s = flush_s
        self._thread = threading.Thread(target=self._loop, daemon=True, name="vistream:frame-counter")
        self._thread.start()

    def add(self, source_index: int, n: int = 1) -> None:
        with self._lock:
            self._counts[source_index] += n

    def ready(self) -> None:
        self._q.put(("ready", self.worker, None))
        self._start.wait()

    def flush(self) -> None:
        with self._lock:
            delta = {self.ids[i]: c - s for i, (c, s) in enumerate(zip(self._counts, self._sent, strict=True)) if c > s}
            self._sent = list(self._counts)
        if delta:
            self._q.put(("frames", self.worker, (time.time(), delta)))

    def _loop(self) -> None:
        while not self._stop.wait(self._flush_s):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.flush()


def _child(target, worker: int, ids: list[int], uris: list[str], args: tuple, q, start_event) -> None:
    from vistream.gpu import cuda_sync_from_env

    try:  # opt-in: how the worker waits for the GPU (spin, yield, blocking; docs/gpu.md has the H100 figures)
        cuda_sync_from_env()
    except ValueError as e:
        q.put(("error", worker, str(e)))
        return
    counter = FrameCounter(worker, ids, q, start_event)
    try:
        result = target(ids, uris, counter, *args)
        counter.close()
        q.put(("done", worker, result))
    except BaseException as e:  # reported to the parent, which fails the run
        counter.close()
        q.put(("error", worker, f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=8)}"))


@dataclass
class ShardedRun:
    """What :func:`run_sharded` returns: per-source ``frames``, ``elapsed`` seconds from the common start to
    the last worker's end, each worker's ``results`` (the target's return value) and ``errors``."""

    frames: list[int]
    elapsed: float
    results: dict[int, Any] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    shards: list[list[int]] = field(default_factory=list)
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, frames so far)

    def steady_fps(self, skip_s: float = 2.0) -> float:
        """Aggregate FPS between ``skip_s`` after the first frame and the last report (start-up excluded)."""
        tl = self.timeline
        if len(tl) < 2:
            return 0.0
        t_first = next(t for t, _ in tl)
        a = next(((t, n) for t, n in tl if t >= t_first + skip_s), tl[0])
        b = tl[-1]
        return (b[1] - a[1]) / (b[0] - a[0]) if b[0] > a[0] else 0.0

    @property
    def fps(self) -> list[float]:
        return [n / max(self.elapsed, 1e-9) for n in self.frames]


def run_sharded(target: Callable[..., Any], sources: Sequence[str], workers: int, *, args: tuple = (),
                interval: float = 5.0, out: TextIO | None = None, timeout: float | None = None,
                sync_start: bool = False) -> ShardedRun:
    """Run ``target(ids, uris, counter, *args)`` in ``workers`` spawned processes, each with its shard of
    ``sources`` (``ids``: global source indices, ``uris``: their URIs, ``counter``: a :class:`FrameCounter`).
    ``target`` must be importable by name (a module-level function). Prints aggregated ``**PERF`` lines every
    ``interval`` seconds to ``out`` (0: never). With ``sync_start`` the clock starts once every worker called
    ``counter.ready()``. Workers still running after ``timeout`` seconds are terminated (an error)."""
    out = out or sys.stdout
    shards = shard(len(sources), workers)
    from vistream.gpu import shared_gpu_hint

    if (hint := shared_gpu_hint(len(shards))) is not None:
        print(f"** INFO: {hint}", file=sys.stderr, flush=True)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    start_event = ctx.Event()
    if not sync_start:
        start_event.set()
    procs = [ctx.Process(target=_child, args=(target, k, ids, [sources[i] for i in ids], args, q, start_event),
                         daemon=False, name=f"vistream-worker-{k}") for k, ids in enumerate(shards)]
    for p in procs:
        p.start()
    n = len(sources)
    frames = [0] * n
    last = [0] * n
    run = ShardedRun(frames, 0.0, shards=shards)
    ready: set[int] = set()
    t0 = time.monotonic() if not sync_start else None
    t_report = time.monotonic()
    t_begin = time.monotonic()
    pending = set(range(len(procs)))
    while pending:
        try:
            kind, k, payload = q.get(timeout=0.5)
        except queue.Empty:
            kind = None
        now = time.monotonic()
        if kind == "ready":
            ready.add(k)
            if len(ready) == len(procs):
                t0 = now
                start_event.set()
        elif kind == "frames":
            for i, c in payload[1].items():
                frames[i] += c
            run.timeline.append((now - (t0 if t0 is not None else t_begin), sum(frames)))
        elif kind in ("done", "error"):
            (run.results if kind == "done" else run.errors)[k] = payload
            pending.discard(k)
        for k in list(pending):  # a worker that died without a word (killed, crashed in C code)
            if not procs[k].is_alive() and procs[k].exitcode not in (None, 0) and q.empty():
                run.errors[k] = f"worker process exited with code {procs[k].exitcode}"
                pending.discard(k)
        if interval and t0 is not None and now - t_report >= interval:
            dt = now - t_report
            t_report = now
            elapsed = max(now - t0, 1e-9)
            header = "\t".join(f"FPS {i} (Avg)" for i in range(n))
            row = "\t".join(f"{(f - lf) / dt:.2f} ({f / elapsed:.2f})" for f, lf in zip(frames, last, strict=True))
            last = list(frames)
            print(f"\n**PERF:  {header}\t\n**PERF:  {row}\t", file=out, flush=True)
        if timeout is not None and now - t_begin > timeout:
            for k in pending:
                procs[k].terminate()
                run.errors[k] = f"timed out after {timeout:.0f} s"
            break
    run.elapsed = time.monotonic() - (t0 if t0 is not None else t_begin)
    for p in procs:
        p.join(5.0)
        if p.is_alive():
            p.kill()
    return run


# ---- targets ---------------------------------------------------------------------------------------------------

def _count_probe(counter: FrameCounter):
    from vistream.core.pad import PadProbeReturn

    def probe(pad, info, _):
        buf = info.get_buffer()
        bm = getattr(buf, "batch_meta", None)
        if bm is not None:
            for fm in bm.frame_meta_list:
                if 0 <= fm.source_id < len(counter.ids):
                    counter.add(fm.source_id)
        return PadProbeReturn.OK

    return probe


def _play(pipeline, timeout: float | None) -> tuple[int, str | None]:
    """Run a pipeline to EOS, stopping at its first error; ``(exit code, first error)``."""
    from vistream.core.pipeline import PipelineError

    try:
        pipeline.run(timeout, stop_on_error=True)
    except PipelineError as e:
        return 1, f"{e.element}: {e.error}" if e.element else str(e.error)
    except TimeoutError:
        return 1, "timed out"
    return 0, None


def app_worker(ids: list[int], uris: list[str], counter: FrameCounter, cfg_path: str,
               timeout: float | None = None) -> dict:
    """Worker target: the deepstream-app config ``cfg_path`` with sources ``uris`` (see :func:`run_app_workers`)."""
    from vistream.app.runner import build_app
    from vistream.cluster.worker import chain_end
    from vistream.core.pad import PadProbeType

    cfg = app_config_for_sources(load_app_config(cfg_path), uris, tag=f"w{counter.worker}")
    app = build_app(cfg)
    chain_end(app.pipeline).get_static_pad("src").add_probe(PadProbeType.BUFFER, _count_probe(counter))
    code, error = _play(app.pipeline, timeout)
    if code:
        raise RuntimeError(error)
    return {"code": code}


def launch_worker(ids: list[int], uris: list[str], counter: FrameCounter, template: str,
                  source: str = DEFAULT_SOURCE, count_at: str = "sink", timeout: float | None = None,
                  sync_start: bool = False) -> dict:
    """Worker target: a launch template (see :func:`run_launch_workers`) over ``uris``."""
    import vistream
    from vistream.core.pad import PadProbeType

    text = build_launch(template, uris, source)
    pipeline = vistream.parse_launch(text)
    el = pipeline.get_by_name(count_at)
    if el is None:
        raise ValueError(f"launch template has no element named {count_at!r} to count frames at")
    el.get_static_pad("sink").add_probe(PadProbeType.BUFFER, _count_probe(counter))
    if sync_start:
        counter.ready()
    code, error = _play(pipeline, timeout)
    if code:
        raise RuntimeError(error)
    return {"code": code}


def build_launch(template: str, uris: Sequence[str], source: str = DEFAULT_SOURCE) -> str:
    """``template`` with ``{sources}`` replaced by one ``source`` branch per URI (``{uri}``, ``{i}``: its pad
    index) and ``{batch}`` by their number."""
    if "{sources}" not in template:
        raise ValueError("a launch template needs {sources} where the source branches go")
    branches = " ".join(source.format(uri=u, location=u.removeprefix("file://"), i=i) for i, u in enumerate(uris))
    return template.replace("{sources}", branches).replace("{batch}", str(len(uris)))


def auto_workers(sources: int, gpu_id: int = 0) -> int:
    """The worker count ``--workers auto`` picks: with the GPU path in use, one process per host core and at
    most one per source (on the H100 machine, 128 streams ran 4,500 FPS in 16 processes on 16 cores and 2,400
    in 8: each interpreter is the limit before the GPU is); on the CPU path 1 (ONNX Runtime already spreads one
    process's inference over every core)."""
    import os

    from vistream.gpu import use_gpu

    if sources < 1 or not use_gpu(gpu_id):
        return 1
    return max(1, min(sources, os.cpu_count() or 1))


def parse_workers(value: str | int) -> int | str:
    """``--workers`` value: a positive count or ``auto``; ValueError otherwise."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"--workers must be a positive number or 'auto' (got {value!r})") from None
    if n < 1:
        raise ValueError(f"--workers must be a positive number or 'auto' (got {value!r})")
    return n


def run_app_workers(cfg_path: str, workers: int, *, timeout: float | None = None, out: TextIO | None = None,
                    interval: float | None = None) -> int:
    """Run a deepstream-app config with its sources split over ``workers`` processes; prints aggregated
    ``**PERF`` lines (every ``perf-measurement-interval-sec``) and a summary; returns the exit code."""
    out = out or sys.stdout
    cfg = load_app_config(cfg_path)
    uris = config_sources(cfg)
    if interval is None:
        enabled = cfg.application.enable_perf_measurement
        interval = float(cfg.application.perf_measurement_interval_sec) if enabled else 0.0
    run = run_sharded(app_worker, uris, workers, args=(str(cfg_path), timeout), interval=interval, out=out,
                      timeout=None if timeout is None else timeout + 60)
    return _finish(run, out)


def run_launch_workers(template: str, uris: Sequence[str], workers: int, *, source: str = DEFAULT_SOURCE,
                       count_at: str = "sink", timeout: float | None = None, out: TextIO | None = None,
                       interval: float = 5.0, sync_start: bool = False) -> ShardedRun:
    """Run a launch template over ``uris`` split into ``workers`` processes: each process builds
    ``template`` with ``{sources}`` = one ``source`` branch per URI of its shard (default
    ``uridecodebin uri={uri} ! m.sink_{i}``) and ``{batch}`` = their number, and counts the frames reaching the
    sink pad of the element named ``count_at``."""
    return run_sharded(launch_worker, list(uris), workers, args=(template, source, count_at, timeout, sync_start),
                       interval=interval, out=out or sys.stdout, timeout=None if timeout is None else timeout + 60,
                       sync_start=sync_start)


def _finish(run: ShardedRun, out: TextIO) -> int:
    parts = [f"FPS {i}: {n} frames, {f:.2f} avg" for i, (n, f) in enumerate(zip(run.frames, run.fps, strict=True))]
    print("**PERF summary:  " + "\t".join(parts), file=out, flush=True)
    print(f"** INFO: {len(run.shards)} worker process(es), {sum(run.frames)} frames in {run.elapsed:.1f} s = "
          f"{sum(run.fps):.1f} FPS", file=out, flush=True)
    for k, err in sorted(run.errors.items()):
        print(f"ERROR from worker {k}: {err.strip()}", file=sys.stderr, flush=True)
    code = 1 if run.errors else 0
    print("App run successful" if code == 0 else "App run failed", file=out, flush=True)
    return code


__all__ = ["FrameCounter", "ShardedRun", "app_config_for_sources", "app_worker", "build_launch", "config_sources",
           "launch_worker", "run_app_workers", "run_launch_workers", "run_sharded", "shard"]
