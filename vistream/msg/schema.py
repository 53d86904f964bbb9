"""Payload builders for DeepStream's published message schemas.

* full schema (payload-type 0, ``mdsversion`` 1.0): one message per event, from :class:`EventMsgMeta`
  (:func:`full_from_event`) or, with ``msg2p-newapi``, one per object straight from :class:`ObjectMeta`
  (:func:`full_from_object`);
* minimal schema (payload-type 1, ``version`` 4.0): one message per frame listing every object as a
  ``"id|left|top|right|bottom|label[|#|attributes...]"`` string (:func:`minimal_from_events`,
  :func:`minimal_from_frame`).

The JSON Schemas in ``vistream/msg/schemas/`` describe both; :func:`validate` checks a payload against them.
"""

from __future__ import annotations

import json
import uuid
from functools import cache
from importlib import resources
from typing import Any

from vistream.meta.batch import FrameMeta, ObjectMeta
from vistream.meta.event import (
    EventMsgMeta,
    EventType,
    FaceObject,
    ObjectType,
    PersonObject,
    VehicleObject,
    rfc3339,
    rfc3339_now,
)
from vistream.msg.config import AnalyticsInfo, MsgConvConfig, PlaceInfo, SensorInfo


class MsgConvError(ValueError):
    """An event or frame that cannot be converted (e.g. its sensorId has no ``[sensorN]`` group)."""


_EVENT_NAMES = {EventType.ENTRY: "entry", EventType.EXIT: "exit", EventType.MOVING: "moving",
                EventType.STOPPED: "stopped", EventType.PARKED: "parked", EventType.EMPTY: "empty",
                EventType.RESET: "reset"}
_OBJECT_NAMES = {ObjectType.VEHICLE: "Vehicle", ObjectType.FACE: "Face", ObjectType.PERSON: "Person",
                 ObjectType.BAG: "Bag", ObjectType.BICYCLE: "Bicycle", ObjectType.ROADSIGN: "RoadSign",
                 ObjectType.CUSTOM: "Custom"}


def _xyz(v) -> dict[str, float]:
    return {"x": float(v[0]), "y": float(v[1]), "z": float(v[2])}


def _lla(v) -> dict[str, float]:
    return {"lat": float(v[0]), "lon": float(v[1]), "alt": float(v[2])}


def _lookup(table: dict, idx: int, group: str, cfg: MsgConvConfig | None, default):
    if cfg is None:
        return default
    try:
        return table[idx]
    except KeyError:
        raise MsgConvError(f"{cfg.path or 'msgconv config'}: no [{group}{idx}] group "
                           f"(needed by an event with {group}Id={idx})") from None


def _sensor(cfg: MsgConvConfig | None, idx: int, fallback_id: str) -> dict[str, Any]:
    s: SensorInfo = _lookup(cfg.sensors if cfg else {}, idx, "sensor", cfg, SensorInfo(id=fallback_id))
    return {"id": s.id, "type": s.type, "description": s.description, "location": _lla(s.location),
            "coordinate": _xyz(s.coordinate)}


def _analytics(cfg: MsgConvConfig | None, idx: int) -> dict[str, Any]:
    a: AnalyticsInfo = _lookup(cfg.analytics if cfg else {}, idx, "analytics", cfg, AnalyticsInfo())
    return {"id": a.id, "description": a.description, "source": a.source, "version": a.version}


def _place_base(p: PlaceInfo) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "type": p.type, "location": _lla(p.location)}


def _place_for_event(cfg: MsgConvConfig | None, ev: EventMsgMeta) -> dict[str, Any]:
    p: PlaceInfo = _lookup(cfg.places if cfg else {}, ev.placeId, "place", cfg, PlaceInfo())
    out = _place_base(p)
    f1, f2, f3 = p.sub_field
    # DeepStream names the place sub-object after the event: aisle (moving / stopped, vehicle entry / exit),
    # parkingSpot (parked / empty), entrance (other entry / exit)
    et = ev.type
    if et in (EventType.MOVING, EventType.STOPPED) or (
            et in (EventType.ENTRY, EventType.EXIT) and ev.objType == ObjectType.VEHICLE):
        out["aisle"] = {"id": f1, "name": f2, "level": f3, "coordinate": _xyz(p.coordinate)}
    elif et in (EventType.PARKED, EventType.EMPTY):
        out["parkingSpot"] = {"id": f1, "type": f2, "level": f3, "coordinate": _xyz(p.coordinate)}
    elif et in (EventType.ENTRY, EventType.EXIT):
        out["entrance"] = {"name": f1, "lane": f2, "level": f3, "coordinate": _xyz(p.coordinate)}
    return out


