"""Clustering modes on hand-made boxes."""

from __future__ import annotations

import numpy as np

from vistream.infer.cluster import cluster, dbscan, group_rectangles, nms
from vistream.infer.config import ClassAttrs, InferConfig

from .conftest import ref_nms


def test_nms_matches_textbook_greedy():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 200, (60, 2))
    wh = rng.uniform(20, 80, (60, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    scores = rng.uniform(0, 1, 60).astype(np.float32)
    for thr in (0.3, 0.5, 0.7):
        assert sorted(nms(boxes, scores, thr).tolist()) == sorted(ref_nms(boxes, scores, thr))


CLUSTER_BOXES = np.array([[10, 10, 50, 50], [12, 11, 52, 49], [9, 10, 49, 51],  # tight cluster of three
                          [200, 200, 240, 260],  # a lone box
                          [100, 100, 140, 140], [101, 100, 141, 141]], np.float32)  # a pair
CLUSTER_SCORES = np.array([0.9, 0.6, 0.3, 0.95, 0.8, 0.7], np.float32)


def test_dbscan_min_boxes_and_weighted_mean():
    boxes, scores = dbscan(CLUSTER_BOXES, CLUSTER_SCORES, eps=0.2, min_boxes=3)
    assert len(boxes) == 1  # the lone box and the pair are noise
    w = CLUSTER_SCORES[:3]
    assert np.allclose(boxes[0], (CLUSTER_BOXES[:3] * w[:, None]).sum(0) / w.sum(), atol=1e-4)
    assert scores[0] == np.float32(0.9)
    boxes2, _ = dbscan(CLUSTER_BOXES, CLUSTER_SCORES, eps=0.2, min_boxes=2)
    assert len(boxes2) == 2


def test_group_rectangles_threshold_and_eps():
    boxes, scores = group_rectangles(CLUSTER_BOXES, CLUSTER_SCORES, group_threshold=1, eps=0.2)
    # groups need more than one member: the triple and the pair survive, the lone box does not
    assert len(boxes) == 2
    order = np.argsort(boxes[:, 0])
    assert np.allclose(boxes[order[0]], CLUSTER_BOXES[:3].mean(0), atol=1e-4)
    assert np.allclose(boxes[order[1]], CLUSTER_BOXES[4:].mean(0), atol=1e-4)
    assert np.allclose(scores[order], [0.9, 0.8])
    b2, _ = group_rectangles(CLUSTER_BOXES, CLUSTER_SCORES, group_threshold=2, eps=0.2)
    assert len(b2) == 1
    b3, _ = group_rectangles(CLUSTER_BOXES, CLUSTER_SCORES, group_threshold=1, eps=0.01)
    assert len(b3) == 0  # nothing is that similar
    b0, s0 = group_rectangles(CLUSTER_BOXES, CLUSTER_SCORES, group_threshold=0, eps=0.2)
    assert len(b0) == 6 and np.array_equal(s0, CLUSTER_SCORES)


def test_cluster_per_class_attrs_topk_post_threshold_and_filter_out():
    cfg = InferConfig(cluster_mode=2, filter_out_class_ids=[3])
    cfg.class_attrs_all = ClassAttrs(pre_cluster_threshold=0.25, nms_iou_threshold=0.5)
    cfg.class_attrs_by_id[1] = ClassAttrs(pre_cluster_threshold=0.25, nms_iou_threshold=0.5, topk=1)
    cfg.class_attrs_by_id[2] = ClassAttrs(pre_cluster_threshold=0.1, post_cluster_threshold=0.85)
    boxes = np.concatenate([CLUSTER_BOXES] * 4)
    scores = np.concatenate([CLUSTER_SCORES] * 4)
    cls = np.repeat([0, 1, 2, 3], 6)
    b, s, c = cluster(boxes, scores, cls, cfg)
    assert c.tolist() == [0, 0, 0, 1, 2, 2]
    assert np.allclose(s, [0.95, 0.9, 0.8, 0.95, 0.95, 0.9])
    cfg.cluster_mode = 4
    _, _, c4 = cluster(boxes, scores, cls, cfg)
    assert np.bincount(c4).tolist() == [6, 1, 2]  # no clustering: only thresholds, topk, filter-out
