"""Per-class clustering of raw detector boxes (``cluster-mode``), in network-input pixels.

0 groupRectangles (OpenCV's algorithm), 1 DBSCAN, 2 NMS (OpenCV ``cv2.dnn.NMSBoxes``), 3 DBSCAN then NMS, 4 none. Each class
uses its own ``[class-attrs-<id>]`` (``pre-cluster-threshold``, ``nms-iou-threshold``, ``eps``, ``minBoxes``,
``group-threshold``, ``post-cluster-threshold``, ``topk``).
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from vistream.infer.config import (
    CLUSTER_DBSCAN,
    CLUSTER_DBSCAN_NMS,
    CLUSTER_GROUP_RECTANGLES,
    CLUSTER_NMS,
    ClassAttrs,
    InferConfig,
)


def nms(xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy NMS (highest score first), via OpenCV."""
    if len(xyxy) == 0:
        return np.zeros(0, np.int64)
    ltwh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1).astype(np.float64)
    keep = cv2.dnn.NMSBoxes(ltwh.tolist(), _positive(scores).tolist(), 0.0, float(iou_threshold))
    return np.asarray(keep, np.int64).reshape(-1)


def _positive(scores: np.ndarray) -> np.ndarray:
    """Scores shifted above 0 when any is <= 0: OpenCV keeps only scores > its threshold (>= 0); a shift keeps
    the order."""
    s = scores.astype(np.float64)
    lo = float(s.min()) if len(s) else 1.0
    return s - lo + 1.0 if lo <= 0 else s


