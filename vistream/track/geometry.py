"""Vectorised box geometry: pairwise IoU and size similarity, box format conversions."""

from __future__ import annotations

import numpy as np


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``a (N,4)`` and ``b (M,4)`` boxes in ``x1,y1,x2,y2``; returns ``(N, M)`` float64."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    # (N, M, 2) overlap widths and heights in one go: a handful of NumPy calls whatever N and M (the tracker
    # calls this for a few boxes per frame and stream, where call count, not arithmetic, is the cost)
    wh = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh -= np.maximum(a[:, None, :2], b[None, :, :2])
    np.maximum(wh, 0.0, out=wh)
    inter = wh[..., 0] * wh[..., 1]
    sa, sb = a[:, 2:] - a[:, :2], b[:, 2:] - b[:, :2]
    union = (sa[:, 0] * sa[:, 1])[:, None] + (sb[:, 0] * sb[:, 1])[None, :] - inter
    return inter / np.maximum(union, 1e-12)


def size_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise size similarity in [0, 1]: ``min(w)/max(w) * min(h)/max(h)`` (1 for equal sizes)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    wa, ha = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    wb, hb = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    w = np.minimum(wa[:, None], wb[None, :]) / np.maximum(np.maximum(wa[:, None], wb[None, :]), 1e-12)
    h = np.minimum(ha[:, None], hb[None, :]) / np.maximum(np.maximum(ha[:, None], hb[None, :]), 1e-12)
    return w * h


def xyxy_to_cxcywh(b: np.ndarray) -> np.ndarray:
    b = np.asarray(b, np.float64)
    return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)


def cxcywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    half_w, half_h = b[:, 2] / 2, b[:, 3] / 2
    return np.stack([b[:, 0] - half_w, b[:, 1] - half_h, b[:, 0] + half_w, b[:, 1] + half_h], 1)


def clip_xyxy(b: np.ndarray, width: float, height: float) -> np.ndarray:
    """Clip boxes to the frame ``[0, width] x [0, height]``."""
    # two ufunc calls rather than np.clip per column pair: the same values (NaN stays NaN) without np.clip's
    # per-call dispatch cost, which is most of the time for the few boxes of a frame
    out = np.maximum(b, 0)
    np.minimum(out, np.array([width, height, width, height], out.dtype), out=out)
    return out
