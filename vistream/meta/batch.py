"""The metadata tree carried by every batched buffer: batch → frame → object → classifier → label.

Field names follow DeepStream's pyds bindings (``frame_meta.source_id``, ``obj_meta.rect_params.left``) so
DeepStream Python code ports with little change; the lists are plain Python lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from vistream.meta.osd import (
    ArrowParams,
    CircleParams,
    ColorParams,
    LineParams,
    MaskParams,
    RectParams,
    TextParams,
)

UNTRACKED_OBJECT_ID = 0xFFFFFFFFFFFFFFFF  # DeepStream's UNTRACKED_OBJECT_ID


class MetaType(IntEnum):
    """Types of metadata (``NvDsMetaType``); user meta may also use any int >= ``START_USER_META``."""

    INVALID = -1
    BATCH = 1
    FRAME = 2
    OBJ = 3
    DISPLAY = 4
    CLASSIFIER = 5
    LABEL_INFO = 6
    USER = 7
    PAYLOAD = 8
    EVENT_MSG = 9
    OPTICAL_FLOW = 10
    LATENCY_MEASUREMENT = 11
    TENSOR_OUTPUT = 12  # NVDSINFER_TENSOR_OUTPUT_META
    SEGMENTATION = 13  # NVDSINFER_SEGMENTATION_META
    CROP_IMAGE = 14
    TRACKER_PAST_FRAME = 15  # NVDS_TRACKER_PAST_FRAME_META
    AUDIO_BATCH = 16
    AUDIO_FRAME = 17
    ANALYTICS_FRAME = 18  # NvDsAnalyticsFrameMeta
    ANALYTICS_OBJ = 19  # NvDsAnalyticsObjInfo
    TRACKER_REID = 20
    START_USER_META = 4096


@dataclass(slots=True)
class BaseMeta:
    meta_type: int = MetaType.INVALID


@dataclass(slots=True)
class UserMeta:
    """User-defined metadata (``NvDsUserMeta``): ``base_meta.meta_type`` says what ``user_meta_data`` is."""

    user_meta_data: Any = None
    base_meta: BaseMeta = field(default_factory=lambda: BaseMeta(MetaType.USER))

    @property
    def meta_type(self) -> int:
        return self.base_meta.meta_type


@dataclass(slots=True)
class LabelInfo:
    """One classification result (``NvDsLabelInfo``)."""

    result_label: str = ""
    result_class_id: int = 0
    result_prob: float = 0.0
    label_id: int = 0  # index of the output layer (attribute) this label belongs to
    num_classes: int = 0

    @property
    def pResult_label(self) -> str:  # noqa: N802 - pyds name
        return self.result_label


@dataclass(slots=True)
class ClassifierMeta:
    """Results of one classifier on one object (``NvDsClassifierMeta``)."""

    unique_component_id: int = 0
    label_info_list: list[LabelInfo] = field(default_factory=list)
    classifier_type: str = ""

    @property
    def num_labels(self) -> int:
        return len(self.label_info_list)


@dataclass(slots=True)
class BboxCoords:
    """``NvBbox_Coords``."""

    left: float = 0.0
    top: float = 0.0
    width: float = 0.0
    height: float = 0.0


@dataclass(slots=True)
class CompBboxInfo:
    """``NvDsComp_BboxInfo``: the box a component (detector or tracker) produced."""

    org_bbox_coords: BboxCoords = field(default_factory=BboxCoords)


@dataclass(slots=True, eq=False)
class ObjectMeta:
    """One detected or tracked object (``NvDsObjectMeta``), boxes in the frame's own pixels."""

    unique_component_id: int = -1
    class_id: int = 0
    object_id: int = UNTRACKED_OBJECT_ID
    confidence: float = 0.0
    tracker_confidence: float = 0.0
    rect_params: RectParams = field(default_factory=RectParams)
    text_params: TextParams = field(default_factory=TextParams)
    mask_params: MaskParams = field(default_factory=MaskParams)
    obj_label: str = ""
    classifier_meta_list: list[ClassifierMeta] = field(default_factory=list)
    obj_user_meta_list: list[UserMeta] = field(default_factory=list)
    detector_bbox_info: CompBboxInfo = field(default_factory=CompBboxInfo)
    tracker_bbox_info: CompBboxInfo = field(default_factory=CompBboxInfo)
    parent: ObjectMeta | None = None
    misc_obj_info: list[int] = field(default_factory=lambda: [0, 0, 0, 0])

    def add_classifier_meta(self, meta: ClassifierMeta) -> None:
        self.classifier_meta_list.append(meta)

    def add_user_meta(self, meta: UserMeta) -> None:
        self.obj_user_meta_list.append(meta)

    @property
    def is_tracked(self) -> bool:
        return self.object_id != UNTRACKED_OBJECT_ID


