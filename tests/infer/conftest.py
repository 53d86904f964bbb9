"""Shared helpers for the nvinfer library tests: real frames decoded with PyAV, batches, reference NMS."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import av
import numpy as np
import pytest

from vistream.infer import InferEngine
from vistream.meta import BatchMeta, new_frame_meta

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "samples" / "models"
CONFIGS = ROOT / "samples" / "configs"
VIDEOS = ROOT / "samples" / "videos"
PGIE = CONFIGS / "config_infer_primary_yoloX.txt"
SGIE_CLS = CONFIGS / "config_infer_secondary_vehicle_classifier.txt"
SGIE_FACE = CONFIGS / "config_infer_secondary_facedetect.txt"
SEG = CONFIGS / "config_infer_segmentation.txt"
TRAFFIC = VIDEOS / "traffic_overhead_640x360.mp4"
PEOPLE = VIDEOS / "people_walkway_800x450.mp4"


@lru_cache(maxsize=8)
def _decode(path: str, indices: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    out: dict[int, np.ndarray] = {}
    with av.open(path) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i in indices:
                out[i] = f.to_ndarray(format="rgb24")
            if i >= max(indices):
                break
    return tuple(out[i] for i in indices)


def frames(path: Path, *indices: int) -> list[np.ndarray]:
    """RGB frames ``indices`` (0-based) of a video, decoded with PyAV."""
    return [f.copy() for f in _decode(str(path), tuple(indices))]


def make_batch(images: list[np.ndarray], source_ids: list[int] | None = None, frame_num: int = 0) -> BatchMeta:
    bm = BatchMeta(max_frames_in_batch=len(images))
    for i, img in enumerate(images):
        sid = source_ids[i] if source_ids else i
        fm = new_frame_meta(sid, frame_num, 0, img.shape[1], img.shape[0])
        fm.batch_id = i
        bm.frame_meta_list.append(fm)
    return bm


def ref_nms(xyxy: np.ndarray, scores: np.ndarray, iou_thr: float) -> list[int]:
    """Textbook greedy NMS (no +1 on widths), highest score first."""
    order = list(np.argsort(-scores, kind="stable"))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        rest = []
        for j in order:
            xx1, yy1 = max(xyxy[i, 0], xyxy[j, 0]), max(xyxy[i, 1], xyxy[j, 1])
            xx2, yy2 = min(xyxy[i, 2], xyxy[j, 2]), min(xyxy[i, 3], xyxy[j, 3])
            inter = max(0.0, xx2 - xx1) * max(0.0, yy2 - yy1)
            a = (xyxy[i, 2] - xyxy[i, 0]) * (xyxy[i, 3] - xyxy[i, 1])
            b = (xyxy[j, 2] - xyxy[j, 0]) * (xyxy[j, 3] - xyxy[j, 1])
            if inter / (a + b - inter) <= iou_thr:
                rest.append(j)
        order = rest
    return keep


def assert_same_objects(got: list[tuple[int, float, tuple]], want: list[tuple[int, float, tuple]]) -> None:
    """Same classes, scores within 1e-3 and boxes within 1 px; both lists sorted by (class, -score)."""
    got = sorted(got, key=lambda t: (t[0], -t[1]))
    want = sorted(want, key=lambda t: (t[0], -t[1]))
    assert [g[0] for g in got] == [w[0] for w in want]
    for g, w in zip(got, want, strict=True):
        assert abs(g[1] - w[1]) < 1e-3, (g, w)
        assert np.abs(np.asarray(g[2]) - np.asarray(w[2])).max() <= 1.0, (g, w)


@pytest.fixture(scope="session")
def pgie() -> InferEngine:
    return InferEngine(PGIE, threads=1)


@pytest.fixture(scope="session")
def ort_session():
    import onnxruntime as ort

    cache = {}

    def get(name: str):
        if name not in cache:
            so = ort.SessionOptions()
            so.intra_op_num_threads = 1
            cache[name] = ort.InferenceSession(str(MODELS / name), so, providers=["CPUExecutionProvider"])
        return cache[name]
    return get
