"""Payloads follow DeepStream's full and minimal schemas field for field; the JSON Schemas catch deviations."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from vistream.meta import ClassifierMeta, LabelInfo, make_object, new_frame_meta
from vistream.meta.event import (
    EventMsgMeta,
    EventRect,
    EventType,
    FaceObject,
    ObjectSignature,
    ObjectType,
    PersonObject,
    VehicleObject,
)
from vistream.msg import schema
from vistream.msg.config import MsgConvConfig
from vistream.msg.schema import MsgConvError, validate

CFG = MsgConvConfig.load(Path(__file__).resolve().parents[2] / "samples/configs/msgconv/msgconv_config.txt")
TS = "2018-04-11T04:59:59.828Z"


def vehicle_event(**kw) -> EventMsgMeta:
    ev = EventMsgMeta(type=EventType.ENTRY, objType=ObjectType.VEHICLE, sensorId=1, placeId=1, moduleId=1,
                      frameId=42, trackingId=17, confidence=0.8, ts=TS,
                      bbox=EventRect(top=150.0, left=957.5, width=961.0, height=65.0),
                      extMsg=VehicleObject(type="sedan", make="Bugatti", model="M", color="blue", region="CA",
                                           license="XX1234"))
    for k, v in kw.items():
        setattr(ev, k, v)
    return ev


def test_full_vehicle_message_field_for_field():
    m = schema.full_from_event(vehicle_event(), CFG)
    validate(m, "full")
    assert list(m) == ["messageid", "mdsversion", "@timestamp", "place", "sensor", "analyticsModule", "object",
                       "event", "videoPath"]
    assert m["mdsversion"] == "1.0" and m["@timestamp"] == TS and m["videoPath"] == ""
    assert m["sensor"] == {"id": "HWY_20_AND_LOCUST__WBA__4_11_2018_4_59_59_379_AM_UTC-07_00", "type": "Camera",
                           "description": "Aisle Camera",
                           "location": {"lat": 45.293701447, "lon": -75.8303914499, "alt": 48.1557479338},
                           "coordinate": {"x": 5.2, "y": 10.1, "z": 11.2}}
    assert m["analyticsModule"] == {"id": "XYZ_2", "description": "Vehicle Detection and License Plate Recognition 1",
                                    "source": "OpenALR", "version": "1.0"}
    # vehicle entry -> place sub-object "aisle" with id/name/level from place-sub-field1..3
    assert m["place"]["aisle"] == {"id": "C_127_158", "name": "Lane 1", "level": "P1",
                                   "coordinate": {"x": 1.0, "y": 2.0, "z": 3.0}}
    o = m["object"]
    assert o["id"] == "17" and (o["speed"], o["direction"], o["orientation"]) == (0.0, 0.0, 0.0)
    assert o["vehicle"] == {"type": "sedan", "make": "Bugatti", "model": "M", "color": "blue", "licenseState": "CA",
                            "license": "XX1234", "confidence": 0.8}
    assert o["bbox"] == {"topleftx": 957, "toplefty": 150, "bottomrightx": 1918, "bottomrighty": 215}
    assert m["event"]["type"] == "entry" and len(m["event"]["id"]) == 36


@pytest.mark.parametrize("etype, otype, sub, keys", [
    (EventType.MOVING, ObjectType.PERSON, "aisle", ["id", "name", "level", "coordinate"]),
    (EventType.PARKED, ObjectType.VEHICLE, "parkingSpot", ["id", "type", "level", "coordinate"]),
    (EventType.EMPTY, ObjectType.VEHICLE, "parkingSpot", ["id", "type", "level", "coordinate"]),
    (EventType.EXIT, ObjectType.PERSON, "entrance", ["name", "lane", "level", "coordinate"]),
])
def test_place_sub_object_follows_event_type(etype, otype, sub, keys):
    m = schema.full_from_event(vehicle_event(type=etype, objType=otype, extMsg=None), CFG)
    validate(m)
    assert list(m["place"][sub]) == keys
    assert m["place"][sub][keys[0]] == "C_127_158"


def test_person_and_face_and_empty_ext():
    p = schema.full_from_event(vehicle_event(objType=ObjectType.PERSON, extMsg=PersonObject(
        gender="male", age=45, hair="black", cap="none", apparel="formal")), CFG)
    assert p["object"]["person"] == {"age": 45, "gender": "male", "hair": "black", "cap": "none",
                                     "apparel": "formal", "confidence": 0.8}
    f = schema.full_from_event(vehicle_event(objType=ObjectType.FACE, extMsg=FaceObject(name="x", eyecolor="brown")),
                               CFG)
    assert f["object"]["face"]["name"] == "x" and f["object"]["face"]["eyecolor"] == "brown"
    # no extMsg: DeepStream attaches an empty sub-object with confidence 1.0
    e = schema.full_from_event(vehicle_event(extMsg=None), CFG)
    assert e["object"]["vehicle"] == {"type": "", "make": "", "model": "", "color": "", "licenseState": "",
                                      "license": "", "confidence": 1.0}
    for m in (p, f, e):
        validate(m)


def test_signature_and_mask():
    ev = vehicle_event(objSignature=ObjectSignature([0.5, -1.0]))
    ev.extMsg.mask = [[1, 2, 3, 4], [5, 6]]
    m = schema.full_from_event(ev, CFG)
    assert m["object"]["signature"] == [0.5, -1.0] and m["object"]["maskoutline"] == [[1, 2, 3, 4], [5, 6]]
    validate(m)
    mini = schema.minimal_from_events([ev], CFG)
    assert mini["masks"] == ["17|2|1|2|3|4|#|5|6"]


def test_minimal_message_strings():
    evs = [vehicle_event(),
           vehicle_event(trackingId=18, objType=ObjectType.PERSON, extMsg=PersonObject(gender="f", age=30)),
           vehicle_event(trackingId=19, objType=ObjectType.UNKNOWN, objectId="forklift", extMsg=None),
           vehicle_event(trackingId=20, objType=ObjectType.BICYCLE, objectId="ignored", extMsg=None)]
    m = schema.minimal_from_events(evs, CFG)
    validate(m, "minimal")
    assert m["version"] == "4.0" and m["id"] == 42 and m["@timestamp"] == TS
    assert m["sensorId"] == "HWY_20_AND_LOCUST__WBA__4_11_2018_4_59_59_379_AM_UTC-07_00"
    assert m["objects"] == ["17|957.5|150|1918.5|215|Vehicle|#|sedan|Bugatti|M|blue|XX1234|CA|0.8",
                            "18|957.5|150|1918.5|215|Person|#|f|30||||0.8",
                            "19|957.5|150|1918.5|215|forklift",
                            "20|957.5|150|1918.5|215|Bicycle"]


def test_missing_groups_are_clear_errors():
    with pytest.raises(MsgConvError, match=r"msgconv_config.txt: no \[sensor7\] group"):
        schema.full_from_event(vehicle_event(sensorId=7), CFG)
    with pytest.raises(MsgConvError, match=r"no \[place3\] group"):
        schema.full_from_event(vehicle_event(placeId=3), CFG)
    with pytest.raises(MsgConvError, match="needs extMsg of type VehicleObject"):
        schema.full_from_event(vehicle_event(extMsg=PersonObject()), CFG)
    with pytest.raises(MsgConvError, match="event type 257"):
        schema.full_from_event(vehicle_event(type=EventType.CUSTOM), CFG)


def test_without_config_sensor_falls_back_to_ids():
    m = schema.full_from_event(vehicle_event(sensorStr="cam-9"), None)
    validate(m)
    assert m["sensor"]["id"] == "cam-9" and m["place"]["id"] == ""
    assert schema.minimal_from_events([vehicle_event()], None)["sensorId"] == "1"


def test_new_api_messages_from_object_meta():
    frame = new_frame_meta(1, 90, 0, 1920, 1080)
    frame.pipeline_width, frame.pipeline_height = 960, 540  # boxes in muxer pixels, messages in source pixels
    frame.ntp_timestamp = 1_523_422_799_828_000_000
    obj = make_object(100, 50, 40, 30, class_id=2, confidence=0.75, label="car")
    obj.object_id = 5
    obj.add_classifier_meta(ClassifierMeta(label_info_list=[LabelInfo(result_label="blue")], classifier_type="color"))
    frame.add_obj_meta(obj)
    full = schema.full_from_object(frame, obj, CFG)
    validate(full)
    assert full["@timestamp"] == TS and full["sensor"]["id"].startswith("HWY_20_AND_LOCUST__WBA")
    assert full["object"]["car"] == {"confidence": 0.75, "color": "blue"}
    assert full["object"]["bbox"] == {"topleftx": 200, "toplefty": 100, "bottomrightx": 280, "bottomrighty": 160}
    assert full["place"]["place-sub-field"]["id"] == "C_127_158" and full["event"]["type"] == ""
    mini = schema.minimal_from_frame(frame, CFG)
    validate(mini, "minimal")
    assert mini["id"] == "90" and mini["objects"] == ["5|200|100|280|160|car|#|blue|0.75"]


@pytest.mark.parametrize("mutate", [
    lambda m: m.pop("sensor"),
    lambda m: m.update(mdsversion="2.0"),
    lambda m: m["object"]["bbox"].update(topleftx=1.5),
    lambda m: m["event"].update(type="teleported"),
    lambda m: m["object"]["vehicle"].pop("license"),
    lambda m: m.update(extra=1),
    lambda m: m.update({"@timestamp": "yesterday"}),
])
def test_schema_rejects_deviations(mutate):
    m = json.loads(json.dumps(schema.full_from_event(vehicle_event(), CFG)))
    mutate(m)
    with pytest.raises(jsonschema.ValidationError):
        validate(m, "full")


def test_minimal_schema_rejects_bad_object_string():
    m = schema.minimal_from_events([vehicle_event()], CFG)
    m["objects"].append("17;957;150")
    with pytest.raises(jsonschema.ValidationError):
        validate(m, "minimal")
