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


def _random_frames(rng, n_frames, rounded):
    per = []
    for _ in range(n_frames):
        n = int(rng.integers(0, 30))
        c, wh = rng.normal(200, 60, (n, 2)), rng.uniform(10, 80, (n, 2))
        scores = rng.uniform(0, 1, n).astype(np.float32)
        per.append((np.concatenate([c - wh / 2, c + wh / 2], 1).astype(np.float32),
                    np.round(scores, 1) if rounded else scores, rng.integers(0, 4, n)))
    return per


def test_cluster_batch_equals_cluster_frame_by_frame():
    """Every cluster mode, per-class thresholds, topk, filter-out, equal scores: a batch clustered at once gives
    each frame exactly the boxes, scores, classes and order of cluster() on that frame alone."""
    from vistream.infer.cluster import cluster_batch

    rng = np.random.default_rng(0)
    checked = 0
    for trial in range(150):
        cfg = InferConfig()
        cfg.cluster_mode = trial % 5
        cfg.class_attrs_all = ClassAttrs(pre_cluster_threshold=0.3, nms_iou_threshold=0.45, topk=(-1, 2, 5)[trial % 3],
                                         eps=0.3, group_threshold=1, minBoxes=1)
        cfg.class_attrs_by_id = {1: ClassAttrs(pre_cluster_threshold=0.5, post_cluster_threshold=0.6,
                                               nms_iou_threshold=0.3, topk=3, eps=0.2, minBoxes=2)}
        cfg.filter_out_class_ids = [2] if trial % 4 == 0 else []
        per = _random_frames(rng, int(rng.integers(1, 9)), rounded=trial % 5 == 0)
        frame = np.repeat(np.arange(len(per)), [len(p[1]) for p in per])
        b, s, c, f = cluster_batch(np.concatenate([p[0] for p in per]), np.concatenate([p[1] for p in per]),
                                   np.concatenate([p[2] for p in per]), frame, cfg)
        assert np.all(np.diff(f) >= 0)
        for k, (xyxy, scores, cls) in enumerate(per):
            rb, rs, rc = cluster(xyxy, scores, cls, cfg)
            m = f == k
            assert np.array_equal(rb, b[m]) and np.array_equal(rs, s[m]) and np.array_equal(rc, c[m]), (trial, k)
            checked += len(rs)
    assert checked > 500


def test_nms_keeps_boxes_with_negative_or_zero_scores():
    boxes = np.array([[0, 0, 10, 10], [50, 50, 60, 60], [100, 100, 110, 110]], np.float32)
    assert sorted(nms(boxes, np.array([-0.5, 0.0, 0.2], np.float32), 0.5).tolist()) == [0, 1, 2]
