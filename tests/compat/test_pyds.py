"""pyds over vistream's metadata: GList walks, casts, in-place edits, pools, display meta, event messages."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.elements.element_helpers import DeviceBatch
from vistream import Caps
from vistream.compat import pyds
from vistream.compat._buffers import in_flight
from vistream.core.buffer import Buffer
from vistream.meta import BatchMeta, FrameMeta, MetaType, UserMeta, make_object
from vistream.meta.event import EventMsgMeta, VehicleObject
from vistream.msg import MsgConverter
from vistream.track.pastframe import (
    NvDsPastFrameObj,
    NvDsPastFrameObjBatch,
    NvDsPastFrameObjList,
    NvDsPastFrameObjStream,
)


def _batch() -> BatchMeta:
    bm = BatchMeta(max_frames_in_batch=2)
    for sid in range(2):
        fm = FrameMeta(source_id=sid, batch_id=sid, pad_index=sid, frame_num=7 + sid)
        for k in range(3):
            fm.add_obj_meta(make_object(10 * k, 20, 30, 40, class_id=k, confidence=0.5 + k / 10, label=f"c{k}"))
        bm.frame_meta_list.append(fm)
    return bm


def _walk(glist):
    out = []
    while glist is not None:
        out.append(glist.data)
        glist = glist.next
    return out


def _buffer(bm: BatchMeta, fmt: str = "RGBA") -> Buffer:
    frames = np.zeros((2, 8, 12, 4 if fmt == "RGBA" else 3), np.uint8)
    return Buffer(frames, caps=Caps("video/x-raw", format=fmt, width=12, height=8), batch_meta=bm)


def test_lists_walk_with_data_and_next_over_the_native_objects():
    bm = _batch()
    buf = _buffer(bm)
    with in_flight(buf):
        batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(buf))
    frames = _walk(batch_meta.frame_meta_list)
    assert frames == bm.frame_meta_list and all(isinstance(f, FrameMeta) for f in frames)
    frame_meta = pyds.NvDsFrameMeta.cast(frames[1])
    assert (frame_meta.frame_num, frame_meta.source_id, frame_meta.num_obj_meta) == (8, 1, 3)
    labels = [pyds.NvDsObjectMeta.cast(o).obj_label for o in _walk(frame_meta.obj_meta_list)]
    assert labels == ["c0", "c1", "c2"]
    assert frame_meta.display_meta_list is None and frame_meta.frame_user_meta_list is None  # empty GList
    assert pyds.nvds_get_nth_frame_meta(batch_meta.frame_meta_list, 1) == frames[1]
    with pytest.raises(IndexError, match="no frame 2"):
        pyds.nvds_get_nth_frame_meta(batch_meta.frame_meta_list, 2)


def test_edits_through_casts_land_in_the_native_metadata():
    bm = _batch()
    frame_meta = pyds.NvDsFrameMeta.cast(pyds.NvDsBatchMeta.cast(bm).frame_meta_list.data)
    obj = pyds.NvDsObjectMeta.cast(frame_meta.obj_meta_list.next.data)
    obj.rect_params.border_color.set(0.0, 0.0, 1.0, 0.8)
    obj.obj_label = "renamed"
    obj.rect_params.left = 99.5
    native = bm.frame_meta_list[0].obj_meta_list[1]
    assert native.obj_label == "renamed" and native.rect_params.left == 99.5
    assert (native.rect_params.border_color.blue, native.rect_params.border_color.alpha) == (1.0, 0.8)
    assert pyds.NvDsObjectMeta.cast(obj) is obj and obj == native


def test_removing_the_current_object_while_walking_visits_every_object_once():
    bm = _batch()
    frame_meta = pyds.NvDsFrameMeta.cast(bm.frame_meta_list[0])
    seen = []
    l_obj = frame_meta.obj_meta_list
    while l_obj is not None:
        obj = pyds.NvDsObjectMeta.cast(l_obj.data)
        seen.append(obj.class_id)
        l_obj = l_obj.next
        if obj.class_id != 1:
            pyds.nvds_remove_obj_meta_from_frame(frame_meta, obj)
    assert seen == [0, 1, 2]
    assert [o.class_id for o in bm.frame_meta_list[0].obj_meta_list] == [1]


def test_cast_of_the_wrong_type_names_both_types():
    with pytest.raises(TypeError, match=r"NvDsObjectMeta.cast: expected ObjectMeta, got FrameMeta"):
        pyds.NvDsObjectMeta.cast(FrameMeta())


def test_buffer_lookup_outside_a_probe_is_a_clear_error():
    buf = _buffer(_batch())
    with pytest.raises(ValueError, match="no buffer with hash .* is in flight"):
        pyds.gst_buffer_get_nvds_batch_meta(hash(buf))
    assert pyds.gst_buffer_get_nvds_batch_meta(buf).num_frames_in_batch == 2  # the buffer itself is accepted


def test_display_meta_arrays_of_16_and_counts_decide_what_is_drawn():
    bm = _batch()
    fm = pyds.NvDsFrameMeta.cast(bm.frame_meta_list[0])
    display_meta = pyds.nvds_acquire_display_meta_from_pool(bm)
    assert len(display_meta.text_params) == 16 and len(display_meta.rect_params) == 16
    display_meta.num_labels = 1
    text = display_meta.text_params[0]
    text.display_text = "Frame Number=7"
    text.font_params.font_name = "Serif"
    text.font_params.font_size = 10
    text.font_params.font_color.set(1.0, 1.0, 1.0, 1.0)
    display_meta.text_params[5].display_text = "not drawn"
    display_meta.num_rects = 2
    display_meta.rect_params[1].left = 4
    pyds.nvds_add_display_meta_to_frame(fm, display_meta)
    native = bm.frame_meta_list[0].display_meta_list[0]
    assert [t.display_text for t in native.text_params] == ["Frame Number=7"]
    assert native.num_rects == 2 and native.rect_params[1].left == 4
    assert pyds.get_string(text.display_text) == "Frame Number=7" and display_meta.num_labels == 1
    with pytest.raises(ValueError, match="num_labels=17: must be 0..16"):
        display_meta.num_labels = 17


def test_new_objects_from_the_pool_join_the_frame():
    bm = _batch()
    fm = pyds.NvDsFrameMeta.cast(bm.frame_meta_list[1])
    obj = pyds.nvds_acquire_obj_meta_from_pool(bm)
    obj.class_id = 9
    obj.obj_label = "added"
    obj.rect_params.left, obj.rect_params.top, obj.rect_params.width, obj.rect_params.height = 1, 2, 30, 40
    obj.object_id = pyds.UNTRACKED_OBJECT_ID
    parent = fm.obj_meta_list.data
    pyds.nvds_add_obj_meta_to_frame(fm, obj, parent)
    native = bm.frame_meta_list[1].obj_meta_list[-1]
    assert native.obj_label == "added" and native.parent is parent
    coords = native.detector_bbox_info.org_bbox_coords
    assert (coords.left, coords.top, coords.width, coords.height) == (1, 2, 30, 40)
    cm = pyds.nvds_acquire_classifier_meta_from_pool(bm)
    li = pyds.nvds_acquire_label_info_meta_from_pool(bm)
    li.result_label, li.result_prob = "red", 0.75
    pyds.nvds_add_label_info_meta_to_classifier(cm, li)
    pyds.nvds_add_classifier_meta_to_object(obj, cm)
    label = pyds.NvDsLabelInfo.cast(pyds.NvDsClassifierMeta.cast(obj.classifier_meta_list.data).label_info_list.data)
    assert (label.result_label, label.result_prob) == ("red", 0.75)


def test_meta_types_match_vistream_and_user_meta_descriptors():
    assert pyds.NVDS_TRACKER_PAST_FRAME_META == MetaType.TRACKER_PAST_FRAME == 15
    assert pyds.NvDsMetaType.NVDS_EVENT_MSG_META == MetaType.EVENT_MSG
    assert pyds.NvDsMetaType.NVDS_CLASSIFIER_META == MetaType.CLASSIFIER
    assert pyds.nvds_get_user_meta_type("NVIDIA.DSANALYTICSFRAME.USER_META") == MetaType.ANALYTICS_FRAME
    assert pyds.nvds_get_user_meta_type("NVIDIA.DSANALYTICSOBJ.USER_META") == MetaType.ANALYTICS_OBJ
    mine = pyds.nvds_get_user_meta_type("ACME.MYMETA")
    assert mine > MetaType.START_USER_META and pyds.nvds_get_user_meta_type("ACME.MYMETA") == mine


def test_past_frame_meta_lists():
    batch = NvDsPastFrameObjBatch([NvDsPastFrameObjStream(0, 0, [NvDsPastFrameObjList(
        3, 2, "car", [NvDsPastFrameObj(frameNum=4), NvDsPastFrameObj(frameNum=5)])])])
    um = pyds.NvDsUserMeta.cast(UserMeta(batch))
    b = pyds.NvDsPastFrameObjBatch.cast(um.user_meta_data)
    streams = list(pyds.NvDsPastFrameObjBatch.list(b))
    tracks = list(pyds.NvDsPastFrameObjStream.list(streams[0]))
    assert [o.frameNum for o in pyds.NvDsPastFrameObjList.list(tracks[0])] == [4, 5]
    assert (tracks[0].uniqueId, tracks[0].objLabel, tracks[0].numObj) == (3, "car", 2)
    assert pyds.NvDsTargetMiscDataBatch is pyds.NvDsPastFrameObjBatch
    with pytest.raises(TypeError, match="expected NvDsPastFrameObjBatch"):
        pyds.NvDsPastFrameObjBatch.cast(streams[0])


def test_buf_surface_is_the_frame_and_needs_rgba():
    bm = _batch()
    buf = _buffer(bm)
    with in_flight(buf):
        frame = pyds.get_nvds_buf_surface(hash(buf), 1)
        frame[2, 3] = (255, 0, 0, 255)
        with pytest.raises(IndexError, match="batch_id 2 out of range"):
            pyds.get_nvds_buf_surface(hash(buf), 2)
    assert frame.shape == (8, 12, 4) and buf.data[1, 2, 3].tolist() == [255, 0, 0, 255]
    rgb = _buffer(bm, "RGB")
    with in_flight(rgb), pytest.raises(ValueError, match="frames are RGB, only RGBA is supported"):
        pyds.get_nvds_buf_surface(hash(rgb), 0)


def test_test4_style_event_message_converts_to_deepstream_json():
    bm = _batch()
    frame_meta = pyds.NvDsFrameMeta.cast(bm.frame_meta_list[0])
    obj_meta = pyds.NvDsObjectMeta.cast(frame_meta.obj_meta_list.data)
    user_event_meta = pyds.nvds_acquire_user_meta_from_pool(bm)
    msg_meta = pyds.alloc_nvds_event_msg_meta(user_event_meta)
    msg_meta.bbox.top = obj_meta.rect_params.top
    msg_meta.bbox.left = obj_meta.rect_params.left
    msg_meta.bbox.width = obj_meta.rect_params.width
    msg_meta.bbox.height = obj_meta.rect_params.height
    msg_meta.frameId = frame_meta.frame_num
    msg_meta.trackingId = 42
    msg_meta.confidence = obj_meta.confidence
    msg_meta.sensorId = 0
    msg_meta.placeId = 0
    msg_meta.moduleId = 0
    msg_meta.sensorStr = "sensor-0"
    msg_meta.ts = pyds.alloc_buffer(33)
    pyds.generate_ts_rfc3339(msg_meta.ts, 32)
    msg_meta.type = pyds.NvDsEventType.NVDS_EVENT_MOVING
    msg_meta.objType = pyds.NvDsObjectType.NVDS_OBJECT_TYPE_VEHICLE
    obj = pyds.NvDsVehicleObject.cast(pyds.alloc_nvds_vehicle_object())
    obj.type, obj.color, obj.make, obj.model, obj.license, obj.region = "sedan", "blue", "Bugatti", "M", "XX1234", "CA"
    msg_meta.extMsg = obj
    msg_meta.extMsgSize = 64  # C sizes are ignored
    user_event_meta.user_meta_data = msg_meta
    user_event_meta.base_meta.meta_type = pyds.NvDsMetaType.NVDS_EVENT_MSG_META
    pyds.nvds_add_user_meta_to_frame(frame_meta, user_event_meta)

    native = bm.frame_meta_list[0].user_meta_of_type(MetaType.EVENT_MSG)[0].user_meta_data
    assert isinstance(native, EventMsgMeta) and isinstance(native.extMsg, VehicleObject)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", native.ts)
    payloads = MsgConverter(payload_type=0).process(bm)
    assert len(payloads) == 1
    msg = payloads[0].json()
    assert msg["object"]["id"] == "42" and msg["object"]["vehicle"]["make"] == "Bugatti"
    assert msg["object"]["bbox"] == {"topleftx": 0, "toplefty": 20, "bottomrightx": 30, "bottomrighty": 60}
    assert msg["@timestamp"] == native.ts and msg["event"]["type"] == "moving"


def test_tensor_meta_layers_and_their_memory_through_ctypes():
    import ctypes

    from vistream.infer.types import InferTensorMeta, LayerInfo, NetworkInfo

    scores = np.arange(12, dtype=np.float32).reshape(3, 4)
    native = InferTensorMeta(1, [LayerInfo("boxes", np.zeros((3, 4), np.float32)), LayerInfo("scores", scores)],
                             NetworkInfo(320, 240, 3))
    um = pyds.NvDsUserMeta.cast(UserMeta(native))
    meta = pyds.NvDsInferTensorMeta.cast(um.user_meta_data)
    assert meta.num_output_layers == 2
    layer = pyds.get_nvds_LayerInfo(meta, 1)
    assert layer.layerName == "scores" and layer.dims == (3, 4)
    ptr = ctypes.cast(pyds.get_ptr(layer.buffer), ctypes.POINTER(ctypes.c_float))
    assert [ptr[i] for i in (0, 5, 11)] == [0.0, 5.0, 11.0]
    with pytest.raises(IndexError, match="layer 2 out of range"):
        pyds.get_nvds_LayerInfo(meta, 2)


def test_buf_surface_of_a_gpu_batch_is_moved_to_host_memory_and_edits_stay(monkeypatch):
    """On the GPU path an NVMM RGBA batch is a device tensor: the surface call moves it into the buffer as host
    frames (caps without memory:NVMM) and returns a writable frame of that."""
    from vistream.elements import video

    monkeypatch.setattr(video, "is_gpu_data", lambda d: isinstance(d, DeviceBatch))
    host = np.zeros((2, 8, 12, 4), np.uint8)
    host[1, 0, 0] = (1, 2, 3, 255)
    buf = Buffer(DeviceBatch(host), caps=Caps("video/x-raw", ("memory:NVMM",), format="RGBA", width=12, height=8),
                 batch_meta=_batch())
    with in_flight(buf):
        frame = pyds.get_nvds_buf_surface(hash(buf), 1)
        frame[2, 3] = (255, 0, 0, 255)
    assert isinstance(buf.data, np.ndarray) and not buf.caps.is_nvmm
    assert buf.data[1, 0, 0].tolist() == [1, 2, 3, 255] and buf.data[1, 2, 3].tolist() == [255, 0, 0, 255]