def nms_batched(xyxy: np.ndarray, scores: np.ndarray, groups: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS within each group (e.g. one per frame and class) in one OpenCV call: indices kept, highest
    score first; the same boxes as :func:`nms` group by group."""
    if len(xyxy) == 0:
        return np.zeros(0, np.int64)
    ltwh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1).astype(np.float64)
    keep = cv2.dnn.NMSBoxesBatched(ltwh, _positive(scores), groups.astype(np.int32), 0.0, float(iou_threshold))
    return np.asarray(keep, np.int64).reshape(-1)


def dbscan(xyxy: np.ndarray, scores: np.ndarray, eps: float, min_boxes: int) -> tuple[np.ndarray, np.ndarray]:
    """DBSCAN with distance ``1 - IoU``: clusters of ``>= min_boxes`` boxes within ``eps``.

    Each cluster becomes one box: the score-weighted mean of its members, with the members' highest score.
    Noise boxes are dropped.
    """
    from vistream.track.geometry import iou_matrix  # one IoU for clustering and tracking (imported here:
    # vistream.track is not otherwise needed by a pipeline that only infers)

    n = len(xyxy)
    if n == 0:
        return xyxy[:0], scores[:0]
    near = (1.0 - iou_matrix(xyxy, xyxy)) <= eps
    core = near.sum(axis=1) >= max(1, min_boxes)
    # Clusters = connected components of core points; border points join a neighbouring core's cluster.
    _, comp = connected_components(csr_matrix(near & core[:, None] & core[None, :]), directed=False)
    label = np.where(core, comp, -1)
    border = ~core & (near & core[None, :]).any(axis=1)
    if border.any():
        first_core = np.argmax(near[border] & core[None, :], axis=1)
        label[border] = comp[first_core]
    boxes, confs = [], []
    for c in np.unique(label[label >= 0]):
        m = label == c
        w = scores[m]
        boxes.append((xyxy[m] * w[:, None]).sum(0) / max(w.sum(), 1e-12))
        confs.append(w.max())
    if not boxes:
        return xyxy[:0], scores[:0]
    return np.asarray(boxes, np.float32), np.asarray(confs, np.float32)


def group_rectangles(xyxy: np.ndarray, scores: np.ndarray, group_threshold: int, eps: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV's ``groupRectangles`` algorithm, vectorised (OpenCV 5's Python package no longer ships it).

    Boxes are "similar" when every edge differs by at most ``eps * (min widths + min heights) / 2``; similar
    boxes are grouped transitively, groups of ``<= group_threshold`` boxes are dropped, each group becomes
    its mean box with its members' highest score, and groups lying inside a stronger group are dropped.
    ``group_threshold <= 0`` returns the boxes unchanged (as OpenCV does).
    """
    n = len(xyxy)
    if n == 0 or group_threshold <= 0:
        return xyxy, scores
    w, h = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
    delta = eps * (np.minimum(w[:, None], w[None, :]) + np.minimum(h[:, None], h[None, :])) * 0.5
    similar = np.all(np.abs(xyxy[:, None, :] - xyxy[None, :, :]) <= delta[:, :, None], axis=2)
    k, label = connected_components(csr_matrix(similar), directed=False)
    counts = np.bincount(label, minlength=k)
    mean = np.zeros((k, 4), np.float64)
    np.add.at(mean, label, xyxy)
    mean /= counts[:, None]
    best = np.zeros(k, np.float32)
    np.maximum.at(best, label, scores)
    strong = counts > group_threshold
    # A group inside a (slightly enlarged) other strong group is dropped when that group is clearly stronger.
    mw, mh = mean[:, 2] - mean[:, 0], mean[:, 3] - mean[:, 1]
    dx, dy = (mw * eps)[None, :], (mh * eps)[None, :]
    inside = ((mean[:, None, 0] >= mean[None, :, 0] - dx) & (mean[:, None, 1] >= mean[None, :, 1] - dy)
              & (mean[:, None, 2] <= mean[None, :, 2] + dx) & (mean[:, None, 3] <= mean[None, :, 3] + dy))
    stronger = (counts[None, :] > np.maximum(3, counts)[:, None]) | (counts[:, None] < 3)
    covered = inside & stronger & strong[None, :] & ~np.eye(k, dtype=bool)
    keep = strong & ~covered.any(axis=1)
    return mean[keep].astype(np.float32), best[keep]


def cluster_class(xyxy: np.ndarray, scores: np.ndarray, mode: int, attrs: ClassAttrs) -> tuple[np.ndarray, np.ndarray]:
    """Cluster the boxes of one class that already passed ``pre-cluster-threshold``."""
    if mode == CLUSTER_NMS:
        keep = nms(xyxy, scores, attrs.nms_iou_threshold)
        xyxy, scores = xyxy[keep], scores[keep]
    elif mode in (CLUSTER_DBSCAN, CLUSTER_DBSCAN_NMS):
        xyxy, scores = dbscan(xyxy, scores, attrs.eps, attrs.minBoxes)
        if attrs.dbscan_min_score > 0:
            m = scores >= attrs.dbscan_min_score
            xyxy, scores = xyxy[m], scores[m]
        if mode == CLUSTER_DBSCAN_NMS:
            keep = nms(xyxy, scores, attrs.nms_iou_threshold)
            xyxy, scores = xyxy[keep], scores[keep]
    elif mode == CLUSTER_GROUP_RECTANGLES:
        xyxy, scores = group_rectangles(xyxy, scores, attrs.group_threshold, attrs.eps)
    order = np.argsort(-scores, kind="stable")
    return xyxy[order], scores[order]


def cluster(xyxy: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, cfg: InferConfig
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply ``pre-cluster-threshold``, ``filter-out-class-ids``, the cluster mode, ``post-cluster-threshold``
    and ``topk`` class by class. Returns boxes (network pixels), scores and class ids."""
    out_b, out_s, out_c = [], [], []
    drop = set(cfg.filter_out_class_ids)
    for c in np.unique(class_ids):
        c = int(c)
        if c in drop:
            continue
        attrs = cfg.class_attrs(c)
        m = (class_ids == c) & (scores >= attrs.pre_cluster_threshold)
        if not m.any():
            continue
        b, s = cluster_class(xyxy[m].astype(np.float32), scores[m].astype(np.float32), cfg.cluster_mode, attrs)
        keep = s >= attrs.post_cluster_threshold
        b, s = b[keep], s[keep]
        if attrs.topk > 0:
            b, s = b[:attrs.topk], s[:attrs.topk]
        out_b.append(b)
        out_s.append(s)
        out_c.append(np.full(len(s), c, np.int64))
    if not out_b:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    return np.concatenate(out_b), np.concatenate(out_s), np.concatenate(out_c)


def cluster_batch(xyxy: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, frame: np.ndarray, cfg: InferConfig
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`cluster` for the boxes of a whole batch at once (``frame``: each box's frame index): the same
    result frame by frame, in a handful of array operations instead of a few per frame and class (NMS for
    every frame and class of one ``nms-iou-threshold`` is one OpenCV call). Returns boxes, scores, class ids
    and frame indices, ordered by frame, then class, then descending score, as :func:`cluster` orders each
    frame."""
    class_ids = class_ids.astype(np.int64, copy=False)
    frame = frame.astype(np.int64, copy=False)
    if len(scores) == 0:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)
    present = np.unique(class_ids)
    attrs = {int(c): cfg.class_attrs(int(c)) for c in present}
    drop = set(cfg.filter_out_class_ids)
    lut = {name: np.array([getattr(attrs[int(c)], name) for c in present]) for name in
           ("pre_cluster_threshold", "post_cluster_threshold", "topk", "nms_iou_threshold")}
    pos = np.searchsorted(present, class_ids)  # each box's class, as an index into ``present``
    keep = scores >= lut["pre_cluster_threshold"][pos]
    if drop:
        keep &= ~np.isin(class_ids, list(drop))
    xyxy, scores = xyxy[keep].astype(np.float32), scores[keep].astype(np.float32)
    class_ids, frame, pos = class_ids[keep], frame[keep], pos[keep]
    n_cls = len(present)
    groups = frame * n_cls + pos
    mode = cfg.cluster_mode
    if mode == CLUSTER_NMS:
        kept = []
        iou = lut["nms_iou_threshold"][pos]
        for thr in np.unique(iou):  # one call per distinct nms-iou-threshold (usually one)
            idx = np.flatnonzero(iou == thr)
            kept.append(idx[nms_batched(xyxy[idx], scores[idx], groups[idx], float(thr))])
        sel = np.concatenate(kept) if len(kept) > 1 else kept[0]
        xyxy, scores, class_ids, frame, pos = xyxy[sel], scores[sel], class_ids[sel], frame[sel], pos[sel]
    elif mode in (CLUSTER_DBSCAN, CLUSTER_DBSCAN_NMS, CLUSTER_GROUP_RECTANGLES):
        out_b, out_s, out_g = [], [], []
        for g in np.unique(groups):  # merging boxes: group by group
            m = groups == g
            b, sc = cluster_class(xyxy[m], scores[m], mode, attrs[int(present[g % n_cls])])
            out_b.append(b)
            out_s.append(sc)
            out_g.append(np.full(len(sc), g, np.int64))
        xyxy = np.concatenate(out_b).astype(np.float32) if out_b else np.zeros((0, 4), np.float32)
        scores = np.concatenate(out_s).astype(np.float32) if out_s else np.zeros(0, np.float32)
        groups = np.concatenate(out_g) if out_g else np.zeros(0, np.int64)
        frame, pos = groups // n_cls, groups % n_cls
        class_ids = present[pos]
    order = np.lexsort((-scores, pos, frame))  # stable: equal scores keep the clustering's order
    xyxy, scores, class_ids, frame, pos = xyxy[order], scores[order], class_ids[order], frame[order], pos[order]
    keep = scores >= lut["post_cluster_threshold"][pos]
    topk = lut["topk"][pos]
    if (topk > 0).any():
        g = frame * n_cls + pos
        first = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
        sizes = np.diff(np.r_[first, len(g)])
        passed = keep.astype(np.int64)  # topk counts the boxes that passed post-cluster-threshold, as cluster()
        before = np.cumsum(passed) - passed
        rank = before - np.repeat(before[first], sizes)
        keep &= (topk <= 0) | (rank < topk)
    return xyxy[keep], scores[keep], class_ids[keep], frame[keep]
