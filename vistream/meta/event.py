"""Event message metadata (``NvDsEventMsgMeta`` and its vehicle / person / face extensions).

A probe attaches one :class:`EventMsgMeta` per event to a frame as user meta of type
``MetaType.EVENT_MSG`` (as deepstream-test4 does); ``nvmsgconv`` turns each into a JSON payload.
Field names are DeepStream's (pyds) names, so probe code ports unchanged::

    from vistream.meta.event import EventMsgMeta, EventType, ObjectType, VehicleObject, attach_event_msg

    ev = EventMsgMeta(type=EventType.ENTRY, objType=ObjectType.VEHICLE, sensorId=0, placeId=0, moduleId=0,
                      frameId=frame_meta.frame_num, trackingId=obj.object_id, confidence=obj.confidence)
    ev.bbox.left, ev.bbox.top, ev.bbox.width, ev.bbox.height = obj.rect_params.xyxy()[0], ...
    ev.extMsg = VehicleObject(type="sedan", color="blue", make="Bugatti", model="M", license="XX1234", region="CA")
    attach_event_msg(frame_meta, ev)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any

from vistream.meta.batch import FrameMeta, MetaType, UserMeta


class EventType(IntEnum):
    """``NvDsEventType``."""

    ENTRY = 0
    EXIT = 1
    MOVING = 2
    STOPPED = 3
    EMPTY = 4
    PARKED = 5
    RESET = 6
    RESERVED = 0x100
    CUSTOM = 0x101


class ObjectType(IntEnum):
    """``NvDsObjectType``."""

    VEHICLE = 0
    PERSON = 1
    FACE = 2
    BAG = 3
    BICYCLE = 4
    ROADSIGN = 5
    VEHICLE_EXT = 6
    PERSON_EXT = 7
    FACE_EXT = 8
    RESERVED = 0x100
    CUSTOM = 0x101
    UNKNOWN = 0x102


@dataclass(slots=True)
class EventRect:
    """``NvDsRect``: a box in frame pixels."""

    top: float = 0.0
    left: float = 0.0
    width: float = 0.0
    height: float = 0.0


@dataclass(slots=True)
class GeoLocation:
    """``NvDsGeoLocation``."""

    lat: float = 0.0
    lon: float = 0.0
    alt: float = 0.0


@dataclass(slots=True)
class Coordinate:
    """``NvDsCoordinate``."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0


@dataclass(slots=True)
class ObjectSignature:
    """``NvDsObjectSignature``: a feature vector (e.g. a re-id embedding)."""

    signature: list[float] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.signature)


@dataclass(slots=True)
class VehicleObject:
    """``NvDsVehicleObject``; ``mask`` (polygons, list of flat x,y lists) makes it ``NvDsVehicleObjectExt``."""

    type: str = ""
    make: str = ""
    model: str = ""
    color: str = ""
    region: str = ""
    license: str = ""
    mask: list[list[float]] | None = None


@dataclass(slots=True)
class PersonObject:
    """``NvDsPersonObject`` (with ``mask``: ``NvDsPersonObjectExt``)."""

    gender: str = ""
    hair: str = ""
    cap: str = ""
    apparel: str = ""
    age: int = 0
    mask: list[list[float]] | None = None


@dataclass(slots=True)
class FaceObject:
    """``NvDsFaceObject`` (with ``mask``: ``NvDsFaceObjectExt``)."""

    gender: str = ""
    hair: str = ""
    cap: str = ""
    glasses: str = ""
    facialhair: str = ""
    name: str = ""
    eyecolor: str = ""
    age: int = 0
    mask: list[list[float]] | None = None


@dataclass(slots=True, eq=False)
class EventMsgMeta:
    """One event to be sent (``NvDsEventMsgMeta``).

    ``sensorId`` / ``placeId`` / ``moduleId`` index the ``[sensorN]`` / ``[placeN]`` / ``[analyticsN]``
    groups of the nvmsgconv config; ``ts`` is an RFC 3339 time (``"2018-04-11T04:59:59.828Z"``), filled
    with the current time by :func:`attach_event_msg` when empty; ``extMsg`` is a :class:`VehicleObject`,
    :class:`PersonObject` or :class:`FaceObject` matching ``objType`` (or None).
    """

    type: int = EventType.ENTRY
    objType: int = ObjectType.UNKNOWN  # noqa: N815 - pyds name
    bbox: EventRect = field(default_factory=EventRect)
    location: GeoLocation = field(default_factory=GeoLocation)
    coordinate: Coordinate = field(default_factory=Coordinate)
    objSignature: ObjectSignature = field(default_factory=ObjectSignature)  # noqa: N815
    objClassId: int = 0  # noqa: N815
    sensorId: int = 0  # noqa: N815
    moduleId: int = 0  # noqa: N815
    placeId: int = 0  # noqa: N815
    componentId: int = 0  # noqa: N815
    frameId: int = 0  # noqa: N815
    confidence: float = 0.0
    trackingId: int = 0  # noqa: N815
    ts: str = ""
    objectId: str = ""  # noqa: N815
    sensorStr: str = ""  # noqa: N815
    otherAttrs: str = ""  # noqa: N815
    videoPath: str = ""  # noqa: N815
    extMsg: Any = None  # noqa: N815

    @property
    def extMsgSize(self) -> int:  # noqa: N802 - pyds name
        return 0 if self.extMsg is None else 1


def rfc3339_now() -> str:
    """Current UTC time as DeepStream writes it: ``2018-04-11T04:59:59.828Z`` (milliseconds)."""
    return rfc3339(datetime.now(timezone.utc))


def rfc3339(t: datetime | int) -> str:
    """A datetime, or nanoseconds since the Unix epoch, as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC)."""
    if isinstance(t, int):
        t = datetime.fromtimestamp(t / 1e9, timezone.utc)
    t = t.astimezone(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def attach_event_msg(frame_meta: FrameMeta, meta: EventMsgMeta) -> UserMeta:
    """Attach ``meta`` to ``frame_meta`` as user meta of type ``MetaType.EVENT_MSG``; fills an empty ``ts``
    from the frame's NTP time (or now) and an unset ``frameId`` from ``frame_num``."""
    if not isinstance(meta, EventMsgMeta):
        raise TypeError(f"attach_event_msg: expected EventMsgMeta, got {type(meta).__name__}")
    if not meta.ts:
        meta.ts = rfc3339(frame_meta.ntp_timestamp) if frame_meta.ntp_timestamp else rfc3339_now()
    if not meta.frameId:
        meta.frameId = frame_meta.frame_num
    um = UserMeta(user_meta_data=meta)
    um.base_meta.meta_type = MetaType.EVENT_MSG
    frame_meta.add_user_meta(um)
    return um


def event_msgs(frame_meta: FrameMeta) -> list[EventMsgMeta]:
    """The :class:`EventMsgMeta` attached to a frame, in attachment order."""
    return [m.user_meta_data for m in frame_meta.user_meta_of_type(MetaType.EVENT_MSG)]


# pyds spellings, so DeepStream probe code ports by changing the import only
NvDsEventMsgMeta = EventMsgMeta
NvDsVehicleObject = VehicleObject
NvDsPersonObject = PersonObject
NvDsFaceObject = FaceObject

__all__ = [
    "Coordinate", "EventMsgMeta", "EventRect", "EventType", "FaceObject", "GeoLocation", "NvDsEventMsgMeta",
    "NvDsFaceObject", "NvDsPersonObject", "NvDsVehicleObject", "ObjectSignature", "ObjectType", "PersonObject",
    "VehicleObject", "attach_event_msg", "event_msgs", "rfc3339", "rfc3339_now",
]
