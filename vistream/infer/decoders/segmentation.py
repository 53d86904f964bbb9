"""Semantic segmentation decoder: per-pixel argmax over the class axis (NCHW or NHWC output)."""

from __future__ import annotations

import cv2
import numpy as np


def class_axis(shape: tuple[int, ...], num_classes: int, order: int) -> int:
    """0 for CHW, 2 for HWC. ``order`` is ``segmentation-output-order`` (-1: guess from ``num_classes`` or
    from which end is the smaller dimension)."""
    if len(shape) != 3:
        raise ValueError(f"segmentation output must be rank 3 per image (CHW or HWC); got {list(shape)}")
    if order in (0, 1):
        return 0 if order == 0 else 2
    if num_classes:
        if shape[2] == num_classes and shape[0] != num_classes:
            return 2
        if shape[0] == num_classes:
            return 0
    return 2 if shape[2] < shape[0] else 0


def argmax_max(out: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel (argmax, max) over the class axis (0 or 2) of a rank-3 tensor; ties go to the lowest class.

    Works on whole class planes with OpenCV (split, max, compare): about twice as fast as ``np.argmax`` along a
    short last axis, and it yields the max too.
    """
    c = out.shape[axis]
    if c > 255 or out.dtype not in (np.float32, np.float64):
        idx = np.argmax(out, axis=axis)
        return idx.astype(np.int32), np.take_along_axis(out, np.expand_dims(idx, axis), axis=axis).squeeze(axis)
    planes = cv2.split(np.ascontiguousarray(out)) if axis == 2 else [np.ascontiguousarray(p) for p in out]
    best = planes[0].copy()
    for p in planes[1:]:
        cv2.max(best, p, dst=best)
    idx = np.zeros(best.shape, np.uint8)
    for k in range(c - 1, -1, -1):  # descending, so the lowest class wins a tie
        differs = cv2.compare(planes[k], best, cv2.CMP_NE)  # 255 where plane k is not the max
        cv2.bitwise_and(idx, differs, dst=idx)
        idx |= cv2.bitwise_not(differs) & k
    return idx.astype(np.int32), best


def decode_segmentation(out: np.ndarray, axis: int, threshold: float) -> np.ndarray:
    """``(H, W)`` int32 class map; pixels whose best score is below ``threshold`` get -1 (as in DeepStream)."""
    cls, best = argmax_max(out, axis)
    cls[best < threshold] = -1
    return cls
