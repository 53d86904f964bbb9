"""MsgConverter: nvmsgconv's properties (payload-type, msg2p-lib, comp-id, frame-interval, newapi,
multiple-payloads, debug-payload-dir) and the payload meta it attaches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vistream.meta import BatchMeta, MetaType, make_object, new_frame_meta
from vistream.meta.event import EventMsgMeta, EventType, ObjectType, attach_event_msg, event_msgs
from vistream.msg import ConfigError, MsgConverter, Payload, payloads_of, validate

CONFIG = Path(__file__).resolve().parents[2] / "samples/configs/msgconv/msgconv_config.txt"


def batch_with_events(n_events=(2, 1), comp_ids=None):
    b = BatchMeta(max_frames_in_batch=len(n_events))
    k = 0
    for src, n in enumerate(n_events):
        f = new_frame_meta(src, 10, 0, 1280, 720)
        b.frame_meta_list.append(f)
        for _ in range(n):
            ev = EventMsgMeta(type=EventType.MOVING, objType=ObjectType.PERSON, sensorId=src, placeId=src,
                              moduleId=src, trackingId=k, componentId=(comp_ids or {}).get(k, 0))
            attach_event_msg(f, ev)
            k += 1
    return b


def test_full_schema_one_payload_per_event_attached_to_frames():
    b = batch_with_events((2, 1))
    out = MsgConverter(config=CONFIG, comp_id=0).process(b)
    assert [p.json()["object"]["id"] for p in out] == ["0", "1", "2"]
    assert [(p.source_id, p.frame_num) for p in out] == [(0, 10), (0, 10), (1, 10)]
    for p in out:
        validate(p.payload)
    f0, f1 = b.frame_meta_list
    assert [um.user_meta_data for um in f0.user_meta_of_type(MetaType.PAYLOAD)] == out[:2]
    assert payloads_of(b) == out
    # attach_event_msg filled ts and frameId
    ev = event_msgs(f0)[0]
    assert ev.frameId == 10 and ev.ts.endswith("Z")


def test_minimal_schema_one_payload_per_frame():
    out = MsgConverter(config=CONFIG, payload_type=1).process(batch_with_events((2, 1)))
    assert [len(p.json()["objects"]) for p in out] == [2, 1]
    for p in out:
        validate(p.payload, "minimal")


def test_comp_id_filters_events_and_tags_payloads():
    b = batch_with_events((3,), comp_ids={0: 5, 1: 6, 2: 5})
    out = MsgConverter(config=CONFIG, comp_id=5).process(b)
    assert [p.json()["object"]["id"] for p in out] == ["0", "2"]
    assert {p.componentId for p in out} == {5}
    assert payloads_of(b, comp_id=6) == [] and len(payloads_of(b, comp_id=5)) == 2


def test_new_api_uses_objects_and_frame_interval():
    conv = MsgConverter(config=CONFIG, msg2p_newapi=True, frame_interval=30)
    sent = []
    for n in range(0, 100):
        b = BatchMeta()
        for src in (0, 1):
            f = new_frame_meta(src, n, 0, 1280, 720)
            f.add_obj_meta(make_object(10, 20, 30, 40, label="person", confidence=0.9))
            f.add_obj_meta(make_object(50, 20, 30, 40, label="car", confidence=0.8))
            b.frame_meta_list.append(f)
        sent += [(p.source_id, p.frame_num) for p in conv.process(b)]
    # frames 0, 30, 60, 90 of each source, two objects each
    assert sent == [(s, n) for n in (0, 30, 60, 90) for s in (0, 1) for _ in range(2)]
    mini = MsgConverter(config=CONFIG, msg2p_newapi=True, payload_type=1, frame_interval=1)
    f = new_frame_meta(0, 0, 0, 1280, 720)
    f.add_obj_meta(make_object(10, 20, 30, 40, label="person"))
    b = BatchMeta(frame_meta_list=[f])
    (p,) = mini.process(b)
    assert p.json()["objects"] == [f"{0xFFFFFFFFFFFFFFFF}|10|20|40|60|person"]


def test_custom_payload_from_module_file(tmp_path):
    lib = tmp_path / "my_payload.py"
    lib.write_text(
        "def build_payload(frame_meta, events, config):\n"
        "    return [{'src': frame_meta.source_id, 'ids': [e.trackingId for e in events]}, b'second']\n")
    conv = MsgConverter(payload_type=257, msg2p_lib=str(lib), multiple_payloads=True, comp_id=3)
    out = conv.process(batch_with_events((3,), comp_ids={0: 3, 2: 3}))  # only comp 3's events
    assert [p.payload for p in out] == [b'{"src":0,"ids":[0,2]}', b"second"] and out[0].componentId == 3
    with pytest.raises(ValueError, match="set multiple-payloads=true"):
        MsgConverter(payload_type=257, msg2p_lib=str(lib)).process(batch_with_events((2,)))


def test_custom_payload_callable_and_module_path():
    conv = MsgConverter(payload_type=256, payload_fn=lambda f, evs, cfg: Payload(b"x", topic="special"))
    (p,) = conv.process(batch_with_events((1,)))
    assert p.payload == b"x" and p.topic == "special"
    conv = MsgConverter(payload_type=256, msg2p_lib="json:dumps")
    with pytest.raises(TypeError):  # json.dumps is callable but not a payload builder: its error surfaces
        conv.process(batch_with_events((1,)))


@pytest.mark.parametrize("kw, msg", [
    (dict(payload_type=2), "protobuf"),
    (dict(payload_type=7), "payload-type=7 is not valid"),
    (dict(payload_type=300), "needs msg2p-lib"),
    (dict(payload_type=256, msg2p_lib="/opt/nvidia/deepstream/lib/libnvds_msgconv.so"), "native payload"),
    (dict(payload_type=256, msg2p_lib="no_such_module_xyz"), "cannot import"),
    (dict(payload_type=256, msg2p_lib="json:nope"), "has no callable 'nope'"),
    (dict(frame_interval=0), "frame-interval must be >= 1"),
    (dict(frame_interval="often"), "frame-interval must be an integer"),
    (dict(msg2p_newapi="maybe"), "msg2p-newapi must be 0 or 1"),
    (dict(payload_type="full"), "payload-type must be an integer"),
])
def test_property_errors(kw, msg):
    with pytest.raises(ConfigError, match=msg):
        MsgConverter(**kw)


def test_debug_payload_dir(tmp_path):
    conv = MsgConverter(config=CONFIG, debug_payload_dir=tmp_path / "dbg")
    out = conv.process(batch_with_events((2, 1)))
    files = sorted((tmp_path / "dbg").iterdir())
    assert [f.name for f in files] == ["000000.json", "000001.json", "000002.json"]
    assert [json.loads(f.read_bytes())["messageid"] for f in files] == [p.json()["messageid"] for p in out]


def test_string_properties_as_a_launch_line_gives_them():
    conv = MsgConverter(config="", payload_type="1", msg2p_newapi="true", frame_interval="5", comp_id="2",
                        multiple_payloads="0")
    assert (conv.config, conv.payload_type, conv.msg2p_newapi, conv.frame_interval, conv.comp_id) == (None, 1, True, 5, 2)
    assert conv.multiple_payloads is False
