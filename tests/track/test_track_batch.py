"""IOU and SORT trackers stepping all streams of a batch at once give what stepping them one by one gives."""

from __future__ import annotations

import numpy as np
import pytest

from vistream.meta import BatchMeta, MetaType, make_object, new_frame_meta
from vistream.track import TrackerCore, load_tracker_config
from vistream.track.algorithms import IOUTracker
from vistream.track.batch import batchable

from .conftest import CONFIGS


def _scene(rng, streams: int, frames: int):
    """Per frame and stream: objects moving with noise, dropouts, duplicates, low scores, skipped frames."""
    tracks = {s: [[rng.uniform(40, 560), rng.uniform(40, 400), rng.uniform(-6, 6), rng.uniform(-4, 4),
                   int(rng.integers(0, 3))] for _ in range(int(rng.integers(0, 7)))] for s in range(streams)}
    out = []
    for f in range(frames):
        per = {}
        for s in range(streams):
            if rng.random() < 0.1:
                continue  # this stream has no frame in this batch
            done = rng.random() > 0.15
            objs = []
            for t in tracks[s]:
                t[0] += t[2] + rng.normal(0, 2)
                t[1] += t[3] + rng.normal(0, 2)
                if done and rng.random() > 0.15:
                    w, h = 40 + rng.normal(0, 3), 80 + rng.normal(0, 3)
                    xyxy = (t[0] - w / 2, t[1] - h / 2, t[0] + w / 2, t[1] + h / 2)
                    objs.append((xyxy, t[4], f"c{t[4]}", float(rng.uniform(0.05, 1.0))))
                    if rng.random() < 0.1:  # a near-duplicate box
                        objs.append((tuple(v + rng.normal(0, 4) for v in xyxy), t[4], f"c{t[4]}", 0.5))
            if done and rng.random() < 0.2:  # clutter
                x, y = rng.uniform(0, 600), rng.uniform(0, 440)
                objs.append(((x, y, x + rng.uniform(5, 60), y + rng.uniform(5, 90)), 0, "c0", 0.6))
            if rng.random() < 0.05:
                tracks[s].append([rng.uniform(40, 560), rng.uniform(40, 400), rng.uniform(-6, 6),
                                  rng.uniform(-4, 4), int(rng.integers(0, 3))])
            per[s] = (f + 1000 * s, done, objs)  # streams at different frame numbers
        out.append(per)
    return out


def _batch(frames) -> BatchMeta:
    bm = BatchMeta(max_frames_in_batch=max(1, len(frames)))
    for i, (src, (fnum, done, objs)) in enumerate(frames):
        fm = new_frame_meta(src, fnum, fnum * 33_000_000, 640, 480, batch_id=i)
        fm.bInferDone = int(done)
        for (x1, y1, x2, y2), cls, label, conf in objs:
            fm.add_obj_meta(make_object(x1, y1, x2 - x1, y2 - y1, class_id=cls, confidence=conf, label=label))
        bm.frame_meta_list.append(fm)
    return bm


def _result(bm: BatchMeta):
    """Ids, classes, labels and texts exactly; boxes and confidences as floats (compared with a tolerance:
    SORT's Kalman matrix products may round differently for a different number of rows)."""
    objs = [(fm.source_id, o.object_id, o.class_id, o.obj_label, o.text_params.display_text,
             (o.confidence, o.tracker_confidence, o.rect_params.left, o.rect_params.top, o.rect_params.width,
              o.rect_params.height)) for fm in bm.frame_meta_list for o in fm.obj_meta_list]
    past = [(s.streamID, [(lst.uniqueId, lst.classId, lst.objLabel,
                           [(p.frameNum, p.age, (p.tBbox.left, p.tBbox.top, p.confidence)) for p in lst.list])
                          for lst in s.list])
            for m in bm.user_meta_of_type(MetaType.TRACKER_PAST_FRAME) for s in m.user_meta_data.list]
    return objs, past


def _same(a, b) -> bool:
    """Equal structures; float tuples (the innermost tuples of floats) within 1e-6."""
    if isinstance(a, tuple) and a and all(isinstance(v, float) for v in a):
        return isinstance(b, tuple) and len(a) == len(b) and np.allclose(a, b, rtol=0, atol=1e-6)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


VARIANTS = ["default", "shadow_small_room", "no_class_match_size", "no_past"]


@pytest.mark.parametrize("tracker", ["config_tracker_IOU.yml", "config_tracker_SORT.yml"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_batch_step_equals_stream_by_stream(variant, tracker):
    cfg_path = CONFIGS / tracker
    rng = np.random.default_rng(VARIANTS.index(variant))

    def core():
        c = TrackerCore(cfg_path)
        t, a = c.config.target, c.config.associator
        c.config.min_detector_confidence = 0.2
        if variant == "shadow_small_room":
            t.output_shadow_tracks, t.max_targets_per_stream, t.probation_age = True, 4, 1
        elif variant == "no_class_match_size":
            a.check_class_match = False
            a.matching_score_weight_4_size_similarity, a.min_matching_score_4_size_similarity = 0.4, 0.3
            t.min_tracker_confidence = 0.3
        elif variant == "no_past":
            c.config.trajectory.past_frame_history = 0
        return c

    batched, single = core(), core()
    scene = _scene(rng, streams=6, frames=60)
    seen = 0
    for per in scene:
        frames = sorted(per.items(), key=lambda kv: (kv[0] * 7) % 6)  # batch order differs from source order
        a = _batch(frames)
        batched.process(a)
        got = _result(a)
        want_objs, want_past = [], []
        for item in frames:  # the same frames, one per batch: the stream-by-stream path
            b = _batch([item])
            single.process(b)
            o, p = _result(b)
            want_objs += o
            want_past += p
        assert _same(got, (want_objs, want_past)), (variant, tracker, per)
        seen += len(want_objs)
    assert seen > 300
    assert batchable([batched._tracker(0), batched._tracker(1)])


def test_only_one_stage_trackers_are_batched():
    cfg = load_tracker_config(CONFIGS / "config_tracker_IOU.yml")
    a, b = IOUTracker(cfg), IOUTracker(cfg)
    assert batchable([a, b]) and not batchable([a, a])
    sort = TrackerCore(CONFIGS / "config_tracker_SORT.yml")
    assert batchable([sort._tracker(0), sort._tracker(1)]) and not batchable([a, sort._tracker(2)])
    for multi_stage in ("config_tracker_NvSORT.yml", "config_tracker_NvDeepSORT.yml"):  # ByteTrack, DeepSORT
        other = TrackerCore(CONFIGS / multi_stage)
        assert not batchable([other._tracker(0), other._tracker(1)])
