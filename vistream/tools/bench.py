"""``vistream bench``: run a pipeline over N copies of a clip and report where the time goes."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from vistream.core.bus import MessageType
from vistream.core.element import State
from vistream.core.errors import VistreamError
from vistream.core.launch import parse_launch
from vistream.core.pad import PadProbeReturn, PadProbeType
from vistream.core.pipeline import Pipeline
from vistream.meta import get_batch_meta
from vistream.tools.threadcpu import ThreadCpu, ThreadStat

SCENARIOS = ("decode", "detect", "track", "full")


@dataclass
class ElementStat:
    name: str
    factory: str
    buffers: int
    busy_s: float
    share: float  # of all elements' busy time
    throughput: float  # buffers per second of wall time


@dataclass
class BenchResult:
    scenario: str
    streams: int
    frames: dict[int, int]
    wall_s: float
    fps_per_stream: dict[int, float]
    total_fps: float
    latency_ms_p50: float
    latency_ms_p99: float
    cpu_percent: float
    peak_rss_mb: float
    dropped_frames: int
    elements: list[ElementStat] = field(default_factory=list)
    startup_s: float = 0.0  # READY → PAUSED: elements started, models loaded (not counted in wall_s or FPS)
    threads: list[ThreadStat] = field(default_factory=list)  # CPU per thread during the run (Linux)

    def table(self) -> str:
        lines = [f"scenario {self.scenario}: {self.streams} stream(s), {sum(self.frames.values())} frames in "
                 f"{self.wall_s:.2f} s (after {self.startup_s:.2f} s start-up)",
                 "per-stream FPS: " + ", ".join(f"{sid}: {fps:.1f}" for sid, fps in sorted(self.fps_per_stream.items())),
                 f"total FPS: {self.total_fps:.1f}   latency p50 {self.latency_ms_p50:.1f} ms, p99 "
                 f"{self.latency_ms_p99:.1f} ms   CPU {self.cpu_percent:.0f}%   peak memory "
                 f"{self.peak_rss_mb:.0f} MB   dropped {self.dropped_frames}",
                 "", f"{'element':<28}{'factory':<20}{'buffers':>9}{'busy s':>9}{'share':>8}{'buf/s':>9}"]
        for e in self.elements:
            lines.append(f"{e.name:<28}{e.factory:<20}{e.buffers:>9}{e.busy_s:>9.2f}{e.share * 100:>7.1f}%"
                         f"{e.throughput:>9.1f}")
        if self.threads:
            n = max(1, sum(self.frames.values()))
            lines += ["", f"{'thread':<36}{'count':>6}{'CPU s':>9}{'ms/frame':>10}"]
            for t in self.threads[:12]:
                lines.append(f"{t.name[:35]:<36}{t.threads:>6}{t.cpu_s:>9.2f}{t.cpu_s / n * 1000:>10.2f}")
            if len(self.threads) > 12:
                rest = self.threads[12:]
                cpu = sum(t.cpu_s for t in rest)
                lines.append(f"{'(others)':<36}{sum(t.threads for t in rest):>6}{cpu:>9.2f}{cpu / n * 1000:>10.2f}")
        return "\n".join(lines)


def scenario_description(scenario: str, clips: list[str], infer_config: str, tracker_config: str,
                         width: int = 0, height: int = 0, output: str | None = None, batch: int | None = None) -> str:
    """A launch string for a built-in scenario on the given clips (one stream per clip); ``batch`` is the
    muxer's and detector's batch size (default: one frame per stream)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r} (choose from {', '.join(SCENARIOS)})")
    n = len(clips)
    b = batch or n
    srcs = " ".join(f"filesrc location={c} ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_{i}" for i, c in enumerate(clips))
    size = f" width={width} height={height}" if width and height else ""
    desc = f"{srcs} nvstreammux name=m batch-size={b}{size}"
    if scenario == "decode":
        return desc + " ! fakesink name=benchsink"
    desc += f" ! nvinfer config-file-path={infer_config} batch-size={b}"
    if scenario == "detect":
        return desc + " ! fakesink name=benchsink"
    desc += f" ! nvtracker ll-config-file={tracker_config}"
    if scenario == "track":
        return desc + " ! fakesink name=benchsink"
    if n > 1:
        cols = int(np.ceil(np.sqrt(n)))
        desc += f" ! nvmultistreamtiler rows={int(np.ceil(n / cols))} columns={cols} width=1280 height=720"
    out = output or str(Path(tempfile.gettempdir()) / "vistream-bench.mp4")
    return (desc + " ! nvvideoconvert ! nvdsosd name=benchsink_osd ! nvvideoconvert ! x264enc speed-preset=ultrafast "
            f"! mp4mux ! filesink location={out}")


