"""DeepStream-shaped metadata: BatchMeta → FrameMeta → ObjectMeta → ClassifierMeta → LabelInfo, DisplayMeta, UserMeta."""

from __future__ import annotations

from typing import Any

from vistream.meta.batch import (
    UNTRACKED_OBJECT_ID,
    BaseMeta,
    BatchMeta,
    BboxCoords,
    ClassifierMeta,
    CompBboxInfo,
    DisplayMeta,
    FrameMeta,
    LabelInfo,
    MetaType,
    ObjectMeta,
    UserMeta,
    make_object,
    new_frame_meta,
)
from vistream.meta.detections import Detections
from vistream.meta.event import (
    EventMsgMeta,
    EventType,
    FaceObject,
    ObjectType,
    PersonObject,
    VehicleObject,
    attach_event_msg,
    event_msgs,
)
from vistream.meta.osd import (
    ArrowParams,
    CircleParams,
    ColorParams,
    FontParams,
    LineParams,
    MaskParams,
    RectParams,
    TextParams,
)


def get_batch_meta(buffer: Any) -> BatchMeta | None:
    """The :class:`BatchMeta` of a buffer (``pyds.gst_buffer_get_nvds_batch_meta``), or None before a muxer."""
    return getattr(buffer, "batch_meta", None)


__all__ = [
    "UNTRACKED_OBJECT_ID", "ArrowParams", "EventMsgMeta", "EventType", "FaceObject", "ObjectType", "PersonObject",
    "VehicleObject", "attach_event_msg", "event_msgs", "BaseMeta", "BatchMeta", "BboxCoords", "CircleParams", "ClassifierMeta",
    "ColorParams", "CompBboxInfo", "Detections", "DisplayMeta", "FontParams", "FrameMeta", "LabelInfo", "LineParams",
    "MaskParams", "MetaType", "ObjectMeta", "RectParams", "TextParams", "UserMeta", "get_batch_meta", "make_object",
    "new_frame_meta",
]