def _ext_object(ev: EventMsgMeta) -> tuple[str, dict[str, Any]] | None:
    ot, ext, conf = ev.objType, ev.extMsg, float(ev.confidence)
    if ot in (ObjectType.VEHICLE, ObjectType.VEHICLE_EXT):
        v = ext if isinstance(ext, VehicleObject) else None
        return "vehicle", {
            "type": v.type if v else "", "make": v.make if v else "", "model": v.model if v else "",
            "color": v.color if v else "", "licenseState": v.region if v else "",
            "license": v.license if v else "", "confidence": conf if v else 1.0}
    if ot in (ObjectType.PERSON, ObjectType.PERSON_EXT):
        p = ext if isinstance(ext, PersonObject) else None
        return "person", {
            "age": int(p.age) if p else 0, "gender": p.gender if p else "", "hair": p.hair if p else "",
            "cap": p.cap if p else "", "apparel": p.apparel if p else "", "confidence": conf if p else 1.0}
    if ot in (ObjectType.FACE, ObjectType.FACE_EXT):
        f = ext if isinstance(ext, FaceObject) else None
        return "face", {
            "age": int(f.age) if f else 0, "gender": f.gender if f else "", "hair": f.hair if f else "",
            "cap": f.cap if f else "", "glasses": f.glasses if f else "",
            "facialhair": f.facialhair if f else "", "name": f.name if f else "",
            "eyecolor": f.eyecolor if f else "", "confidence": conf if f else 1.0}
    if ot == ObjectType.UNKNOWN and ev.objectId:
        return ev.objectId, {}
    return None


def _check_ext(ev: EventMsgMeta) -> None:
    expected = {ObjectType.VEHICLE: VehicleObject, ObjectType.VEHICLE_EXT: VehicleObject,
                ObjectType.PERSON: PersonObject, ObjectType.PERSON_EXT: PersonObject,
                ObjectType.FACE: FaceObject, ObjectType.FACE_EXT: FaceObject}.get(ev.objType)
    if ev.extMsg is not None and expected is not None and not isinstance(ev.extMsg, expected):
        raise MsgConvError(f"event meta: objType {ObjectType(ev.objType).name} needs extMsg of type "
                           f"{expected.__name__}, got {type(ev.extMsg).__name__}")


def _bbox(left: float, top: float, width: float, height: float) -> dict[str, int]:
    # DeepStream stores these with json_object_set_int_member: whole pixels
    return {"topleftx": int(left), "toplefty": int(top), "bottomrightx": int(left + width),
            "bottomrighty": int(top + height)}


def full_from_event(ev: EventMsgMeta, cfg: MsgConvConfig | None) -> dict[str, Any]:
    """The full-schema message of one event (``generate_event_message``)."""
    _check_ext(ev)
    obj: dict[str, Any] = {"id": str(int(ev.trackingId) & 0xFFFFFFFFFFFFFFFF), "speed": 0.0, "direction": 0.0,
                           "orientation": 0.0}
    ext = _ext_object(ev)
    if ext is not None:
        obj[ext[0]] = ext[1]
    obj["bbox"] = _bbox(ev.bbox.left, ev.bbox.top, ev.bbox.width, ev.bbox.height)
    mask = getattr(ev.extMsg, "mask", None)
    if mask:
        obj["maskoutline"] = [[float(x) for x in poly] for poly in mask]
    if ev.objSignature.size:
        obj["signature"] = [float(x) for x in ev.objSignature.signature]
    obj["location"] = {"lat": float(ev.location.lat), "lon": float(ev.location.lon), "alt": float(ev.location.alt)}
    obj["coordinate"] = {"x": float(ev.coordinate.x), "y": float(ev.coordinate.y), "z": float(ev.coordinate.z)}
    if ev.type not in _EVENT_NAMES:
        raise MsgConvError(f"event meta: event type {int(ev.type)} has no name in the full schema "
                           f"(use one of {', '.join(e.name for e in _EVENT_NAMES)})")
    return {
        "messageid": str(uuid.uuid4()),
        "mdsversion": "1.0",
        "@timestamp": ev.ts or rfc3339_now(),
        "place": _place_for_event(cfg, ev),
        "sensor": _sensor(cfg, ev.sensorId, ev.sensorStr or str(ev.sensorId)),
        "analyticsModule": _analytics(cfg, ev.moduleId),
        "object": obj,
        "event": {"id": str(uuid.uuid4()), "type": _EVENT_NAMES[EventType(ev.type)]},
        "videoPath": ev.videoPath or "",
    }


