"""MOTChallenge files: ``det.txt``/``gt.txt`` (``frame,id,left,top,width,height,conf,...``) and ``seqinfo.ini``."""

from __future__ import annotations

import configparser
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vistream.meta import Detections


@dataclass
class SeqInfo:
    name: str
    frame_rate: float
    length: int
    width: int
    height: int


def read_seqinfo(path: str | os.PathLike) -> SeqInfo:
    """Read ``seqinfo.ini``; errors name the file and key."""
    cp = configparser.ConfigParser()
    if not cp.read(path):
        raise FileNotFoundError(f"{path}: cannot read seqinfo.ini")
    if "Sequence" not in cp:
        raise ValueError(f"{path}: no [Sequence] section")
    s = cp["Sequence"]
    try:
        return SeqInfo(s.get("name", Path(path).parent.name), float(s.get("frameRate", "30")), int(s["seqLength"]),
                       int(s["imWidth"]), int(s["imHeight"]))
    except KeyError as exc:
        raise ValueError(f"{path}: [Sequence] lacks {exc.args[0]}") from None


def read_mot_txt(path: str | os.PathLike) -> np.ndarray:
    """Rows of a MOT ``det.txt``/``gt.txt`` as an ``(N, >=7)`` float64 array; errors give file:line."""
    rows = []
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.replace(" ", "").split(",")
            if len(parts) < 7:
                raise ValueError(f"{path}:{lineno}: expected at least 7 comma-separated values "
                                 f"(frame,id,left,top,width,height,conf), got {len(parts)}")
            try:
                rows.append([float(p) for p in parts[:7]])
            except ValueError:
                raise ValueError(f"{path}:{lineno}: not a number in {line!r}") from None
    return np.array(rows, np.float64).reshape(-1, 7)


def iter_mot_detections(det: np.ndarray, num_frames: int | None = None) -> Iterator[tuple[int, Detections]]:
    """``(frame_number, Detections)`` for every frame 1..N (frames without rows give empty Detections)."""
    det = det[np.argsort(det[:, 0], kind="stable")]
    frames = det[:, 0].astype(np.int64)
    last = int(frames.max()) if len(frames) else 0
    n = max(last, num_frames or 0)
    bounds = np.searchsorted(frames, np.arange(1, n + 2))
    for f in range(1, n + 1):
        rows = det[bounds[f - 1]:bounds[f]]
        xyxy = rows[:, 2:6].copy()
        xyxy[:, 2:4] += xyxy[:, 0:2]
        yield f, Detections(xyxy, rows[:, 6], np.zeros(len(rows), np.int64))


def format_mot_rows(frame: int, tracks: Detections) -> list[str]:
    """MOT result lines ``frame,id,left,top,width,height,conf,-1,-1,-1`` for one frame's tracks."""
    out = []
    ltwh = tracks.ltwh
    for i in range(len(tracks)):
        x, y, w, h = ltwh[i].tolist()
        out.append(f"{frame},{int(tracks.tracker_id[i])},{x:.2f},{y:.2f},{w:.2f},{h:.2f},"
                   f"{float(tracks.confidence[i]):.4f},-1,-1,-1")
    return out
