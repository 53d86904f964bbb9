"""MOT evaluation: run a tracker over MOTChallenge detections and score it with py-motmetrics (MOTA, IDF1).

``vistream eval-mot`` calls :func:`main`::

    vistream eval-mot --seq tests/data/mot/TUD-Campus --seq tests/data/mot/TUD-Stadtmitte \\
        --config samples/configs/tracker/config_tracker_NvSORT_MOT15.yml
    vistream eval-mot --seq tests/data/mot/TUD-Stadtmitte --config ... \\
        --detector samples/configs/config_infer_primary_yoloX.txt --interval 2     # full pipeline

A sequence folder holds ``det.txt`` and ``gt.txt`` (MOT format) and optionally ``seqinfo.ini`` and
``<name>.mp4``; the video is decoded only for the appearance tracker (decoded frame k is MOT frame k+1).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vistream.track.algorithms import make_tracker
from vistream.track.config import TrackerConfig, load_tracker_config, normalize_algorithm
from vistream.track.geometry import iou_matrix
from vistream.track.mot import format_mot_rows, iter_mot_detections, read_mot_txt, read_seqinfo

METRICS = ["mota", "idf1", "motp", "num_switches", "num_false_positives", "num_misses", "mostly_tracked",
           "mostly_lost", "num_unique_objects", "recall", "precision"]


@dataclass
class SequenceResult:
    name: str
    metrics: dict[str, float]
    frames: int
    seconds: float  # tracker time only (no decoding, no re-ID model)
    rows: np.ndarray  # frame, id, left, top, width, height, conf


def iter_video_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """RGB frames (HxWx3 uint8) of a video, decoded with PyAV."""
    import av

    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


def default_embedder(config: TrackerConfig):
    """The re-ID embedder the config names (``ReID.onnxFile``)."""
    from vistream.track.reid import ReIDEmbedder

    return ReIDEmbedder(config.reid.onnx_file, config.reid)


def track_sequence(seq_dir: str | os.PathLike, config: TrackerConfig, embedder=None,
                   det_path: str | os.PathLike | None = None) -> tuple[np.ndarray, int, float]:
    """Run ``config``'s tracker over a sequence's ``det.txt``; returns (rows, frames, tracker seconds)."""
    seq_dir = Path(seq_dir)
    det = read_mot_txt(det_path or seq_dir / "det.txt")
    info_path = seq_dir / "seqinfo.ini"
    n_frames = read_seqinfo(info_path).length if info_path.is_file() else None
    needs_frames = config.algorithm == "DeepSORT"
    if needs_frames and embedder is None:
        embedder = default_embedder(config)
    tracker = make_tracker(config, itertools.count(1).__next__, embedder)
    frames: Iterator[np.ndarray | None] = itertools.repeat(None)
    if needs_frames:
        videos = sorted(seq_dir.glob("*.mp4"))
        if not videos:
            raise FileNotFoundError(f"{seq_dir}: the appearance tracker needs the sequence video (<name>.mp4)")
        frames = iter_video_frames(videos[0])
    lines: list[str] = []
    elapsed = 0.0
    count = 0
    for (fnum, dets), frame in zip(iter_mot_detections(det, n_frames), frames, strict=False):
        t0 = time.perf_counter()
        out = tracker.update(dets, frame, frame_num=fnum)
        elapsed += time.perf_counter() - t0
        lines.extend(format_mot_rows(fnum, out))
        count += 1
    rows = np.array([[float(v) for v in ln.split(",")[:7]] for ln in lines]).reshape(-1, 7)
    return rows, count, elapsed


def track_video(seq_dir: str | os.PathLike, config: TrackerConfig, detector_config: str | os.PathLike,
                class_ids: Sequence[int] | None = (0,), interval: int | None = None,
                embedder=None) -> tuple[np.ndarray, int, float]:
    """The full pipeline on a sequence's video: nvinfer (``vistream.infer``) -> :class:`TrackerCore`.

    Objects of other classes than ``class_ids`` (default 0, COCO person) are dropped before tracking;
    ``interval`` overrides nvinfer's, so that skipped frames are scored too. Returns (rows, frames, tracker
    seconds), rows as in :func:`track_sequence`.
    """
    from vistream.infer import InferEngine
    from vistream.meta import BatchMeta, new_frame_meta
    from vistream.track.core import TrackerCore

    seq_dir = Path(seq_dir)
    videos = sorted(seq_dir.glob("*.mp4"))
    if not videos:
        raise FileNotFoundError(f"{seq_dir}: the full pipeline needs the sequence video (<name>.mp4)")
    overrides = {"interval": interval} if interval is not None else None
    engine = InferEngine(detector_config, overrides, threads=2)
    core = TrackerCore(config, embedder=embedder)
    keep = None if class_ids is None else set(int(c) for c in class_ids)
    rows: list[list[float]] = []
    elapsed = 0.0
    count = 0
    try:
        for k, frame in enumerate(iter_video_frames(videos[0])):
            h, w = frame.shape[:2]
            bm = BatchMeta()
            fm = new_frame_meta(0, k, 0, w, h)
            bm.frame_meta_list.append(fm)
            engine.process([frame], bm)
            if keep is not None:
                fm.obj_meta_list[:] = [o for o in fm.obj_meta_list if o.class_id in keep]
            t0 = time.perf_counter()
            core.process(bm, [frame])
            elapsed += time.perf_counter() - t0
            for o in fm.obj_meta_list:
                r = o.rect_params
                rows.append([k + 1, o.object_id, r.left, r.top, r.width, r.height, o.tracker_confidence])
            count += 1
    finally:
        engine.close()
    return np.array(rows, np.float64).reshape(-1, 7), count, elapsed


def score_mot(gt: np.ndarray, hyp: np.ndarray, name: str = "seq", min_iou: float = 0.5) -> dict[str, float]:
    """CLEAR-MOT and ID metrics of ``hyp`` against ``gt`` (rows ``frame,id,l,t,w,h,...``), IoU >= ``min_iou``.

    Ground-truth rows with a zero in column 7 (MOT16+ "ignore") are dropped, as MOTChallenge does.
    """
    import motmetrics as mm

    if gt.shape[1] >= 7:
        gt = gt[gt[:, 6] != 0]
    acc = mm.MOTAccumulator(auto_id=False)
    frames = np.union1d(np.unique(gt[:, 0]), np.unique(hyp[:, 0]) if len(hyp) else [])
    for f in frames:
        g = gt[gt[:, 0] == f]
        h = hyp[hyp[:, 0] == f] if len(hyp) else hyp
        gb = g[:, 2:6].copy()
        gb[:, 2:4] += gb[:, 0:2]
        hb = h[:, 2:6].copy()
        hb[:, 2:4] += hb[:, 0:2]
        # motmetrics' own iou_matrix needs NumPy < 2; same definition: distance 1 - IoU, NaN beyond the limit
        iou = iou_matrix(gb, hb)
        dist = np.where(iou >= min_iou, 1.0 - iou, np.nan)
        acc.update(g[:, 1].astype(int).tolist(), h[:, 1].astype(int).tolist(), dist, frameid=int(f))
    mh = mm.metrics.create()
    summary = mh.compute(acc, metrics=METRICS, name=name)
    return {k: float(summary[k].iloc[0]) for k in METRICS}


def evaluate_sequence(seq_dir: str | os.PathLike, config: TrackerConfig, embedder=None,
                      min_iou: float = 0.5) -> SequenceResult:
    """Track a sequence folder and score it against its ``gt.txt``."""
    seq_dir = Path(seq_dir)
    rows, frames, secs = track_sequence(seq_dir, config, embedder)
    gt = read_mot_txt(seq_dir / "gt.txt")
    return SequenceResult(seq_dir.name, score_mot(gt, rows, seq_dir.name, min_iou), frames, secs, rows)


def format_table(results: list[tuple[str, SequenceResult]]) -> str:
    """Markdown table of (tracker name, result) pairs."""
    head = "| tracker | sequence | MOTA | IDF1 | IDsw | FP | FN | ms/frame |\n|---|---|---|---|---|---|---|---|"
    lines = [head]
    for tname, r in results:
        m = r.metrics
        lines.append(f"| {tname} | {r.name} | {100 * m['mota']:.1f} | {100 * m['idf1']:.1f} | "
                     f"{int(m['num_switches'])} | {int(m['num_false_positives'])} | {int(m['num_misses'])} | "
                     f"{1000 * r.seconds / max(r.frames, 1):.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``vistream eval-mot``: track MOT sequences from det.txt and print MOTA/IDF1 (py-motmetrics).

    Returns 0, or 2 with the reason on stderr for bad arguments or files.
    """
    p = argparse.ArgumentParser(prog="vistream eval-mot", description=__doc__.splitlines()[0])
    p.add_argument("--seq", action="append", default=[],
                   help="sequence folder with det.txt and gt.txt (repeat for several)")
    p.add_argument("--det", help="a single det.txt to track (with --gt to score it, --output to keep the tracks)")
    p.add_argument("--gt", help="ground truth for --det")
    p.add_argument("--config", help="DeepStream tracker YAML (ll-config-file); default: IOU tracker defaults")
    p.add_argument("--algorithm", help="override the algorithm: IOU, SORT, ByteTrack, DeepSORT")
    p.add_argument("--min-iou", type=float, default=0.5, help="IoU needed to match ground truth (default 0.5)")
    p.add_argument("--output", help="folder to write <sequence>.txt results in MOT format")
    p.add_argument("--detector", help="nvinfer config: run the full pipeline (video -> detector -> tracker) "
                                      "instead of reading det.txt")
    p.add_argument("--class-id", type=int, action="append",
                   help="with --detector: classes to track (repeat; default 0, COCO person)")
    p.add_argument("--interval", type=int, help="with --detector: nvinfer interval (frames skipped between runs)")
    args = p.parse_args(argv)
    if not args.seq and not args.det:
        p.print_usage(sys.stderr)
        print("eval-mot: give --seq DIR (det.txt + gt.txt) or --det FILE", file=sys.stderr)
        return 2
    try:
        cfg = load_tracker_config(args.config)
        if args.algorithm:
            cfg.algorithm = normalize_algorithm(args.algorithm, "--algorithm")
        results: list[tuple[str, SequenceResult]] = []
        written: list[tuple[str, int, int]] = []
        jobs = [(Path(s), Path(s) / "det.txt", Path(s) / "gt.txt") for s in args.seq]
        if args.det:
            det = Path(args.det)
            jobs.append((det.parent, det, Path(args.gt) if args.gt else None))
        for seq_dir, det_path, gt_path in jobs:
            if not det_path.is_file() and not args.detector:
                raise FileNotFoundError(f"{det_path}: no such det.txt")
            if gt_path is not None and not gt_path.is_file():
                raise FileNotFoundError(f"{gt_path}: no such gt.txt")
            name = seq_dir.name or det_path.stem
            if args.detector:
                rows, frames, secs = track_video(seq_dir, cfg, args.detector, args.class_id or [0], args.interval)
            else:
                rows, frames, secs = track_sequence(seq_dir, cfg, det_path=det_path)
            if gt_path is not None:
                results.append((cfg.algorithm, SequenceResult(
                    name, score_mot(read_mot_txt(gt_path), rows, name, args.min_iou), frames, secs, rows)))
            written.append((name, frames, len(np.unique(rows[:, 1]))))
            if args.output:
                os.makedirs(args.output, exist_ok=True)
                with open(os.path.join(args.output, f"{name}.txt"), "w") as fh:
                    for row in rows:
                        fh.write(f"{int(row[0])},{int(row[1])},{row[2]:.2f},{row[3]:.2f},{row[4]:.2f},"
                                 f"{row[5]:.2f},{row[6]:.4f},-1,-1,-1\n")
    except (OSError, ValueError) as exc:
        print(f"eval-mot: {exc}", file=sys.stderr)
        return 2
    if results:
        print(format_table(results))
    for name, frames, ids in written:
        if name not in {r.name for _, r in results}:
            print(f"{name}: {frames} frames, {ids} tracks ({cfg.algorithm}; no ground truth given)")
    return 0


__all__ = ["SequenceResult", "evaluate_sequence", "format_mot_rows", "main", "score_mot", "track_sequence",
           "track_video"]
