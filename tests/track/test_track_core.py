"""TrackerCore on BatchMeta: ids, labels, stream isolation, skipped frames (interval), past-frame meta."""

from __future__ import annotations

import numpy as np
import pytest

from vistream.meta import UNTRACKED_OBJECT_ID, MetaType
from vistream.track import TRACKER_PROPERTIES, NvDsPastFrameObjBatch, TrackerConfigError, TrackerCore

from .conftest import CONFIGS, batch, box, sort_config


def person(cx, cy, conf=0.9):
    return (box(cx, cy), 0, "person", conf)


def test_ids_labels_and_tracker_fields():
    core = TrackerCore(sort_config(), display_tracking_id=True)
    bm = batch([(0, 0, [person(100, 200), (box(300, 200, 80, 40), 2, "car", 0.8)])])
    core.process(bm)
    objs = bm.frame_meta_list[0].obj_meta_list
    assert [(o.obj_label, o.object_id) for o in objs] == [("person", 1), ("car", 2)]
    assert [o.text_params.display_text for o in objs] == ["person 1", "car 2"]
    assert objs[0].tracker_confidence == pytest.approx(0.9)
    tb = objs[0].tracker_bbox_info.org_bbox_coords
    assert (tb.left, tb.top, tb.width, tb.height) == pytest.approx((80, 160, 40, 80))
    core2 = TrackerCore(sort_config(), display_tracking_id=False)
    bm = batch([(0, 0, [person(100, 200)])])
    core2.process(bm)
    assert bm.frame_meta_list[0].obj_meta_list[0].text_params.display_text == "person"


def test_unconfirmed_and_low_confidence_objects_never_reach_downstream():
    core = TrackerCore(sort_config(probation_age=1))
    bm = batch([(0, 0, [person(100, 200), person(400, 200, conf=0.1)])])
    core.process(bm)
    assert bm.frame_meta_list[0].obj_meta_list == []  # in probation / below minDetectorConfidence
    bm = batch([(0, 1, [person(102, 200), person(400, 200, conf=0.1)])])
    core.process(bm)
    objs = bm.frame_meta_list[0].obj_meta_list
    assert [o.object_id for o in objs] == [1]
    assert all(o.object_id != UNTRACKED_OBJECT_ID for _, o in bm.objects())
    # the probation frame is reported as past-frame meta, pyds style
    (um,) = bm.user_meta_of_type(MetaType.TRACKER_PAST_FRAME)
    pf = um.user_meta_data
    assert isinstance(pf, NvDsPastFrameObjBatch) and pf.numFilled == 1
    stream = pf.list[0]
    assert stream.streamID == 0
    track = stream.list[0]
    assert (track.uniqueId, track.classId, track.objLabel, track.numObj) == (1, 0, "person", 1)
    obj = track.list[0]
    assert obj.frameNum == 0 and obj.age == 1
    assert (obj.tBbox.left, obj.tBbox.top, obj.tBbox.width, obj.tBbox.height) == pytest.approx((80, 160, 40, 80))


def test_streams_do_not_interact():
    core = TrackerCore(sort_config())
    # the same box in two streams: two targets, two ids
    bm = batch([(0, 0, [person(100, 200)]), (1, 0, [person(100, 200)])])
    core.process(bm)
    assert [fm.obj_meta_list[0].object_id for fm in bm.frame_meta_list] == [1, 2]
    # stream 0 loses its object while stream 1 keeps it; stream 1 must not feed stream 0's target
    for k in range(1, 13):
        bm = batch([(0, k, []), (1, k, [person(100, 200)])])
        core.process(bm)
        assert bm.frame_meta_list[0].obj_meta_list == []
        assert [o.object_id for o in bm.frame_meta_list[1].obj_meta_list] == [2]
    # stream 0's target died after 10 misses; its object comes back with a new id
    bm = batch([(0, 13, [person(100, 200)]), (1, 13, [person(100, 200)])])
    core.process(bm)
    assert [fm.obj_meta_list[0].object_id for fm in bm.frame_meta_list] == [3, 2]
    assert core.sources == [0, 1]


def test_reset_and_remove_source():
    core = TrackerCore(sort_config())
    core.process(batch([(0, 0, [person(100, 200)]), (1, 0, [person(100, 200)])]))
    core.reset_source(0)
    bm = batch([(0, 1, [person(100, 200)]), (1, 1, [person(100, 200)])])
    core.process(bm)
    assert [fm.obj_meta_list[0].object_id for fm in bm.frame_meta_list] == [3, 2]  # 1 is never reused
    core.remove_source(1)
    assert core.sources == [0]


def test_interval_2_skipped_frames_show_smooth_predicted_boxes():
    core = TrackerCore(sort_config())
    centers, confs, ids = [], [], []
    for k in range(31):
        inferred = k % 3 == 0  # nvinfer interval=2: the detector runs on every third frame
        objs = [person(100 + 6 * k, 200)] if inferred else []
        bm = batch([(0, k, objs)], infer_done=inferred)
        core.process(bm)
        (o,) = bm.frame_meta_list[0].obj_meta_list  # one object on every frame, detected or not
        r = o.rect_params
        centers.append(r.left + r.width / 2)
        confs.append(o.confidence)
        ids.append(o.object_id)
    assert set(ids) == {1}
    assert confs[1] == pytest.approx(-0.1) and confs[3] == pytest.approx(0.9)
    steps = np.diff(centers)
    # once the Kalman filter has the velocity (4 detections) the boxes move 6 px per frame, skipped frames
    # included: no jumps at the detector frames
    assert np.all(np.abs(steps[12:] - 6.0) < 1.0), steps
    assert np.all(steps[3:] > 0)
    assert centers[30] == pytest.approx(280)


