"""Side-by-side CPU benchmarks in one run; prints a table of ratios.

1. Decode only: vistream's decoder vs GStreamer's ``avdec_h264 ! fakesink`` and vs bare PyAV (same files,
   same I420 output, no colour conversion).
2. Detector pipeline (decode → mux → nvinfer → tracker → OSD → encode to file) on 1 and 4 streams vs the naive
   OpenCV + ONNX Runtime loop (``naive.py``), with a check that both find the same objects.
3. vistream end to end (decode → mux → nvinfer → fakesink) vs the detector's own ceiling at the same batch size
   (the inference engine alone on frames decoded beforehand).

Usage: ``python bench/compare.py [--clip PATH] [--repeat N] [--rounds N] [--skip-gstreamer]``. GStreamer's row needs Debian's
``gstreamer1.0-tools gstreamer1.0-libav gstreamer1.0-plugins-good`` (``--install`` runs apt-get for them).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import naive  # noqa: E402

from vistream import parse_launch  # noqa: E402
from vistream.infer import InferEngine  # noqa: E402
from vistream.infer.engine import complete_oldest  # noqa: E402
from vistream.meta import BatchMeta, FrameMeta  # noqa: E402
from vistream.tools.bench import run_bench, scenario_description  # noqa: E402

CONFIGS = ROOT / "samples" / "configs"
PGIE = str(CONFIGS / "config_infer_primary_yoloX.txt")
TRACKER = str(CONFIGS / "tracker" / "config_tracker_IOU.yml")


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def count_frames(path: str) -> int:
    with av.open(path) as c:
        return sum(1 for p in c.demux(video=0) if p.size)


# --- 1. decode ---------------------------------------------------------------------------------------------
def decode_vistream(clips: list[str]) -> float:
    srcs = " ".join(f"filesrc location={c} ! qtdemux ! h264parse ! nvv4l2decoder ! video/x-raw,format=I420 ! "
                    f"fakesink" for c in clips)
    return timed(lambda: parse_launch(srcs).run())


def decode_pyav(clips: list[str]) -> float:
    def go():
        for c in clips:
            with av.open(c) as container:
                for frame in container.decode(video=0):
                    frame.to_ndarray()  # planar I420 as NumPy, like the others hand over
    return timed(go)


def decode_gstreamer(clips: list[str]) -> float | None:
    if not shutil.which("gst-launch-1.0"):
        return None
    args = ["gst-launch-1.0", "-q"]
    for c in clips:
        args += ["filesrc", f"location={c}", "!", "qtdemux", "!", "h264parse", "!", "avdec_h264", "!", "fakesink"]
    t0 = time.perf_counter()
    res = subprocess.run(args, capture_output=True, text=True)
    if res.returncode != 0:
        print(f"  (gstreamer failed: {res.stderr.strip()[:200]})")
        return None
    return time.perf_counter() - t0


# --- 2. detector pipeline vs naive loop --------------------------------------------------------------------
def vistream_pipeline(clips: list[str], outdir: Path, batch: int) -> tuple[float, list]:
    desc = scenario_description("full", clips, PGIE, TRACKER, output=str(outdir / "vistream.mp4"), batch=batch)
    pipeline = parse_launch(desc)
    return run_bench(pipeline, "full"), pipeline


def detections_vistream(clip: str) -> list[list[tuple[int, float, np.ndarray]]]:
    p = parse_launch(f"filesrc location={clip} ! qtdemux ! nvv4l2decoder ! m.sink_0 nvstreammux name=m batch-size=1 "
                     f"! nvinfer config-file-path={PGIE} ! appsink name=out")
    out = []
    for buf in p.buffers():
        for fm in buf.batch_meta.frame_meta_list:
            out.append([(o.class_id, o.confidence, np.array(o.rect_params.xyxy())) for o in fm.obj_meta_list])
    return out


def match_rate(a: list, b: list) -> float:
    """Fraction of objects in ``a`` with a same-class object in ``b`` at IoU >= 0.9 (per frame)."""
    total = hit = 0
    for fa, fb in zip(a, b, strict=False):
        for c, _, box in fa:
            total += 1
            for c2, _, box2 in fb:
                if c2 != c:
                    continue
                ix = max(0, min(box[2], box2[2]) - max(box[0], box2[0]))
                iy = max(0, min(box[3], box2[3]) - max(box[1], box2[1]))
                inter = ix * iy
                union = (box[2] - box[0]) * (box[3] - box[1]) + (box2[2] - box2[0]) * (box2[3] - box2[1]) - inter
                if union > 0 and inter / union >= 0.9:
                    hit += 1
                    break
    return hit / max(total, 1)


# --- 3. engine overhead vs the detector's ceiling ------------------------------------------------------------
def detector_ceiling(clip: str, batch: int) -> float:
    """Frames per second of the inference engine alone (pre-decoded RGB frames, same batch size), at its best:
    batches kept in flight with ``submit``/``complete`` as the nvinfer element does."""
    with av.open(clip) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    engine = InferEngine(PGIE, {"batch-size": batch})
    h, w = frames[0].shape[:2]
    inflight: deque = deque()
    t0 = time.perf_counter()
    for i in range(0, len(frames), batch):
        chunk = frames[i:i + batch]
        bm = BatchMeta(max_frames_in_batch=batch, frame_meta_list=[
            FrameMeta(source_id=0, batch_id=j, frame_num=i + j, source_frame_width=w, source_frame_height=h,
                      pipeline_width=w, pipeline_height=h) for j in range(len(chunk))])
        inflight.append(engine.submit(chunk, bm))
        while inflight and complete_oldest(inflight, engine.concurrency):  # as the nvinfer element does
            engine.complete(inflight.popleft())
    while inflight:
        engine.complete(inflight.popleft())
    return len(frames) / (time.perf_counter() - t0)


def vistream_detect_fps(clips: list[str], batch: int) -> float:
    pipeline = parse_launch(scenario_description("detect", clips, PGIE, TRACKER, batch=batch))
    res = run_bench(pipeline, "detect")
    return res.total_fps


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        cpu = f"{names[0]} x{len(names)}" if names else cpu
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu}; Python {platform.python_version()}; load average at start {load:.1f}"


def median_pair(pairs: list[tuple[float, float]]) -> tuple[float, float, float]:
    """The (a, b, a/b) of the round whose ratio is the median (rounds are paired runs of a and b)."""
    a, b = sorted(pairs, key=lambda p: p[0] / p[1])[len(pairs) // 2]
    return a, b, a / b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", default=str(ROOT / "samples" / "videos" / "traffic_overhead_640x360.mp4"))
    ap.add_argument("--repeat", type=int, default=2, help="copies of the clip in the decode test")
    ap.add_argument("--skip-gstreamer", action="store_true")
    ap.add_argument("--install", action="store_true", help="apt-get install GStreamer for row 1")
    ap.add_argument("--streams", default="1,4", help="stream counts for section 2")
    ap.add_argument("--rounds", type=int, default=1,
                    help="sections 2 and 3: run each pair this many times, alternating, and report the median ratio")
    args = ap.parse_args()
    if args.install:
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "gstreamer1.0-tools",
                        "gstreamer1.0-libav", "gstreamer1.0-plugins-good", "gstreamer1.0-plugins-bad"], check=False)
    clip = args.clip
    n_frames = count_frames(clip)
    print(f"machine: {machine()}")
    print(f"clip: {Path(clip).name}, {n_frames} frames\n")
    rows = []

    clips = [clip] * args.repeat
    # warm up each contender once, then keep the best of three runs (the machine is shared and noisy)
    decode_vistream([clip])
    decode_pyav([clip])
    t_vs = min(decode_vistream(clips) for _ in range(3))
    t_av = min(decode_pyav(clips) for _ in range(3))
    t_gst = None
    if not args.skip_gstreamer:
        runs = [t for t in (decode_gstreamer(clips) for _ in range(3)) if t]
        t_gst = min(runs) if runs else None
    fps = {k: n_frames * args.repeat / t for k, t in (("vistream", t_vs), ("PyAV", t_av), ("GStreamer", t_gst)) if t}
    best = max(v for k, v in fps.items() if k != "vistream")
    rows.append(("decode only (I420)", f"vistream {fps['vistream']:.0f} FPS; PyAV {fps['PyAV']:.0f}; GStreamer "
                 + (f"{fps['GStreamer']:.0f}" if "GStreamer" in fps else "n/a"), fps["vistream"] / best, 0.9))

    tmp = Path(tempfile.mkdtemp(prefix="vistream-bench-"))
    rounds = max(1, args.rounds)
    for n in (int(s) for s in args.streams.split(",")):
        batch = n  # DeepStream's rule: batch-size = number of sources (nvinfer overlaps batches itself)
        pairs = []
        for _ in range(rounds):  # alternate the two so that both see the same machine load
            res, _ = vistream_pipeline([clip] * n, tmp, batch)
            nv = naive.run([clip] * n, tmp)
            pairs.append((res.total_fps, nv["frames"] / nv["seconds"]))
        vs, nv_fps, ratio = median_pair(pairs)
        rows.append((f"detector pipeline, {n} stream(s), batch {batch}", f"vistream {vs:.1f} FPS vs "
                     f"naive loop {nv_fps:.1f} FPS", ratio, 1.5))
    same = match_rate(naive.run([clip], tmp)["detections"], detections_vistream(clip))
    rows.append(("same detections as the naive loop", f"{same * 100:.1f}% of objects matched (class, IoU>=0.9)",
                 same, 0.99))

    for n in (1, 4):
        pairs = [(vistream_detect_fps([clip], n), detector_ceiling(clip, n)) for _ in range(rounds)]
        e2e, ceiling, ratio = median_pair(pairs)
        rows.append((f"end to end vs detector ceiling, batch {n}", f"{e2e:.1f} FPS vs {ceiling:.1f} FPS", ratio, 0.85))

    print(f"{'comparison':<44}{'measured':<58}{'ratio':>7}{'goal':>7}")
    for name, detail, ratio, goal in rows:
        print(f"{name:<44}{detail:<58}{ratio:>7.2f}{'>=' + str(goal):>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
