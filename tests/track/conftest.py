"""Helpers for the tracker tests: synthetic scenes with exact boxes, config writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vistream.meta import BatchMeta, Detections, make_object, new_frame_meta
from vistream.track import parse_tracker_config

ROOT = Path(__file__).resolve().parents[2]
MOT = ROOT / "tests" / "data" / "mot"
CONFIGS = ROOT / "samples" / "configs" / "tracker"

SORT_YAML = """
BaseConfig: {minDetectorConfidence: 0.3}
TargetManagement: {probationAge: 0, maxShadowTrackingAge: 10, earlyTerminationAge: 1, minIouDiff4NewTarget: 0.5}
DataAssociator: {minMatchingScore4Iou: 0.2}
StateEstimator: {stateEstimatorType: 2, noiseWeightVar4Loc: 0.05, noiseWeightVar4Vel: 0.00625}
"""


def sort_config(**target):
    cfg = parse_tracker_config(SORT_YAML, "sort.yml")
    for k, v in target.items():
        setattr(cfg.target, k, v)
    return cfg


def box(cx: float, cy: float, w: float = 40, h: float = 80) -> list[float]:
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def dets(boxes, conf=None, cls=None, **data) -> Detections:
    d = Detections(np.array(boxes, np.float32).reshape(-1, 4), conf, cls)
    d.data.update({k: np.asarray(v) for k, v in data.items()})
    return d


def batch(frames: list[tuple[int, int, list]], infer_done: bool = True) -> BatchMeta:
    """A BatchMeta of ``(source_id, frame_num, [(xyxy, class_id, label, conf), ...])`` frames, 640x480."""
    bm = BatchMeta(max_frames_in_batch=len(frames))
    for i, (src, fnum, objs) in enumerate(frames):
        fm = new_frame_meta(src, fnum, fnum * 40_000_000, 640, 480)
        fm.batch_id = i
        fm.bInferDone = int(infer_done)
        for xyxy, cls, label, conf in objs:
            x1, y1, x2, y2 = xyxy
            fm.add_obj_meta(make_object(x1, y1, x2 - x1, y2 - y1, class_id=cls, confidence=conf, label=label))
        bm.frame_meta_list.append(fm)
    return bm


@pytest.fixture
def mot_dir() -> Path:
    return MOT
