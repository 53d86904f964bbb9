"""vistream's trackers against PyPI peers, in one run, on the same detections.

Accuracy: MOTA and IDF1 (py-motmetrics, IoU >= 0.5) on the MOT15 TUD sequences, from their public det.txt
(vistream's ``*_MOT15`` configs) and from vistream's YOLOX-nano detector on the videos (its general configs).
Speed: per-frame tracker time on a synthetic scene of 50 moving objects per frame (same detections for all).

Peers: supervision ``ByteTrack`` (supervision < 0.27 ships it) and the ``trackers`` package (SORT, ByteTrack,
OC-SORT), each with its default parameters and the sequence's frame rate. A missing peer is reported, not hidden.

    python bench/tracker_compare.py            # prints two Markdown tables
    python bench/tracker_compare.py --speed-frames 100 --no-appearance
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vistream.meta import Detections  # noqa: E402
from vistream.track.algorithms import make_tracker  # noqa: E402
from vistream.track.config import load_tracker_config  # noqa: E402
from vistream.track.evaluate import iter_video_frames, score_mot  # noqa: E402
from vistream.track.mot import iter_mot_detections, read_mot_txt, read_seqinfo  # noqa: E402

SEQS = ["TUD-Campus", "TUD-Stadtmitte"]
CONFIGS = ROOT / "samples" / "configs" / "tracker"
VISTREAM = {
    "vistream IOU": "config_tracker_IOU.yml",
    "vistream SORT": "config_tracker_SORT.yml",
    "vistream ByteTrack": "config_tracker_NvSORT_MOT15.yml",
    "vistream DeepSORT (re-ID)": "config_tracker_NvDeepSORT_MOT15.yml",
}

# A tracker here is a factory giving a step function: (xyxy, conf, frame_rgb | None) -> (xyxy, ids).
Step = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], tuple[np.ndarray, np.ndarray]]


def vistream_factory(config_name: str) -> Callable[[float], Step]:
    cfg = load_tracker_config(CONFIGS / config_name)
    embedder = None
    if cfg.algorithm == "DeepSORT":
        from vistream.track.reid import ReIDEmbedder

        embedder = ReIDEmbedder(cfg.reid.onnx_file, cfg.reid)

    def make(fps: float) -> Step:
        trk = make_tracker(cfg, itertools.count(1).__next__, embedder)

        def step(xyxy, conf, frame):
            out = trk.update(Detections(xyxy, conf), frame)
            return out.xyxy, out.tracker_id

        return step

    return make


def peer_factories() -> tuple[dict[str, Callable[[float], Step]], list[str]]:
    peers: dict[str, Callable[[float], Step]] = {}
    missing: list[str] = []
    try:
        import supervision as sv
    except ImportError:
        return peers, ["supervision (pip install 'supervision<0.27')", "trackers (pip install trackers)"]

    def sv_detections(xyxy, conf):
        return sv.Detections(xyxy=xyxy.astype(np.float32), confidence=conf.astype(np.float32),
                             class_id=np.zeros(len(xyxy), int))

    if hasattr(sv, "ByteTrack"):
        def make_sv(fps: float) -> Step:
            bt = sv.ByteTrack(frame_rate=int(round(fps)))

            def step(xyxy, conf, frame):
                out = bt.update_with_detections(sv_detections(xyxy, conf))
                return out.xyxy, out.tracker_id

            return step

        peers[f"supervision {sv.__version__} ByteTrack"] = make_sv
    else:
        missing.append(f"supervision ByteTrack (supervision {sv.__version__} no longer has it; "
                       "pip install 'supervision<0.27')")
    try:
        from importlib.metadata import version

        import trackers

        tver = version("trackers")
        for name, cls in [("SORT", "SORTTracker"), ("ByteTrack", "ByteTrackTracker"), ("OC-SORT", "OCSORTTracker")]:
            def make_t(fps: float, cls=cls) -> Step:
                t = getattr(trackers, cls)(frame_rate=fps)

                def step(xyxy, conf, frame):
                    out = t.update(sv_detections(xyxy, conf))
                    keep = out.tracker_id >= 0  # -1: not yet confirmed
                    return out.xyxy[keep], out.tracker_id[keep]

                return step

            peers[f"trackers {tver} {name}"] = make_t
    except ImportError:
        missing.append("trackers (pip install trackers)")
    return peers, missing


def run_mot(make: Callable[[float], Step], seq_dir: Path, with_frames: bool,
            det: np.ndarray | None = None) -> tuple[dict, float]:
    """Track a sequence from ``det`` (default: its det.txt) and score it against gt.txt."""
    info = read_seqinfo(seq_dir / "seqinfo.ini")
    det = read_mot_txt(seq_dir / "det.txt") if det is None else det
    step = make(info.frame_rate)
    frames = iter_video_frames(next(seq_dir.glob("*.mp4"))) if with_frames else itertools.repeat(None)
    rows = []
    elapsed = 0.0
    for (fnum, d), frame in zip(iter_mot_detections(det, info.length), frames, strict=False):
        t0 = time.perf_counter()
        xyxy, ids = step(d.xyxy, d.confidence, frame)
        elapsed += time.perf_counter() - t0
        for b, i in zip(np.asarray(xyxy, np.float64), ids, strict=True):
            rows.append([fnum, int(i), b[0], b[1], b[2] - b[0], b[3] - b[1], 1.0])
    hyp = np.array(rows, np.float64).reshape(-1, 7)
    return score_mot(read_mot_txt(seq_dir / "gt.txt"), hyp, seq_dir.name), elapsed / info.length


def yolox_detections(seq_dir: Path) -> np.ndarray:
    """Person detections (MOT rows) of vistream's nvinfer with the sample YOLOX-nano config on the video."""
    from vistream.infer import InferEngine
    from vistream.meta import BatchMeta, new_frame_meta

    rows = []
    with InferEngine(ROOT / "samples" / "configs" / "config_infer_primary_yoloX.txt", threads=2) as engine:
        for k, frame in enumerate(iter_video_frames(next(seq_dir.glob("*.mp4")))):
            bm = BatchMeta()
            fm = new_frame_meta(0, k, 0, frame.shape[1], frame.shape[0])
            bm.frame_meta_list.append(fm)
            engine.process([frame], bm)
            for o in fm.obj_meta_list:
                if o.class_id == 0:
                    r = o.rect_params
                    rows.append([k + 1, -1, r.left, r.top, r.width, r.height, o.confidence])
    return np.array(rows, np.float64).reshape(-1, 7)