def _fmt(x: float) -> str:
    # C++ ostream default formatting (6 significant digits, no trailing zeros), as DeepStream writes
    return f"{x:.6g}"


def _minimal_object(ev: EventMsgMeta) -> str:
    _check_ext(ev)
    b = ev.bbox
    # as DeepStream's object_enum_to_str: only UNKNOWN objects are named by objectId; *_EXT types are "Unknown"
    name = (ev.objectId or "Unknown") if ev.objType == ObjectType.UNKNOWN else _OBJECT_NAMES.get(ev.objType, "Unknown")
    s = f"{ev.trackingId}|{_fmt(b.left)}|{_fmt(b.top)}|{_fmt(b.left + b.width)}|{_fmt(b.top + b.height)}|{name}"
    x, c = ev.extMsg, _fmt(float(ev.confidence))
    if isinstance(x, VehicleObject):
        s += f"|#|{x.type}|{x.make}|{x.model}|{x.color}|{x.license}|{x.region}|{c}"
    elif isinstance(x, PersonObject):
        s += f"|#|{x.gender}|{x.age}|{x.hair}|{x.cap}|{x.apparel}|{c}"
    elif isinstance(x, FaceObject):
        s += f"|#|{x.gender}|{x.age}|{x.hair}|{x.cap}|{x.glasses}|{x.facialhair}|{x.name}||{x.eyecolor}|{c}"
    return s


def minimal_from_events(events: list[EventMsgMeta], cfg: MsgConvConfig | None) -> dict[str, Any]:
    """One minimal-schema message for the events of one frame (``generate_event_message_minimal``)."""
    if not events:
        raise MsgConvError("minimal schema: no events to convert")
    first = events[0]
    if first.sensorStr:
        sensor = first.sensorStr
    elif cfg is not None and first.sensorId in cfg.sensors:
        sensor = cfg.sensors[first.sensorId].id
    elif cfg is not None:
        raise MsgConvError(f"{cfg.path or 'msgconv config'}: no [sensor{first.sensorId}] group "
                           f"(needed by an event with sensorId={first.sensorId})")
    else:
        sensor = str(first.sensorId)
    out: dict[str, Any] = {"version": "4.0", "id": int(first.frameId), "@timestamp": first.ts or rfc3339_now(),
                           "sensorId": sensor, "objects": [_minimal_object(e) for e in events]}
    masks = []
    for e in events:
        mask = getattr(e.extMsg, "mask", None)
        if mask:
            # "trackingId|numPolygons|x|y|...|#|x|y|..." as generate_mask_array writes it
            s = f"{e.trackingId}|{len(mask)}"
            for i, poly in enumerate(mask):
                s += ("|#" if i else "") + "".join(f"|{_fmt(float(v))}" for v in poly)
            masks.append(s)
    if masks:
        out["masks"] = masks
    return out


# ---------------------------------------------------------------------------------------------------------
# msg2p-newapi: straight from object metadata

def _scaled_box(frame: FrameMeta, obj: ObjectMeta) -> tuple[float, float, float, float]:
    # boxes live in pipeline (muxer) pixels; messages report source pixels
    sw = frame.source_frame_width / frame.pipeline_width if frame.pipeline_width and frame.source_frame_width else 1.0
    sh = frame.source_frame_height / frame.pipeline_height if frame.pipeline_height and frame.source_frame_height \
        else 1.0
    r = obj.rect_params
    return r.left * sw, r.top * sh, r.width * sw, r.height * sh