@dataclass(slots=True)
class DisplayMeta:
    """Things to draw on one frame (``NvDsDisplayMeta``). DeepStream caps each list at 16; here they grow."""

    rect_params: list[RectParams] = field(default_factory=list)
    text_params: list[TextParams] = field(default_factory=list)
    line_params: list[LineParams] = field(default_factory=list)
    arrow_params: list[ArrowParams] = field(default_factory=list)
    circle_params: list[CircleParams] = field(default_factory=list)
    user_data: Any = None

    @property
    def num_rects(self) -> int:
        return len(self.rect_params)

    @property
    def num_labels(self) -> int:
        return len(self.text_params)

    @property
    def num_lines(self) -> int:
        return len(self.line_params)

    @property
    def num_arrows(self) -> int:
        return len(self.arrow_params)

    @property
    def num_circles(self) -> int:
        return len(self.circle_params)


@dataclass(slots=True, eq=False)
class FrameMeta:
    """Metadata of one frame in a batch (``NvDsFrameMeta``)."""

    source_id: int = 0
    batch_id: int = 0
    pad_index: int = 0
    frame_num: int = 0
    buf_pts: int = 0  # nanoseconds
    ntp_timestamp: int = 0  # nanoseconds since the Unix epoch
    source_frame_width: int = 0
    source_frame_height: int = 0
    pipeline_width: int = 0
    pipeline_height: int = 0
    obj_meta_list: list[ObjectMeta] = field(default_factory=list)
    display_meta_list: list[DisplayMeta] = field(default_factory=list)
    frame_user_meta_list: list[UserMeta] = field(default_factory=list)
    bInferDone: int = 0  # noqa: N815 - pyds name
    misc_frame_info: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    ingest_time: float = 0.0  # time.monotonic() when the decoder produced the frame (latency measurement)

    @property
    def num_obj_meta(self) -> int:
        return len(self.obj_meta_list)

    def add_obj_meta(self, obj: ObjectMeta, parent: ObjectMeta | None = None) -> ObjectMeta:
        if parent is not None:
            obj.parent = parent
        self.obj_meta_list.append(obj)
        return obj

    def remove_obj_meta(self, obj: ObjectMeta) -> None:
        self.obj_meta_list.remove(obj)

    def add_display_meta(self, meta: DisplayMeta) -> None:
        self.display_meta_list.append(meta)

    def add_user_meta(self, meta: UserMeta) -> None:
        self.frame_user_meta_list.append(meta)

    def user_meta_of_type(self, meta_type: int) -> list[UserMeta]:
        return [m for m in self.frame_user_meta_list if m.base_meta.meta_type == meta_type]

    def detections(self):
        """The frame's objects as parallel NumPy arrays (see :class:`vistream.meta.Detections`)."""
        from vistream.meta.detections import Detections

        return Detections.from_objects(self.obj_meta_list)


@dataclass(slots=True, eq=False)
class BatchMeta:
    """Metadata of a batched buffer (``NvDsBatchMeta``)."""

    max_frames_in_batch: int = 1
    frame_meta_list: list[FrameMeta] = field(default_factory=list)
    batch_user_meta_list: list[UserMeta] = field(default_factory=list)

    @property
    def num_frames_in_batch(self) -> int:
        return len(self.frame_meta_list)

    def add_user_meta(self, meta: UserMeta) -> None:
        self.batch_user_meta_list.append(meta)

    def user_meta_of_type(self, meta_type: int) -> list[UserMeta]:
        return [m for m in self.batch_user_meta_list if m.base_meta.meta_type == meta_type]

    def objects(self):
        """Iterate ``(frame_meta, obj_meta)`` over the whole batch."""
        for fm in self.frame_meta_list:
            for om in fm.obj_meta_list:
                yield fm, om


def make_object(
    left: float,
    top: float,
    width: float,
    height: float,
    *,
    class_id: int = 0,
    confidence: float = 0.0,
    label: str = "",
    component_id: int = -1,
    border_color: ColorParams | None = None,
) -> ObjectMeta:
    """Build an :class:`ObjectMeta` with its rectangle, label text and detector box filled in."""
    rect = RectParams(float(left), float(top), float(width), float(height))
    if border_color is not None:
        rect.border_color = border_color
    om = ObjectMeta(
        unique_component_id=component_id,
        class_id=int(class_id),
        confidence=float(confidence),
        rect_params=rect,
        obj_label=label,
    )
    om.detector_bbox_info.org_bbox_coords = BboxCoords(rect.left, rect.top, rect.width, rect.height)
    om.text_params.display_text = label
    om.text_params.x_offset = int(max(0, left))
    om.text_params.y_offset = int(max(0, top - 10))
    return om




def new_frame_meta(source_id: int, frame_num: int, pts: int, width: int, height: int,
                   batch_id: int = 0) -> FrameMeta:
    """A FrameMeta for a frame of ``width x height`` from ``source_id`` at index ``batch_id`` of its batch."""
    return FrameMeta(
        source_id=source_id,
        batch_id=batch_id,
        pad_index=source_id,
        frame_num=frame_num,
        buf_pts=pts,
        source_frame_width=width,
        source_frame_height=height,
        pipeline_width=width,
        pipeline_height=height,
    )


def boxes_array(objs: list[ObjectMeta]) -> np.ndarray:
    """``(N, 4)`` float32 array of ``left, top, width, height``."""
    if not objs:
        return np.zeros((0, 4), np.float32)
    return np.array([(o.rect_params.left, o.rect_params.top, o.rect_params.width, o.rect_params.height) for o in objs], np.float32)
