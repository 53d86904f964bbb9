"""Host time per frame after the model: detector post-processing and tracking (no GPU needed).

On the GPU path the model, pre-processing and decoding run on the GPU; what is left on the host per frame is
turning the detector's candidates into objects (clustering/NMS, mapping boxes to the frame, filters, object
metadata) and the tracker. With one worker process per core this host time is what bounds the streams one
GPU machine serves (docs/gpu.md). This benchmark takes real YOLOX-Nano candidates of the shipped clip
(model run once with ONNX Runtime on frames scaled to 1080p, decoded with the same threshold as on the GPU),
then times, interleaved round by round on ``--streams`` streams batched together:

* ``per-frame``: the candidates of each frame clustered, mapped and filtered on their own (the engine before
  batch-wide post-processing),
* ``batch``: the whole batch at once (``InferEngine._detections_batch``: what nvinfer does now),
* ``tracker``: ``TrackerCore.process`` on the batch (IOU tracker config: every stream stepped at once),
* ``tracker, stream by stream``: the same frames given to another tracker one frame per batch.

Prints microseconds per frame (median of ``--rounds``) and the ratio of the two post-processing paths,
measured in the same run::

    python bench/host_post.py [--streams 8] [--rounds 5] [--tracker samples/configs/tracker/config_tracker_IOU.yml]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vistream.infer import InferEngine  # noqa: E402
from vistream.meta import BatchMeta, FrameMeta  # noqa: E402
from vistream.track import TrackerCore  # noqa: E402

CONFIG = ROOT / "samples/configs/config_infer_primary_yoloX.txt"
TRACKER = ROOT / "samples/configs/tracker/config_tracker_IOU.yml"
CLIP = ROOT / "tests/data/traffic_48.mp4"


def candidates(engine: InferEngine, clip: Path, size=(1920, 1080)):
    """Per frame: the decoded (thresholded, not yet clustered) boxes and the frame transform."""
    import av

    out = []
    with av.open(str(clip)) as c:
        for f in c.decode(video=0):
            img = cv2.resize(f.to_ndarray(format="rgb24"), size)
            batch, tfs = engine.preprocess([img], None)
            raw = engine.backend.infer(batch)
            o = {k: v[0] for k, v in raw.items()}
            out.append((engine._decoder(o, engine.net, engine.num_classes, engine._min_score), tfs[0]))
    return out


def metas(streams: int, frame_num: int, size=(1920, 1080)) -> BatchMeta:
    w, h = size
    return BatchMeta(max_frames_in_batch=streams, frame_meta_list=[
        FrameMeta(source_id=i, batch_id=i, pad_index=i, frame_num=frame_num, source_frame_width=w,
                  source_frame_height=h, pipeline_width=w, pipeline_height=h) for i in range(streams)])


def one_round(engine: InferEngine, cands, streams: int, tracker_cfg: Path) -> dict[str, float]:
    """Seconds per frame of each part over one pass of the clip (every stream sees the same frames)."""
    tracker, single = TrackerCore(str(tracker_cfg)), TrackerCore(str(tracker_cfg))
    t = {"per-frame": 0.0, "batch": 0.0, "tracker": 0.0, "tracker-single": 0.0}
    objects = 0
    for k, (dec, tf) in enumerate(cands):
        outs = [{"boxes": dec}] * streams
        t0 = time.perf_counter()
        per = [engine._detect_decoded(dec, tf) for _ in range(streams)]
        t1 = time.perf_counter()
        res = engine._detections_batch(outs, [dec] * streams, [tf] * streams)
        t2 = time.perf_counter()
        bm, bm1 = metas(streams, k), metas(streams, k)
        for fm, fm1, r in zip(bm.frame_meta_list, bm1.frame_meta_list, res, strict=True):
            engine._attach_frame(fm, r)
            engine._attach_frame(fm1, r)
        ones = [BatchMeta(max_frames_in_batch=1, frame_meta_list=[fm]) for fm in bm1.frame_meta_list]
        objects += sum(len(fm.obj_meta_list) for fm in bm.frame_meta_list)
        t3 = time.perf_counter()
        tracker.process(bm)
        t4 = time.perf_counter()
        for one in ones:
            single.process(one)
        t5 = time.perf_counter()
        assert all(np.array_equal(a.xyxy, b.detections.xyxy) for a, b in zip(per, res, strict=True))
        t["per-frame"] += t1 - t0
        t["batch"] += t2 - t1
        t["tracker"] += t4 - t3
        t["tracker-single"] += t5 - t4
    n = len(cands) * streams
    out = {k: v / n for k, v in t.items()}
    out["objects_per_frame"] = objects / n
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", type=int, default=8, help="frames per batch (one per stream)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clip", type=Path, default=CLIP)
    ap.add_argument("--tracker", type=Path, default=TRACKER)
    a = ap.parse_args()
    engine = InferEngine(str(CONFIG), {"batch-size": 1})
    cands = candidates(engine, a.clip)
    decoder = engine._decoder
    # frame by frame as before: cluster + map + filter one frame's decoded boxes
    engine._decoder = lambda o, *_: o["boxes"]
    engine._detect_decoded = lambda dec, tf: engine._detect({"boxes": dec}, tf)[0]
    one_round(engine, cands[:4], a.streams, a.tracker)  # warm-up
    rounds = [one_round(engine, cands, a.streams, a.tracker) for _ in range(a.rounds)]
    engine._decoder = decoder
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    ratio = statistics.median(r["per-frame"] / r["batch"] for r in rounds)
    print(f"{len(cands)} frames x {a.streams} streams, {med['objects_per_frame']:.2f} objects per frame, "
          f"{np.mean([len(d[1]) for d, _ in cands]):.1f} candidates per frame")
    print(f"{'part':<34}{'us per frame':>14}")
    print(f"{'post-processing, frame by frame':<34}{med['per-frame'] * 1e6:>14.0f}")
    print(f"{'post-processing, whole batch':<34}{med['batch'] * 1e6:>14.0f}")
    print(f"{'tracker, stream by stream':<34}{med['tracker-single'] * 1e6:>14.0f}")
    print(f"{'tracker, all streams at once':<34}{med['tracker'] * 1e6:>14.0f}")
    trk = statistics.median(r["tracker-single"] / r["tracker"] for r in rounds)
    print(f"post-processing batch vs frame by frame: {ratio:.2f}x faster; tracker all streams at once vs stream "
          f"by stream: {trk:.2f}x faster ({a.tracker.stem}; medians of {a.rounds} rounds, same run)")


if __name__ == "__main__":
    main()
