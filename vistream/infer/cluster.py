"""Per-class clustering of raw detector boxes (``cluster-mode``), in network-input pixels.

0 groupRectangles (OpenCV), 1 DBSCAN, 2 NMS (OpenCV ``cv2.dnn.NMSBoxes``), 3 DBSCAN then NMS, 4 none. Each class
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


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` (N,4 xyxy) with every box of ``b`` (M,4)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy NMS (highest score first), via OpenCV."""
    if len(xyxy) == 0:
        return np.zeros(0, np.int64)
    ltwh = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1).astype(np.float64)
    s = scores.astype(np.float64)
    s = s - min(0.0, float(s.min()))  # OpenCV wants scores >= 0; a shift keeps the order
    keep = cv2.dnn.NMSBoxes(ltwh.tolist(), s.tolist(), 0.0, float(iou_threshold))
    return np.asarray(keep, np.int64).reshape(-1)


def dbscan(xyxy: np.ndarray, scores: np.ndarray, eps: float, min_boxes: int) -> tuple[np.ndarray, np.ndarray]:
    """DBSCAN with distance ``1 - IoU``: clusters of ``>= min_boxes`` boxes within ``eps``.

    Each cluster becomes one box: the score-weighted mean of its members, with the members' highest score.
    Noise boxes are dropped.
    """
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
    """OpenCV ``groupRectangles``; each output box takes the highest score of the inputs overlapping it most."""
    if len(xyxy) == 0:
        return xyxy, scores
    rects = np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1).round().astype(np.int32)
    grouped, _ = cv2.groupRectangles(rects.tolist(), int(group_threshold), float(eps))
    grouped = np.asarray(grouped, np.float32).reshape(-1, 4)
    if len(grouped) == 0:
        return grouped, np.zeros(0, np.float32)
    out = grouped.copy()
    out[:, 2:] += out[:, :2]
    iou = iou_matrix(out, xyxy)
    members = iou >= np.minimum(0.5, iou.max(axis=1, keepdims=True))
    conf = np.where(members, scores[None, :], 0.0).max(axis=1)
    return out, conf.astype(np.float32)


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