def test_shadow_objects_are_added_when_config_asks():
    core = TrackerCore(sort_config(output_shadow_tracks=True))
    for k in range(5):
        core.process(batch([(0, k, [person(100 + 4 * k, 200)])]))
    bm = batch([(0, 5, [])])  # detector ran (bInferDone=1) and missed
    core.process(bm)
    (o,) = bm.frame_meta_list[0].obj_meta_list
    assert o.object_id == 1 and o.confidence == pytest.approx(-0.1) and o.obj_label == "person"
    assert o.rect_params.left + o.rect_params.width / 2 == pytest.approx(120, abs=2)
    assert o.text_params.display_text == "person 1"
    assert o.tracker_confidence < 0.9


def test_boxes_clipped_to_frame_unless_unclipping():
    core = TrackerCore(sort_config(output_shadow_tracks=True))
    for k in range(6):
        core.process(batch([(0, k, [person(590 + 10 * k, 200)])]))
    bm = batch([(0, 6, [])])
    core.process(bm)
    (o,) = bm.frame_meta_list[0].obj_meta_list
    assert o.rect_params.left + o.rect_params.width <= 640


def test_properties_and_validation():
    assert set(TRACKER_PROPERTIES) == {"tracker-width", "tracker-height", "ll-lib-file", "ll-config-file", "gpu-id",
                                       "display-tracking-id", "compute-hw", "tracking-surface-type",
                                       "user-meta-pool-size"}
    core = TrackerCore.from_properties({"ll-config-file": str(CONFIGS / "config_tracker_NvSORT.yml"),
                                        "ll-lib-file": "/opt/x/libnvds_nvmultiobjecttracker.so",
                                        "tracker-width": 960, "display-tracking-id": 0})
    assert core.config.algorithm == "ByteTrack" and core.tracker_width == 960 and not core.display_tracking_id
    legacy = TrackerCore.from_properties({"ll-config-file": str(CONFIGS / "config_tracker_NvSORT.yml"),
                                          "ll-lib-file": "libnvds_mot_iou.so"})
    assert legacy.config.algorithm == "IOU"
    with pytest.raises(TrackerConfigError, match="unknown property tracker-widht"):
        TrackerCore.from_properties({"tracker-widht": 640})
    with pytest.raises(TrackerConfigError, match="tracker-height must be a positive integer"):
        TrackerCore(None, 640, 0)
    with pytest.raises(TrackerConfigError, match="compute-hw must be 0, 1 or 2"):
        TrackerCore(None, compute_hw=5)


def test_reid_tracker_asks_for_frames():
    core = TrackerCore(CONFIGS / "config_tracker_NvDeepSORT.yml")
    assert core.needs_frames
    with pytest.raises(ValueError, match="needs the frame of batch_id 0"):
        core.process(batch([(0, 0, [person(100, 200)])]))
    core.process(batch([(0, 1, [])], infer_done=False))  # a skipped frame needs no crops


def test_reid_tracker_attaches_reid_vectors_when_asked():
    from vistream.track import load_tracker_config

    cfg = load_tracker_config(CONFIGS / "config_tracker_NvDeepSORT.yml")
    cfg.reid.output_reid_tensor = True
    calls = []

    def fake_embedder(frame, xyxy):  # stands in for the network: one unit vector per box, by x position
        calls.append(frame.shape)
        e = np.zeros((len(xyxy), 8), np.float32)
        e[np.arange(len(xyxy)), (np.asarray(xyxy)[:, 0] // 100).astype(int) % 8] = 1.0
        return e

    core = TrackerCore(cfg, embedder=fake_embedder)
    frame = np.zeros((480, 640, 3), np.uint8)
    bm = batch([(0, 0, [person(150, 200), person(450, 200)])])
    core.process(bm, frames=[frame])
    assert calls == [(480, 640, 3)]
    objs = bm.frame_meta_list[0].obj_meta_list
    assert [o.object_id for o in objs] == [1, 2]
    vecs = [o.obj_user_meta_list[0].user_meta_data for o in objs]
    assert all(o.obj_user_meta_list[0].meta_type == MetaType.TRACKER_REID for o in objs)
    assert [int(np.argmax(v)) for v in vecs] == [1, 4]


def test_past_frame_meta_reads_the_pyds_way():
    from vistream.track import NvDsPastFrameObjList, NvDsPastFrameObjStream

    core = TrackerCore(sort_config(probation_age=2))
    for k in range(3):
        bm = batch([(0, k, [person(100 + 3 * k, 200)]), (1, k, [person(300, 100 + 2 * k)])])
        core.process(bm)
    (um,) = bm.user_meta_of_type(MetaType.TRACKER_PAST_FRAME)
    seen = []
    # the loop of DeepStream's deepstream_test_2.py, names unchanged
    batch_obj = NvDsPastFrameObjBatch.cast(um.user_meta_data)
    for trackobj in NvDsPastFrameObjBatch.list(batch_obj):
        for pastframeobj in NvDsPastFrameObjStream.list(trackobj):
            for objlist in NvDsPastFrameObjList.list(pastframeobj):
                seen.append((trackobj.streamID, pastframeobj.uniqueId, pastframeobj.objLabel, objlist.frameNum,
                             round(objlist.tBbox.left), objlist.age))
    assert seen == [(0, 1, "person", 0, 80, 1), (0, 1, "person", 1, 83, 2),
                    (1, 2, "person", 0, 280, 1), (1, 2, "person", 1, 280, 2)]
    with pytest.raises(TypeError, match="cast: got dict"):
        NvDsPastFrameObjBatch.cast({})