def _frame_ts(frame: FrameMeta) -> str:
    return rfc3339(frame.ntp_timestamp) if frame.ntp_timestamp else rfc3339_now()


def _object_id(obj: ObjectMeta) -> str:
    return str(int(obj.object_id) & 0xFFFFFFFFFFFFFFFF)


def full_from_object(frame: FrameMeta, obj: ObjectMeta, cfg: MsgConvConfig | None) -> dict[str, Any]:
    """The full-schema message of one object (``generate_dsmeta_message``): sensor, place and analytics
    module come from the groups numbered like the frame's ``source_id``; the object's label names its
    sub-object, which carries the confidence and one ``classifier_type: label`` entry per classifier."""
    sid = frame.source_id
    place: PlaceInfo = _lookup(cfg.places if cfg else {}, sid, "place", cfg, PlaceInfo())
    place_obj = _place_base(place)
    place_obj["place-sub-field"] = {"id": place.sub_field[0], "name": place.sub_field[1],
                                    "level": place.sub_field[2], "coordinate": _xyz(place.coordinate)}
    attrs: dict[str, Any] = {"confidence": float(obj.confidence)}
    for cm in obj.classifier_meta_list:
        if cm.classifier_type:
            for li in cm.label_info_list:
                attrs[cm.classifier_type] = li.result_label
    label = obj.obj_label or f"class{obj.class_id}"
    return {
        "messageid": str(uuid.uuid4()),
        "mdsversion": "1.0",
        "@timestamp": _frame_ts(frame),
        "place": place_obj,
        "sensor": _sensor(cfg, sid, str(sid)),
        "analyticsModule": _analytics(cfg, sid),
        "object": {"id": _object_id(obj), "speed": 0.0, "direction": 0.0, "orientation": 0.0, label: attrs,
                   "bbox": _bbox(*_scaled_box(frame, obj)), "location": {}, "coordinate": {}},
        "event": {"id": str(uuid.uuid4()), "type": ""},
        "videoPath": "",
    }


def minimal_from_frame(frame: FrameMeta, cfg: MsgConvConfig | None) -> dict[str, Any]:
    """One minimal-schema message for all objects of a frame (``generate_dsmeta_message_minimal``)."""
    objects = []
    for obj in frame.obj_meta_list:
        left, top, w, h = _scaled_box(frame, obj)
        s = f"{_object_id(obj)}|{_fmt(left)}|{_fmt(top)}|{_fmt(left + w)}|{_fmt(top + h)}|{obj.obj_label}"
        if obj.classifier_meta_list:
            s += "|#" + "".join(f"|{li.result_label}" for cm in obj.classifier_meta_list for li in cm.label_info_list)
            s += f"|{_fmt(float(obj.confidence))}"
        objects.append(s)
    sensor = "0"
    if cfg is not None and frame.source_id in cfg.sensors:
        sensor = cfg.sensors[frame.source_id].id
    return {"version": "4.0", "id": str(frame.frame_num), "@timestamp": _frame_ts(frame), "sensorId": sensor,
            "objects": objects}


# ---------------------------------------------------------------------------------------------------------

def dumps(payload: Any) -> bytes:
    """Serialise a payload dict to compact UTF-8 JSON (bytes and str pass through)."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in ``vistream/msg/schemas`` (``"full"`` or ``"minimal"``)."""
    return json.loads(resources.files("vistream.msg").joinpath("schemas", f"{name}.json").read_text())


def validate(payload: dict[str, Any] | bytes | str, schema: str = "full") -> None:
    """Raise ``jsonschema.ValidationError`` unless ``payload`` follows the named schema (needs jsonschema)."""
    if isinstance(payload, (bytes, str)):
        payload = json.loads(payload)
    _validator(schema).validate(payload)


@cache
def _validator(name: str):
    import jsonschema  # noqa: PLC0415 - optional, only for validation

    schema = load_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)