def print_mot_table(title: str, trackers: dict[str, Callable[[float], Step]], data: Path,
                    dets: dict[str, np.ndarray] | None = None) -> None:
    print(f"\n### {title}\n")
    print("| tracker | sequence | MOTA | IDF1 | IDsw | FP | FN |")
    print("|---|---|---|---|---|---|---|")
    for name, make in trackers.items():
        for seq in SEQS:
            m, _ = run_mot(make, data / seq, with_frames="re-ID" in name, det=None if dets is None else dets[seq])
            print(f"| {name} | {seq} | {100 * m['mota']:.1f} | {100 * m['idf1']:.1f} | {int(m['num_switches'])} | "
                  f"{int(m['num_false_positives'])} | {int(m['num_misses'])} |", flush=True)


def synthetic_scene(n_objects: int = 50, n_frames: int = 300, seed: int = 0, with_embeddings: bool = False):
    """``n_objects`` boxes moving at constant speed in a 1920x1080 frame, with jitter and 5% missed boxes.

    Returns ``[(xyxy, conf), ...]``, and with ``with_embeddings`` also a list of per-frame unit vectors
    (one 256-d identity vector per object plus noise).
    """
    rng = np.random.default_rng(seed)
    pos = rng.uniform([0, 0], [1800, 950], (n_objects, 2))
    vel = rng.uniform(-4, 4, (n_objects, 2))
    size = rng.uniform([30, 60], [80, 160], (n_objects, 2))
    ident = rng.normal(size=(n_objects, 256))
    frames, embs = [], []
    for _ in range(n_frames):
        pos = pos + vel
        bounce = (pos < 0) | (pos + size > [1920, 1080])
        vel = np.where(bounce, -vel, vel)
        xy = pos + rng.normal(0, 1.0, pos.shape)
        xyxy = np.concatenate([xy, xy + size], 1)
        keep = rng.random(n_objects) > 0.05
        conf = rng.uniform(0.5, 1.0, n_objects)
        frames.append((xyxy[keep], conf[keep]))
        e = ident[keep] + rng.normal(0, 0.3, (int(keep.sum()), 256))
        embs.append((e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32))
    return (frames, embs) if with_embeddings else frames


