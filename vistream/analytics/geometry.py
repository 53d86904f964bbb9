"""Vectorised 2-D geometry for the analytics rules: point-in-polygon, side of a line, segment crossing."""

from __future__ import annotations

import numpy as np


def bottom_centres(ltwh: np.ndarray) -> np.ndarray:
    """``(N, 2)`` bottom-centre points ``(left + width / 2, top + height)`` of ``(N, 4)`` boxes, as DeepStream."""
    b = np.asarray(ltwh, np.float64).reshape(-1, 4)
    return np.stack([b[:, 0] + b[:, 2] / 2.0, b[:, 1] + b[:, 3]], axis=1)


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Boolean ``(N,)``: which ``points`` lie inside ``polygon`` ``(M, 2)`` (even-odd rule).

    Points on an edge or vertex count as inside, so a point on the border of two adjacent ROIs is in both.
    """
    p = np.asarray(points, np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, np.float64).reshape(-1, 2)
    if len(p) == 0:
        return np.zeros(0, bool)
    a = poly[None, :, :]  # (1, M, 2) edge starts
    b = np.roll(poly, -1, axis=0)[None, :, :]  # edge ends
    px, py = p[:, None, 0], p[:, None, 1]
    ax, ay, bx, by = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    straddles = (ay > py) != (by > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = ax + (py - ay) * (bx - ax) / (by - ay)
    inside = np.count_nonzero(straddles & (px < x_cross), axis=1) % 2 == 1
    # On-edge test: collinear with the edge and within its bounding box.
    cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    scale = np.maximum(np.abs(bx - ax) + np.abs(by - ay), 1e-12)
    on_edge = (np.abs(cross) / scale <= 1e-9) & (px >= np.minimum(ax, bx) - 1e-9) & (px <= np.maximum(ax, bx) + 1e-9) \
        & (py >= np.minimum(ay, by) - 1e-9) & (py <= np.maximum(ay, by) + 1e-9)
    return inside | on_edge.any(axis=1)


def side_of_line(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Signed ``(N,)`` cross product ``(b - a) x (p - a)``: > 0 on one side, < 0 on the other, 0 on the line."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    return (b[0] - a[0]) * (p[:, 1] - a[1]) - (b[1] - a[1]) * (p[:, 0] - a[0])


def crossing_param(p0: np.ndarray, p1: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where the moves ``p0 → p1`` ``(N, 2)`` meet the infinite line through ``a, b``, as the parameter ``t``
    along ``a → b`` (0 at ``a``, 1 at ``b``); NaN for a move parallel to the line."""
    p0 = np.asarray(p0, np.float64).reshape(-1, 2)
    p1 = np.asarray(p1, np.float64).reshape(-1, 2)
    r = p1 - p0
    s = b - a
    denom = r[:, 0] * s[1] - r[:, 1] * s[0]
    q = p0 - a
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (q[:, 0] * r[:, 1] - q[:, 1] * r[:, 0]) / -denom
    return np.where(np.abs(denom) < 1e-12, np.nan, t)


def angles_deg(vectors: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Angle in degrees ``[0, 180]`` between each of ``vectors`` ``(N, 2)`` and ``reference`` ``(2,)``;
    NaN for a zero vector."""
    v = np.asarray(vectors, np.float64).reshape(-1, 2)
    ref = np.asarray(reference, np.float64)
    norms = np.linalg.norm(v, axis=1) * np.linalg.norm(ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = (v @ ref) / norms
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