def run_bench(pipeline: Pipeline, scenario: str = "custom", progress: bool = False,
              timeout: float | None = None) -> BenchResult:
    """Run ``pipeline`` to EOS and measure it."""
    latencies: list[float] = []
    frames: dict[int, int] = {}
    lat_lock = threading.Lock()

    def probe(pad, info, _):
        bm = get_batch_meta(info.get_buffer())
        if bm is not None:
            now = time.monotonic()
            with lat_lock:
                for fm in bm.frame_meta_list:
                    frames[fm.source_id] = frames.get(fm.source_id, 0) + 1
                    if fm.ingest_time:
                        latencies.append(now - fm.ingest_time)
        return PadProbeReturn.OK

    # measure where batched buffers leave the pipeline: the sink pads of the last batched elements
    probe_pads = []
    for el in pipeline.elements:
        if el.is_sink or el.FACTORY in ("x264enc", "nvv4l2h264enc", "nvv4l2h265enc", "avenc_mpeg4", "jpegenc"):
            pad = el.sink_pads[0] if el.sink_pads else None
            if pad is not None and pad.peer is not None and pad.peer.parent.FACTORY not in (
                    "x264enc", "nvv4l2h264enc", "nvv4l2h265enc", "avenc_mpeg4", "mp4mux", "qtmux", "matroskamux"):
                probe_pads.append(pad)
    for pad in probe_pads:
        pad.add_probe(PadProbeType.BUFFER, probe)
    # Start the elements (models load, files open) before the clock starts: FPS is the running pipeline's,
    # as a long-running deployment sees it; the start-up time is reported on its own.
    t_start = time.monotonic()
    pipeline.change_state(State.PAUSED)
    startup = time.monotonic() - t_start
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    threads_cpu = ThreadCpu().start()
    t0 = time.monotonic()
    stop = threading.Event()
    if progress:
        def show():
            while not stop.wait(1.0):
                with lat_lock:
                    n = sum(frames.values())
                el = time.monotonic() - t0
                print(f"\r[bench] {el:6.1f} s  {n} frames  {n / max(el, 1e-9):.1f} FPS", end="", file=sys.stderr,
                      flush=True)
        threading.Thread(target=show, daemon=True).start()
    pipeline.change_state(State.PLAYING)
    error = None
    while True:
        msg = pipeline.bus.timed_pop_filtered(0.2, MessageType.EOS | MessageType.ERROR)
        if timeout is not None and time.monotonic() - t0 > timeout:
            error = f"timed out after {timeout} s"
            break
        if msg is None:
            if not pipeline._any_thread_alive():
                break
            continue
        if msg.type == MessageType.ERROR:
            error = str(msg.parse_error()[0])
            break
        break
    wall = time.monotonic() - t0
    stop.set()
    if progress:
        print(file=sys.stderr)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    thread_stats = threads_cpu.stop()
    pipeline.set_state(State.NULL)
    if error:
        raise VistreamError(error)
    cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) / max(wall, 1e-9) * 100
    busy_total = sum(e.proc_ns for e in pipeline.elements) / 1e9 or 1e-9
    elements = [ElementStat(e.name, e.factory_name, e.buffers_in, e.proc_ns / 1e9, (e.proc_ns / 1e9) / busy_total,
                            e.buffers_in / max(wall, 1e-9)) for e in pipeline.elements]
    elements.sort(key=lambda s: -s.busy_s)
    dropped = 0
    for e in pipeline.elements:
        if e.FACTORY == "nvstreammux":
            dropped += sum(s["dropped"] for s in e.source_stats().values())
            if not frames:
                frames = {sid: s["frames"] for sid, s in e.source_stats().items()}
        dropped += getattr(e, "dropped", 0) if e.FACTORY == "queue" else 0
    lat = np.array(latencies) * 1000 if latencies else np.zeros(1)
    fps = {sid: n / max(wall, 1e-9) for sid, n in frames.items()}
    return BenchResult(scenario, len(frames), dict(frames), wall, fps, sum(fps.values()),
                       float(np.percentile(lat, 50)), float(np.percentile(lat, 99)), cpu,
                       r1.ru_maxrss / 1024, dropped, elements, startup, thread_stats)


def _samples() -> Path:
    from vistream.tools.demo import find_samples

    return find_samples()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vistream bench", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--scenario", choices=SCENARIOS, default="full", help="built-in pipeline (default: full)")
    group.add_argument("--launch", help="a launch string to measure instead of a scenario")
    group.add_argument("-c", "--app-config", help="a deepstream-app config to measure instead of a scenario")
    parser.add_argument("--streams", type=int, default=1, help="copies of the clip (scenarios)")
    parser.add_argument("--batch", type=int, default=0, help="muxer/detector batch size (default: one per stream)")
    parser.add_argument("--clip", help="input clip (default: the traffic sample)")
    parser.add_argument("--width", type=int, default=0)
    parser.add_argument("--height", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    parser.add_argument("--timeout", type=float, default=None)
    args = parser.parse_args(argv)
    try:
        if args.launch:
            pipeline, name = parse_launch(args.launch), "launch"
        elif args.app_config:
            from vistream.app.config import load_app_config
            from vistream.app.runner import build_app

            pipeline, name = build_app(load_app_config(args.app_config)).pipeline, "app"
        else:
            samples = None if args.clip else _samples()
            clip = args.clip or str(samples / "videos" / "traffic_overhead_640x360.mp4")
            cfgs = _samples() / "configs"
            desc = scenario_description(args.scenario, [clip] * args.streams,
                                        str(cfgs / "config_infer_primary_yoloX.txt"),
                                        str(cfgs / "tracker" / "config_tracker_IOU.yml"), args.width, args.height,
                                        batch=args.batch or None)
            pipeline, name = parse_launch(desc), args.scenario
        result = run_bench(pipeline, name, progress=not args.no_progress and sys.stderr.isatty() and not args.json,
                           timeout=args.timeout)
    except (VistreamError, ValueError, OSError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(asdict(result), indent=2))
    else:
        print(result.table())
    return 0