def run_speed(make: Callable[[float], Step], scene) -> float:
    """Seconds per frame of one fresh tracker over the whole scene."""
    step = make(30.0)
    t0 = time.perf_counter()
    for xyxy, conf in scene:
        step(xyxy, conf, None)
    return (time.perf_counter() - t0) / len(scene)


def speed_table(trackers: dict[str, Callable[[float], Step]], scene, rounds: int) -> dict[str, float]:
    """Best time per tracker over ``rounds`` rounds, each round running every tracker once in turn, so that
    load from other processes hits all of them alike; the minimum is the least disturbed run."""
    for make in trackers.values():  # warm-up (imports, first allocations)
        step = make(30.0)
        for xyxy, conf in scene[:20]:
            step(xyxy, conf, None)
    best = dict.fromkeys(trackers, float("inf"))
    for _ in range(rounds):
        for name, make in trackers.items():
            best[name] = min(best[name], run_speed(make, scene))
    return best


def reid_association_factory(scene_embeddings: list[np.ndarray]) -> Callable[[float], Step]:
    """The re-ID tracker with embeddings given per detection: measures association, not the network."""
    cfg = load_tracker_config(CONFIGS / VISTREAM["vistream DeepSORT (re-ID)"])

    def make(fps: float) -> Step:
        trk = make_tracker(cfg, itertools.count(1).__next__)
        frames = iter(itertools.cycle(scene_embeddings))

        def step(xyxy, conf, frame):
            d = Detections(xyxy, conf)
            d.data["embedding"] = next(frames)
            out = trk.update(d)
            return out.xyxy, out.tracker_id

        return step

    return make



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "tests" / "data" / "mot"), help="folder with the TUD sequences")
    ap.add_argument("--speed-frames", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5, help="speed rounds; the best of them counts")
    ap.add_argument("--no-appearance", action="store_true", help="skip the re-ID tracker (it decodes video)")
    ap.add_argument("--no-detector", action="store_true", help="skip the table on YOLOX-nano detections")
    args = ap.parse_args(argv)

    ours = {k: vistream_factory(v) for k, v in VISTREAM.items()
            if not (args.no_appearance and "re-ID" in k)}
    peers, missing = peer_factories()
    for m in missing:
        print(f"PEER MISSING: {m}")

    data = Path(args.data)
    print_mot_table("MOTA / IDF1 on MOT15 TUD (public det.txt)", {**ours, **peers}, data)
    if not args.no_detector:
        # the same comparison on the detections of vistream's own detector (what a pipeline feeds the tracker)
        dets = {seq: yolox_detections(data / seq) for seq in SEQS}
        general = {k: vistream_factory(v.replace("_MOT15", "")) for k, v in VISTREAM.items()
                   if not (args.no_appearance and "re-ID" in k)}
        print_mot_table("MOTA / IDF1 on MOT15 TUD, YOLOX-nano detections (vistream.infer, person, score >= 0.3)",
                        {**general, **peers}, data, dets)

    scene, scene_embs = synthetic_scene(n_frames=args.speed_frames, with_embeddings=True)
    ours = {k: v for k, v in ours.items() if "re-ID" not in k}
    ours["vistream DeepSORT (association; embeddings given)"] = reid_association_factory(scene_embs)
    mean_objs = np.mean([len(x) for x, _ in scene])
    print(f"\n### Speed: {len(scene)} frames, {mean_objs:.1f} detections per frame, tracker time only, "
          f"best of {args.rounds} interleaved rounds\n")
    print("| tracker | ms/frame | frames/s |")
    print("|---|---|---|")
    speeds = speed_table({**ours, **peers}, scene, args.rounds)
    for name, t in speeds.items():
        print(f"| {name} | {1000 * t:.3f} | {1 / t:.0f} |")
    if peers:
        fastest_peer = min((v, k) for k, v in speeds.items() if k in peers)
        print()
        for name in ours:
            print(f"{name}: {fastest_peer[0] / speeds[name]:.2f}x the speed of the fastest peer ({fastest_peer[1]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
