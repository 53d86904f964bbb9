"""Tracker behaviour on synthetic scenes with exact boxes: occlusions, crossings, low-confidence rescue."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vistream.track import ByteTracker, DeepSORTTracker, SORTTracker, parse_tracker_config
from vistream.track.algorithms import assign
from vistream.track.geometry import iou_matrix

from .conftest import box, dets, sort_config


def run(tracker, frames):
    """Feed per-frame box lists; returns per-frame {det_row: id} of the reported objects."""
    out = []
    for f in frames:
        d = tracker.update(f)
        out.append({int(i): int(t) for i, t in zip(d.data["det_index"], d.tracker_id, strict=True)})
    return out


def walker(n, x0=100.0, vx=5.0, y=200.0, hidden=()):
    """Boxes of one object moving right, absent on the ``hidden`` frames."""
    return [dets([] if k in hidden else [box(x0 + vx * k, y)]) for k in range(n)]


def test_identity_kept_through_short_occlusion():
    trk = SORTTracker(sort_config())
    res = run(trk, walker(30, hidden=range(10, 16)))  # 6 frames without detection, shadow age limit 10
    ids = {v for r in res for v in r.values()}
    assert ids == {1}
    assert all(res[k] == {} for k in range(10, 16))  # shadow tracks are not reported by default
    assert res[16] == {0: 1} and res[29] == {0: 1}


def test_new_id_after_long_occlusion():
    trk = SORTTracker(sort_config())
    res = run(trk, walker(40, hidden=range(10, 25)))  # 15 frames > maxShadowTrackingAge 10
    assert res[9] == {0: 1}
    assert res[25] == {0: 2}
    assert res[39] == {0: 2}


def test_shadow_tracks_reported_when_asked():
    trk = SORTTracker(sort_config(output_shadow_tracks=True))
    frames = walker(20, hidden=range(10, 13))
    outs = [trk.update(f) for f in frames]
    for k in (10, 11, 12):
        o = outs[k]
        assert o.tracker_id.tolist() == [1]
        assert o.data["det_index"].tolist() == [-1]
        assert o.confidence[0] == pytest.approx(-0.1)
        assert o.data["shadow_age"][0] == k - 9
        # the Kalman prediction continues the walk at 5 px/frame
        cx = (o.xyxy[0, 0] + o.xyxy[0, 2]) / 2
        assert cx == pytest.approx(100 + 5 * k, abs=2.0)
    assert outs[13].data["det_index"].tolist() == [0]


def test_no_id_swap_for_two_crossing_objects():
    # A goes right, B goes left, on nearly the same line; they overlap fully around frame 20
    frames = []
    for k in range(41):
        a = box(100 + 10 * k, 200)
        b = box(500 - 10 * k, 206)
        frames.append(dets([a, b]))
    # the scene really crosses: at frame 20 the two boxes overlap with IoU > 0.8
    assert iou_matrix(frames[20].xyxy[:1], frames[20].xyxy[1:])[0, 0] > 0.8
    for cls in (SORTTracker, ByteTracker):
        res = run(cls(sort_config()), frames)
        a_ids = {r[0] for r in res}
        b_ids = {r[1] for r in res}
        assert len(a_ids) == 1 and len(b_ids) == 1 and a_ids != b_ids, cls.__name__


def test_probation_and_early_termination():
    trk = SORTTracker(sort_config(probation_age=2, early_termination_age=1))
    # a one-frame false positive never gets an id; the walker is reported from its third frame
    frames = walker(6)
    frames[0] = dets([box(100, 200), box(400, 300)])
    res = run(trk, frames)
    assert res[0] == {} and res[1] == {}
    assert res[2] == {0: 1}
    past = trk.pop_past_frame_data()
    assert len(past) == 1 and past[0].object_id == 1
    assert [r.frame_num for r in past[0].records] == [0, 1]
    assert past[0].records[0].xyxy == pytest.approx(tuple(box(100, 200)))


def test_bytetrack_low_confidence_detections_continue_targets():
    yaml_text = ("BaseConfig: {minDetectorConfidence: 0.1}\nTargetManagement: {probationAge: 0}\n"
                 "StateEstimator: {stateEstimatorType: 2}\n"
                 "DataAssociator: {tentativeDetectorConfidence: 0.6, minMatchingScore4TentativeIou: 0.3}")
    cfg = parse_tracker_config(yaml_text)
    assert cfg.algorithm == "ByteTrack"
    frames = [dets([box(100 + 5 * k, 200)], [0.9 if k < 5 else 0.3]) for k in range(10)]
    frames.append(dets([box(400, 400)], [0.3]))  # a lone low-confidence box starts nothing
    res = run(ByteTracker(cfg), frames)
    assert all(r == {0: 1} for r in res[:10])
    assert res[10] == {}
    # SORT with the same threshold for everything would drop the target once confidence falls below 0.6
    sort = SORTTracker(parse_tracker_config(yaml_text.replace("0.1}", "0.6}")))
    assert run(sort, frames)[5] == {}


def test_ids_unique_across_classes_and_new_targets_suppressed():
    trk = SORTTracker(sort_config())
    same_place = dets([box(100, 100), box(100, 100), box(102, 101)], cls=[0, 2, 0])
    out = trk.update(same_place)
    # person and car at one place get their own ids; the near-duplicate person box starts no target
    assert sorted(out.tracker_id.tolist()) == [1, 2]
    assert sorted(out.class_id.tolist()) == [0, 2]


def test_max_targets_per_stream():
    trk = SORTTracker(sort_config(max_targets_per_stream=3))
    out = trk.update(dets([box(60 * i + 40, 100) for i in range(5)], [0.5, 0.9, 0.8, 0.7, 0.6]))
    assert len(out) == 3
    assert sorted(out.data["det_index"].tolist()) == [1, 2, 3]  # the most confident ones


def test_appearance_tracker_reidentifies_after_occlusion():
    # A walks right, is hidden 20 frames while it turns back, and reappears 150 px behind the motion
    # prediction; B stands still elsewhere. Only appearance can give A its id back.
    cfg = parse_tracker_config(
        "BaseConfig: {minDetectorConfidence: 0.1}\nTargetManagement: {probationAge: 0, maxShadowTrackingAge: 60}\n"
        "StateEstimator: {stateEstimatorType: 2, noiseWeightVar4Loc: 0.05, noiseWeightVar4Vel: 0.00625}\n"
        "DataAssociator: {minMatchingScore4ReidSimilarity: 0.5, matchingScoreWeight4Iou: 0.5,"
        " matchingScoreWeight4ReidSimilarity: 1.0, tentativeDetectorConfidence: 0.5, minMatchingScore4Iou: 0.2}\n"
        "ReID: {reidType: 1}")
    rng = np.random.default_rng(1)
    emb_a, emb_b = rng.normal(size=(2, 32))
    emb_a /= np.linalg.norm(emb_a)
    emb_b /= np.linalg.norm(emb_b)
    frames = []
    for k in range(50):
        boxes, embs = [box(500, 300)], [emb_b]
        if k < 20:
            boxes.append(box(100 + 5 * k, 100))
            embs.append(emb_a)
        elif k >= 40:
            boxes.append(box(45 + 5 * (k - 40), 100))
            embs.append(emb_a)
        noise = rng.normal(scale=0.05, size=(len(embs), 32))
        e = np.array(embs) + noise
        frames.append(dets(boxes, embedding=e / np.linalg.norm(e, axis=1, keepdims=True)))
    res = run(DeepSORTTracker(cfg), frames)
    a_id = res[0][1]
    assert res[0][0] != a_id
    assert res[40] == {0: res[0][0], 1: a_id}
    assert res[49][1] == a_id
    res_sort = run(SORTTracker(sort_config(max_shadow_tracking_age=60)), frames)
    assert res_sort[40][1] != res_sort[0][1]  # motion alone gives A a new id


def test_appearance_tracker_needs_frames_or_embeddings():
    cfg = parse_tracker_config("ReID: {reidType: 1}")
    with pytest.raises(ValueError, match="needs the frame"):
        DeepSORTTracker(cfg).update(dets([box(10, 10)]))


def test_shared_id_source_and_reset():
    ids = itertools.count(1).__next__
    a, b = SORTTracker(sort_config(), ids), SORTTracker(sort_config(), ids)
    assert a.update(dets([box(100, 100)])).tracker_id.tolist() == [1]
    assert b.update(dets([box(100, 100)])).tracker_id.tolist() == [2]
    a.reset()
    assert a.num_targets == 0
    assert a.update(dets([box(100, 100)])).tracker_id.tolist() == [3]


def test_assign_maximises_total_score_within_valid_pairs():
    score = np.array([[0.9, 0.8], [0.85, 0.1]])
    valid = score > 0.05
    r, c = assign(score, valid)
    assert dict(zip(r.tolist(), c.tolist(), strict=True)) == {0: 1, 1: 0}  # 0.8 + 0.85 > 0.9 + 0.1
    r, c = assign(score, np.array([[True, False], [False, False]]))
    assert r.tolist() == [0] and c.tolist() == [0]


def test_assign_without_competing_pairs_equals_the_assignment_solver():
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(3)
    for _ in range(200):
        n, m = rng.integers(1, 8, 2)
        valid = np.zeros((n, m), bool)
        rows, cols = rng.permutation(n)[:min(n, m)], rng.permutation(m)[:min(n, m)]
        valid[rows, cols] = rng.random(len(rows)) < 0.7  # at most one valid pair per row and per column
        score = rng.random((n, m))
        r, c = assign(score, valid)
        lr, lc = linear_sum_assignment(np.where(valid, -score, 1e6))
        ok = valid[lr, lc]
        assert sorted(zip(r.tolist(), c.tolist(), strict=True)) == sorted(zip(lr[ok].tolist(), lc[ok].tolist(), strict=True))


def test_degenerate_boxes_are_ignored():
    trk = SORTTracker(sort_config())
    out = trk.update(dets([box(100, 100), [50, 50, 50, 90], [np.nan, 0, 10, 10], [30, 30, 20, 40]]))
    assert out.data["det_index"].tolist() == [0]
    assert trk.num_targets == 1


def test_clip_xyxy_matches_np_clip_and_keeps_nan():
    from vistream.track.geometry import clip_xyxy

    rng = np.random.default_rng(5)
    for dtype in (np.float32, np.float64):
        b = rng.uniform(-100, 800, (40, 4)).astype(dtype)
        b[3, 1] = np.nan
        ref = b.copy()
        ref[:, 0::2] = np.clip(ref[:, 0::2], 0, 640)
        ref[:, 1::2] = np.clip(ref[:, 1::2], 0, 480)
        out = clip_xyxy(b, 640, 480)
        assert out.dtype == dtype and out is not b and np.array_equal(out, ref, equal_nan=True)
