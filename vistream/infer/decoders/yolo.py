"""YOLO family decoders.

- ``yolox``: raw grid output ``[N, 5+C]`` over strides 8/16/32 (grid x fastest): ``cx,cy = (t_xy + grid) *
  stride``, ``w,h = exp(t_wh) * stride``; objectness and class scores already sigmoided.
- ``yolov5``: decoded ``[N, 5+C]`` = cx, cy, w, h (network pixels), objectness, class scores.
- ``yolov8``: decoded ``[4+C, N]`` (or ``[N, 4+C]``) = cx, cy, w, h, class scores (no objectness).
- ``yolo_nms``: models with NMS built in: ``[K, 6]`` (x1, y1, x2, y2, score, class), ``[K, 7]`` (batch index
  first), or the four EfficientNMS outputs ``num_dets``, ``det_boxes``, ``det_scores``, ``det_classes``.

Score is ``objectness * best class score`` (best class per anchor). Use ``cluster-mode=2`` (NMS) with the
first three and ``cluster-mode=4`` with ``yolo_nms``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from vistream.infer.types import NetworkInfo

STRIDES = (8, 16, 32)


def yolox_anchor_count(net: NetworkInfo, strides: tuple[int, ...] = STRIDES) -> int:
    return sum((net.height // s) * (net.width // s) for s in strides)


@lru_cache(maxsize=16)
def _yolox_grid(width: int, height: int, strides: tuple[int, ...] = STRIDES) -> tuple[np.ndarray, np.ndarray]:
    grids, st = [], []
    for s in strides:
        gw, gh = width // s, height // s
        xv, yv = np.meshgrid(np.arange(gw), np.arange(gh))
        grids.append(np.stack([xv, yv], axis=-1).reshape(-1, 2))
        st.append(np.full((gw * gh, 1), s))
    return np.concatenate(grids).astype(np.float32), np.concatenate(st).astype(np.float32)


def _single(outputs: Mapping[str, np.ndarray], what: str) -> np.ndarray:
    if len(outputs) != 1:
        raise ValueError(f"{what} decoder needs one output tensor; got {list(outputs)}")
    (out,) = outputs.values()
    if out.ndim == 3 and out.shape[0] == 1:
        out = out[0]
    if out.ndim != 2:
        raise ValueError(f"{what} decoder needs a rank-2 output per image; got shape {list(out.shape)}")
    return out


def _best_class(obj: np.ndarray | None, cls_scores: np.ndarray, min_score: float):
    cls = np.argmax(cls_scores, axis=1)
    score = cls_scores[np.arange(len(cls)), cls]
    if obj is not None:
        score = score * obj
    return cls, score, score >= min_score


def _cxcywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    half = b[:, 2:4] * 0.5
    return np.concatenate([b[:, :2] - half, b[:, :2] + half], axis=1).astype(np.float32)


def _check_classes(k: int, num_classes: int, what: str) -> None:
    if num_classes and k != num_classes:
        raise ValueError(f"{what} output has {k} class scores but num-detected-classes={num_classes}")


def decode_yolox(outputs: Mapping[str, np.ndarray], net: NetworkInfo, num_classes: int, min_score: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    out = _single(outputs, "YOLOX")
    grid, stride = _yolox_grid(net.width, net.height)
    if len(out) != len(grid):
        raise ValueError(f"YOLOX output has {len(out)} anchors; a {net.width}x{net.height} input with strides "
                         f"{STRIDES} gives {len(grid)}")
    _check_classes(out.shape[1] - 5, num_classes, "YOLOX")
    # score = obj * cls <= obj: anchors with a low objectness cannot pass, skip their class argmax
    pre = np.nonzero(out[:, 4] >= min_score)[0]
    out, grid, stride = out[pre], grid[pre], stride[pre]
    cls, score, m = _best_class(out[:, 4], out[:, 5:], min_score)
    o = out[m]
    b = np.empty((len(o), 4), np.float32)
    b[:, :2] = (o[:, :2] + grid[m]) * stride[m]
    b[:, 2:] = np.exp(o[:, 2:4]) * stride[m]
    return _cxcywh_to_xyxy(b), score[m].astype(np.float32), cls[m].astype(np.int64)


def decode_yolov5(outputs: Mapping[str, np.ndarray], net: NetworkInfo, num_classes: int, min_score: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    out = _single(outputs, "YOLOv5")
    _check_classes(out.shape[1] - 5, num_classes, "YOLOv5")
    out = out[out[:, 4] >= min_score]
    cls, score, m = _best_class(out[:, 4], out[:, 5:], min_score)
    return _cxcywh_to_xyxy(out[m, :4]), score[m].astype(np.float32), cls[m].astype(np.int64)


def decode_yolov8(outputs: Mapping[str, np.ndarray], net: NetworkInfo, num_classes: int, min_score: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    out = _single(outputs, "YOLOv8")
    if num_classes:
        if out.shape[0] == 4 + num_classes and out.shape[1] != 4 + num_classes:
            out = out.T
    elif out.shape[0] < out.shape[1]:
        out = out.T
    _check_classes(out.shape[1] - 4, num_classes, "YOLOv8")
    cls, score, m = _best_class(None, out[:, 4:], min_score)
    return _cxcywh_to_xyxy(out[m, :4]), score[m].astype(np.float32), cls[m].astype(np.int64)


def decode_yolo_nms(outputs: Mapping[str, np.ndarray], net: NetworkInfo, num_classes: int, min_score: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(outputs) == 4:
        by = {k.lower(): v for k, v in outputs.items()}

        def pick(*words: str) -> np.ndarray:
            for k, v in by.items():
                if any(w in k for w in words):
                    return v
            raise ValueError(f"YOLO-NMS decoder: no output named like {words}; got {list(outputs)}")
        n = int(np.asarray(pick("num")).reshape(-1)[0])
        boxes = pick("box")[:n].reshape(-1, 4).astype(np.float32)
        scores = pick("score")[:n].reshape(-1).astype(np.float32)
        cls = pick("class", "label")[:n].reshape(-1).astype(np.int64)
    else:
        out = _single(outputs, "YOLO-NMS")
        if out.shape[1] == 7:  # batch index, x1, y1, x2, y2, score, class (some exporters: class, score)
            out = out[:, 1:]
        if out.shape[1] != 6:
            raise ValueError(f"YOLO-NMS decoder needs [K,6] or [K,7] rows; got {list(out.shape)}")
        boxes, scores, cls = out[:, :4].astype(np.float32), out[:, 4].astype(np.float32), out[:, 5].astype(np.int64)
    m = scores >= min_score
    return boxes[m], scores[m], cls[m]
