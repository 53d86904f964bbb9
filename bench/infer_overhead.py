"""nvinfer engine overhead: engine throughput vs bare ``session.run`` on the same batches.

For each batch size, the bare run feeds already-prepared input tensors straight to ONNX Runtime (one
``session.run`` per image: the shipped models have a fixed batch of 1); the engine run does everything
``InferEngine.process`` does (pre-processing into the preallocated batch, inference, decoding, clustering,
metadata), with and without overlapping inference and pre/post-processing (``overlap``). All use the same
session options and thread count and are measured interleaved chunk by chunk; FPS is the median over
``--rounds`` rounds and the ratio the median of the per-round ratios. Prints a table; exits 1 when the
engine falls below ``--min-ratio`` of the bare FPS.

    python bench/infer_overhead.py --config samples/configs/config_infer_primary_yoloX.txt --threads 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vistream.infer import InferEngine  # noqa: E402
from vistream.meta import BatchMeta, new_frame_meta  # noqa: E402


def load_frames(path: Path, n: int, start: int = 100) -> list[np.ndarray]:
    """``n`` RGB frames from ``start`` on (PyAV, or OpenCV's reader where PyAV is not installed)."""
    out = []
    try:
        import av
    except ImportError:
        cap = cv2.VideoCapture(str(path))
        i = 0
        while len(out) < n:
            ok, bgr = cap.read()
            if not ok:
                break
            if i >= start:
                out.append(np.ascontiguousarray(bgr[:, :, ::-1]))
            i += 1
        return out
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= start:
                out.append(f.to_ndarray(format="rgb24"))
            if len(out) == n:
                break
    return out


def make_batch(n: int, w: int, h: int, frame_num: int) -> BatchMeta:
    bm = BatchMeta(max_frames_in_batch=n)
    for i in range(n):
        fm = new_frame_meta(i, frame_num, 0, w, h)
        fm.batch_id = i
        bm.frame_meta_list.append(fm)
    return bm


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "samples/configs/config_infer_primary_yoloX.txt"))
    ap.add_argument("--video", default=str(ROOT / "samples/videos/traffic_overhead_640x360.mp4"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--images", type=int, default=32, help="images per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-ratio", type=float, default=0.85)
    ap.add_argument("--profile", action="store_true", help="print where the engine's time goes (batch 1)")
    args = ap.parse_args()

    frames = load_frames(Path(args.video), args.images)
    h, w = frames[0].shape[:2]
    print(f"config {Path(args.config).name}, video {Path(args.video).name} ({w}x{h}), ORT {ort.__version__}, "
          f"{args.threads} thread(s), {args.images} images per round, median of {args.rounds} rounds")
    print(f"{'batch':>5} {'bare FPS':>9} {'engine FPS':>11} {'ratio':>6} {'no-overlap FPS':>15} {'ratio':>6} "
          f"{'objects/frame':>14}")
    ok = True
    for bs in args.batches:
        engines = {ov: InferEngine(args.config, {"batch-size": bs}, threads=args.threads, overlap=ov)
                   for ov in (True, False)}
        eng = engines[True]
        session = eng.backend.session
        name = eng.backend.input_name
        # the exact tensors the engine feeds, prepared once for the bare run
        prepared = [eng.preprocess([f])[0].copy() for f in frames]
        times = {"bare": [], True: [], False: []}
        objects = 0
        for r in range(args.rounds + 1):  # round 0 warms up
            acc = dict.fromkeys(times, 0.0)
            objects = 0
            # bare and engine alternate chunk by chunk, so load from other processes hits both alike
            for start in range(0, len(frames), bs):
                chunk = frames[start:start + bs]
                t0 = time.perf_counter()
                for x in prepared[start:start + bs]:
                    session.run(None, {name: x})
                acc["bare"] += time.perf_counter() - t0
                for ov, e in engines.items():
                    bm = make_batch(len(chunk), w, h, r)
                    t0 = time.perf_counter()
                    e.process(chunk, bm)
                    acc[ov] += time.perf_counter() - t0
                    objects += sum(fm.num_obj_meta for fm in bm.frame_meta_list) if ov else 0
            if r:
                for k, v in acc.items():
                    times[k].append(v)
        fps = {k: len(frames) / float(np.median(v)) for k, v in times.items()}
        ratio = {k: float(np.median(np.array(times["bare"]) / np.array(times[k]))) for k in (True, False)}
        ok &= ratio[True] >= args.min_ratio
        print(f"{bs:>5} {fps['bare']:>9.1f} {fps[True]:>11.1f} {ratio[True]:>6.3f} {fps[False]:>15.1f} "
              f"{ratio[False]:>6.3f} {objects / len(frames):>14.1f}")
    if args.profile:
        import cProfile
        import pstats

        eng = InferEngine(args.config, {"batch-size": 1}, threads=args.threads)
        prof = cProfile.Profile()
        prof.enable()
        for r in range(3):
            for f in frames:
                eng.process([f], make_batch(1, w, h, r))
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    print("PASS" if ok else f"FAIL: engine below {args.min_ratio}x bare FPS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
