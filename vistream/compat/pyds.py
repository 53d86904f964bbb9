"""``pyds`` for DeepStream Python apps: NVIDIA's metadata bindings over vistream's metadata tree.

Probe code written for pyds runs unchanged::

    batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(info.get_buffer()))
    l_frame = batch_meta.frame_meta_list
    while l_frame is not None:
        frame_meta = pyds.NvDsFrameMeta.cast(l_frame.data)
        l_obj = frame_meta.obj_meta_list
        while l_obj is not None:
            obj_meta = pyds.NvDsObjectMeta.cast(l_obj.data)
            obj_meta.rect_params.border_color.set(0.0, 0.0, 1.0, 0.8)
            l_obj = l_obj.next
        l_frame = l_frame.next

How it maps onto :mod:`vistream.meta`:

* ``*_list`` fields are GList-like nodes (``.data``, ``.next``, None when empty) over a snapshot of the
  native Python list, so removing the current object while walking is safe. ``.data`` is the native object
  (``vistream.meta.FrameMeta`` ...); ``NvDs*Meta.cast`` returns a view whose attributes read and write it, so
  every edit lands in the real metadata.
* ``NvDsDisplayMeta`` views have pyds's pre-sized arrays (16 ``text_params``, ``rect_params``,
  ``line_params``, ``arrow_params``, ``circle_params``); setting ``num_labels`` / ``num_rects`` / ... decides
  how many of them are drawn.
* Strings are Python ``str``; ``get_string`` returns them as they are.
* ``get_nvds_buf_surface(hash(buf), batch_id)`` returns the frame itself (a writable ``(H, W, 4)`` NumPy
  view) and, as in DeepStream, needs RGBA frames.
* Pools, copy and release functions exist for the calls to work; memory is Python's.
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any

import numpy as np

from vistream.compat._buffers import lookup as _lookup
from vistream.elements.video import download_buffer
from vistream.meta import (
    UNTRACKED_OBJECT_ID,
    ArrowParams,
    BaseMeta,
    BatchMeta,
    BboxCoords,
    CircleParams,
    ClassifierMeta,
    ColorParams,
    DisplayMeta,
    FontParams,
    FrameMeta,
    LabelInfo,
    LineParams,
    MaskParams,
    MetaType,
    ObjectMeta,
    RectParams,
    TextParams,
    UserMeta,
)
from vistream.meta import event as _event

MAX_ELEMENTS_IN_DISPLAY_META = 16
MAX_LABEL_SIZE = 128
MAX_USER_FIELDS = 4
MAX_RESERVED_FIELDS = 4


# --- lists ----------------------------------------------------------------------------------------------------
class GList:
    """A node of a GList-style list: ``data`` (the native object) and ``next`` (None after the last)."""

    __slots__ = ("_items", "_index")

    def __init__(self, items: tuple[Any, ...], index: int = 0):
        self._items = items
        self._index = index

    @property
    def data(self) -> Any:
        return self._items[self._index]

    @property
    def next(self) -> GList | None:
        i = self._index + 1
        return GList(self._items, i) if i < len(self._items) else None

    @property
    def prev(self) -> GList | None:
        return GList(self._items, self._index - 1) if self._index > 0 else None

    def __repr__(self) -> str:
        return f"<GList {self._index + 1}/{len(self._items)}: {type(self.data).__name__}>"


def _glist(items: list[Any]) -> GList | None:
    return GList(tuple(items)) if items else None


def _unview(obj: Any) -> Any:
    return obj._native if isinstance(obj, _MetaView) else obj


# --- views ----------------------------------------------------------------------------------------------------
class _MetaView:
    """Reads and writes the attributes of a native metadata object; ``*_list`` fields read as GLists."""

    _NATIVE: type = object
    _LISTS: tuple[str, ...] = ()
    _native: Any

    def __init__(self, native: Any):
        object.__setattr__(self, "_native", native)

    @classmethod
    def cast(cls, data: Any) -> Any:
        """The view of ``data`` (``l_xxx.data``); a TypeError names the type it expected when it is not one."""
        if isinstance(data, cls):
            return data
        if isinstance(data, _MetaView):
            data = data._native
        if not isinstance(data, cls._NATIVE):
            raise TypeError(f"pyds.{cls.__name__}.cast: expected {cls._NATIVE.__name__}, got {type(data).__name__}")
        return cls(data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self._native, name)
        if name in self._LISTS:
            return _glist(value)
        view = _VIEWS.get(type(value))
        return view(value) if view is not None else value

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._LISTS:
            raise AttributeError(f"pyds.{type(self).__name__}.{name} is read-only: use the nvds_add_* functions")
        setattr(self._native, name, _unview(value))

    def __eq__(self, other: object) -> bool:
        return self._native is _unview(other)

    def __hash__(self) -> int:
        return id(self._native)

    def __repr__(self) -> str:
        return f"<pyds.{type(self).__name__} {self._native!r}>"


class NvDsBatchMeta(_MetaView):
    _NATIVE = BatchMeta
    _LISTS = ("frame_meta_list", "batch_user_meta_list")


class NvDsFrameMeta(_MetaView):
    _NATIVE = FrameMeta
    _LISTS = ("obj_meta_list", "display_meta_list", "frame_user_meta_list")


class NvDsObjectMeta(_MetaView):
    _NATIVE = ObjectMeta
    _LISTS = ("classifier_meta_list", "obj_user_meta_list")


class NvDsClassifierMeta(_MetaView):
    _NATIVE = ClassifierMeta
    _LISTS = ("label_info_list",)


class NvDsLabelInfo(_MetaView):
    _NATIVE = LabelInfo


class NvDsUserMeta(_MetaView):
    _NATIVE = UserMeta


_DISPLAY_ARRAYS = {
    "text_params": ("num_labels", TextParams),
    "rect_params": ("num_rects", RectParams),
    "line_params": ("num_lines", LineParams),
    "arrow_params": ("num_arrows", ArrowParams),
    "circle_params": ("num_circles", CircleParams),
}
_DISPLAY_COUNTS = {count: array for array, (count, _) in _DISPLAY_ARRAYS.items()}


class NvDsDisplayMeta(_MetaView):
    """pyds's display meta: arrays of 16 entries; ``num_labels`` etc. say how many are drawn."""

    _NATIVE = DisplayMeta

    def __init__(self, native: DisplayMeta):
        super().__init__(native)
        pools = {}
        for array, (_, cls) in _DISPLAY_ARRAYS.items():
            existing = list(getattr(native, array))
            pools[array] = existing + [cls() for _ in range(max(0, MAX_ELEMENTS_IN_DISPLAY_META - len(existing)))]
        object.__setattr__(self, "_pools", pools)

    def __getattr__(self, name: str) -> Any:
        if name in _DISPLAY_ARRAYS:
            return self._pools[name]
        if name in _DISPLAY_COUNTS:
            return len(getattr(self._native, _DISPLAY_COUNTS[name]))
        return super().__getattr__(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _DISPLAY_COUNTS:
            array = _DISPLAY_COUNTS[name]
            pool = self._pools[array]
            n = int(value)
            if not 0 <= n <= len(pool):
                raise ValueError(f"pyds.NvDsDisplayMeta.{name}={value}: must be 0..{len(pool)}")
            getattr(self._native, array)[:] = pool[:n]
            return
        if name in _DISPLAY_ARRAYS:
            raise AttributeError(f"pyds.NvDsDisplayMeta.{name} is an array: set its entries and {_DISPLAY_ARRAYS[name][0]}")
        super().__setattr__(name, value)


class _CharBuffer:
    """What ``alloc_buffer`` returns: a string that ``generate_ts_rfc3339`` fills in place.

    Assigned to a field of an event message, it writes its text into that field whenever it changes.
    """

    def __init__(self, size: int):
        self.size = int(size)
        self.value = ""
        self._owners: list[tuple[Any, str]] = []

    def _bind(self, owner: Any, field: str) -> None:
        self._owners.append((owner, field))

    def set(self, text: str) -> None:
        self.value = text[: max(0, self.size - 1)] if self.size else text
        for owner, field in self._owners:
            setattr(owner, field, self.value)

    def __str__(self) -> str:
        return self.value


class NvDsEventMsgMeta(_MetaView):
    """``NvDsEventMsgMeta`` over :class:`vistream.meta.event.EventMsgMeta`."""

    _NATIVE = _event.EventMsgMeta

    def __init__(self, native: Any):
        super().__init__(native)
        object.__setattr__(self, "_char_buffers", {})

    def __getattr__(self, name: str) -> Any:
        if name in self._char_buffers:
            return self._char_buffers[name]
        return super().__getattr__(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "extMsgSize":
            return  # sizes of C structures mean nothing here: extMsg is a Python object
        if isinstance(value, _CharBuffer):
            value._bind(self._native, name)
            self._char_buffers[name] = value
            value = value.value
        super().__setattr__(name, value)


_VIEWS: dict[type, type[_MetaView]] = {
    BatchMeta: NvDsBatchMeta, FrameMeta: NvDsFrameMeta, ObjectMeta: NvDsObjectMeta,
    ClassifierMeta: NvDsClassifierMeta, LabelInfo: NvDsLabelInfo, UserMeta: NvDsUserMeta,
    DisplayMeta: NvDsDisplayMeta, _event.EventMsgMeta: NvDsEventMsgMeta,
}


class _PlainCast:
    """Types whose pyds objects are the native ones: ``cast`` checks the type and returns the object."""

    _NATIVE_NAME = ""

    @classmethod
    def _check(cls, data: Any) -> Any:
        data = _unview(data)
        if type(data).__name__ != cls._NATIVE_NAME:
            raise TypeError(f"pyds.{cls.__name__}.cast: expected {cls._NATIVE_NAME}, got {type(data).__name__}")
        return data

    @classmethod
    def cast(cls, data: Any) -> Any:
        return cls._check(data)


class NvDsAnalyticsFrameMeta(_PlainCast):
    """``user_meta.user_meta_data`` of analytics frame meta (``objInROIcnt``, ``objLCCumCnt``, ...)."""

    _NATIVE_NAME = "AnalyticsFrameMeta"


class NvDsAnalyticsObjInfo(_PlainCast):
    """``user_meta.user_meta_data`` of analytics object meta (``roiStatus``, ``lcStatus``, ``dirStatus``, ...)."""

    _NATIVE_NAME = "AnalyticsObjInfo"


class NvDsInferTensorMeta(_PlainCast):
    """Raw output tensors (``output-tensor-meta=1``): ``num_output_layers``, ``get_nvds_LayerInfo(meta, i)``."""

    _NATIVE_NAME = "InferTensorMeta"


class NvDsInferSegmentationMeta(_PlainCast):
    """Semantic segmentation output: ``classes``, ``width``, ``height``; ``get_segmentation_masks(meta)``."""

    _NATIVE_NAME = "SegmentationMeta"


class _PastFrameList(_PlainCast):
    @staticmethod
    def list(data: Any) -> Any:
        """Iterate the entries (``pyds.NvDsPastFrameObjBatch.list(batch)``)."""
        return iter(_unview(data).list)


class NvDsPastFrameObjBatch(_PastFrameList):
    """Tracker past-frame data (``NVDS_TRACKER_PAST_FRAME_META``): ``list`` of streams."""

    _NATIVE_NAME = "NvDsPastFrameObjBatch"


class NvDsPastFrameObjStream(_PastFrameList):
    _NATIVE_NAME = "NvDsPastFrameObjStream"


class NvDsPastFrameObjList(_PastFrameList):
    _NATIVE_NAME = "NvDsPastFrameObjList"


class NvDsPastFrameObj(_PlainCast):
    _NATIVE_NAME = "NvDsPastFrameObj"


# DeepStream 6.4+ names of the same data
NvDsTargetMiscDataBatch = NvDsPastFrameObjBatch
NvDsTargetMiscDataStream = NvDsPastFrameObjStream
NvDsTargetMiscDataObject = NvDsPastFrameObjList
NvDsTargetMiscDataFrame = NvDsPastFrameObj


class NvDsVehicleObject(_PlainCast):
    _NATIVE_NAME = "VehicleObject"


class NvDsPersonObject(_PlainCast):
    _NATIVE_NAME = "PersonObject"


class NvDsFaceObject(_PlainCast):
    _NATIVE_NAME = "FaceObject"


# --- enums ----------------------------------------------------------------------------------------------------
class NvDsMetaType(IntEnum):
    """pyds's meta type names, with vistream's values (compare them with ``base_meta.meta_type``)."""

    NVDS_INVALID_META = MetaType.INVALID
    NVDS_BATCH_META = MetaType.BATCH
    NVDS_FRAME_META = MetaType.FRAME
    NVDS_OBJ_META = MetaType.OBJ
    NVDS_DISPLAY_META = MetaType.DISPLAY
    NVDS_CLASSIFIER_META = MetaType.CLASSIFIER
    NVDS_LABEL_INFO_META = MetaType.LABEL_INFO
    NVDS_USER_META = MetaType.USER
    NVDS_PAYLOAD_META = MetaType.PAYLOAD
    NVDS_EVENT_MSG_META = MetaType.EVENT_MSG
    NVDS_OPTICAL_FLOW_META = MetaType.OPTICAL_FLOW
    NVDS_LATENCY_MEASUREMENT_META = MetaType.LATENCY_MEASUREMENT
    NVDSINFER_TENSOR_OUTPUT_META = MetaType.TENSOR_OUTPUT
    NVDSINFER_SEGMENTATION_META = MetaType.SEGMENTATION
    NVDS_CROP_IMAGE_META = MetaType.CROP_IMAGE
    NVDS_TRACKER_PAST_FRAME_META = MetaType.TRACKER_PAST_FRAME
    NVDS_AUDIO_BATCH_META = MetaType.AUDIO_BATCH
    NVDS_AUDIO_FRAME_META = MetaType.AUDIO_FRAME
    NVDS_RESERVED_META = 4095
    NVDS_GST_CUSTOM_META = MetaType.START_USER_META
    NVDS_START_USER_META = MetaType.START_USER_META + 1
    NVDS_FORCE32_META = 0x7FFFFFFF


NvDsEventType = IntEnum("NvDsEventType", {f"NVDS_EVENT_{m.name}": m.value for m in _event.EventType})
NvDsObjectType = IntEnum("NvDsObjectType", {f"NVDS_OBJECT_TYPE_{m.name}": m.value for m in _event.ObjectType})
NvDsPayloadType = IntEnum("NvDsPayloadType", {"NVDS_PAYLOAD_DEEPSTREAM": 0, "NVDS_PAYLOAD_DEEPSTREAM_MINIMAL": 1,
                                              "NVDS_PAYLOAD_RESERVED": 0x100, "NVDS_PAYLOAD_CUSTOM": 0x101})
globals().update({m.name: m for e in (NvDsMetaType, NvDsEventType, NvDsObjectType, NvDsPayloadType) for m in e})

_USER_META_TYPES = {
    "NVIDIA.DSANALYTICSFRAME.USER_META": int(MetaType.ANALYTICS_FRAME),
    "NVIDIA.DSANALYTICSOBJ.USER_META": int(MetaType.ANALYTICS_OBJ),
    "NVIDIA.NVTRACKER.REID_META": int(MetaType.TRACKER_REID),
}
_user_meta_lock = threading.Lock()
_next_user_meta_type = itertools.count(int(MetaType.START_USER_META) + 1000)


def nvds_get_user_meta_type(meta_descriptor: str) -> int:
    """The meta type of a user meta descriptor such as ``"NVIDIA.DSANALYTICSFRAME.USER_META"`` (stable per name)."""
    with _user_meta_lock:
        if meta_descriptor not in _USER_META_TYPES:
            _USER_META_TYPES[meta_descriptor] = next(_next_user_meta_type)
        return _USER_META_TYPES[meta_descriptor]


# --- OSD types with pyds names ----------------------------------------------------------------------------------
NvOSD_ColorParams = ColorParams
NvOSD_FontParams = FontParams
NvOSD_TextParams = TextParams
NvOSD_RectParams = RectParams
NvOSD_LineParams = LineParams
NvOSD_ArrowParams = ArrowParams
NvOSD_CircleParams = CircleParams
NvOSD_MaskParams = MaskParams
NvBbox_Coords = BboxCoords
NvDsBaseMeta = BaseMeta


# --- buffers ----------------------------------------------------------------------------------------------------
def gst_buffer_get_nvds_batch_meta(gst_buffer: int) -> NvDsBatchMeta | None:
    """The batch meta of the buffer whose ``hash()`` is given (None before ``nvstreammux``)."""
    buf = _lookup(gst_buffer, "gst_buffer_get_nvds_batch_meta")
    return None if buf.batch_meta is None else NvDsBatchMeta(buf.batch_meta)


def get_nvds_buf_surface(gst_buffer: int, batch_id: int) -> np.ndarray:
    """Frame ``batch_id`` of the buffer as a writable ``(H, W, 4)`` RGBA array: edits change the frame.

    As in DeepStream the frames must be RGBA: put ``nvvideoconvert ! capsfilter
    caps=video/x-raw(memory:NVMM),format=RGBA`` before the probe. A batch in GPU memory is first moved to host
    memory in the buffer (the elements after the probe then get host frames).
    """
    buf = _lookup(gst_buffer, "get_nvds_buf_surface")
    fmt = buf.caps.get("format") if buf.caps is not None else None
    if fmt != "RGBA":
        raise ValueError(f"pyds.get_nvds_buf_surface: frames are {fmt}, only RGBA is supported; put nvvideoconvert "
                         "and a capsfilter 'video/x-raw(memory:NVMM), format=RGBA' before this probe")
    # A GPU batch (the GPU path keeps memory:NVMM frames on the device) is moved to host memory in the buffer
    # itself, so that edits to the returned array reach the elements after the probe.
    download_buffer(buf)
    frames = buf.data
    n = len(frames)
    if not 0 <= batch_id < n:
        raise IndexError(f"pyds.get_nvds_buf_surface: batch_id {batch_id} out of range (batch of {n})")
    if isinstance(frames, np.ndarray):
        if not frames.flags.writeable:
            frames = buf.data = frames.copy()
        return frames[batch_id]
    frame = frames[batch_id]
    if not frame.flags.writeable:
        frame = frames[batch_id] = frame.copy()
    return frame


def unmap_nvds_buf_surface(gst_buffer: int, batch_id: int) -> None:
    """Nothing to unmap: the array is the frame."""


# --- pools and lists --------------------------------------------------------------------------------------------
def nvds_acquire_display_meta_from_pool(batch_meta: Any) -> NvDsDisplayMeta:
    return NvDsDisplayMeta(DisplayMeta())


def nvds_add_display_meta_to_frame(frame_meta: Any, display_meta: Any) -> None:
    _unview(frame_meta).add_display_meta(_unview(display_meta))


def nvds_acquire_obj_meta_from_pool(batch_meta: Any) -> NvDsObjectMeta:
    return NvDsObjectMeta(ObjectMeta())


def nvds_add_obj_meta_to_frame(frame_meta: Any, obj_meta: Any, obj_parent: Any = None) -> None:
    obj = _unview(obj_meta)
    r, d = obj.rect_params, obj.detector_bbox_info.org_bbox_coords
    if d.width == 0 and d.height == 0:  # DeepStream's OSD and trackers read the detector box as well
        d.left, d.top, d.width, d.height = r.left, r.top, r.width, r.height
    _unview(frame_meta).add_obj_meta(obj, _unview(obj_parent))


def nvds_remove_obj_meta_from_frame(frame_meta: Any, obj_meta: Any) -> None:
    _unview(frame_meta).remove_obj_meta(_unview(obj_meta))


def nvds_clear_obj_meta_list(frame_meta: Any, meta_list: Any = None) -> None:
    _unview(frame_meta).obj_meta_list.clear()


def nvds_acquire_classifier_meta_from_pool(batch_meta: Any) -> NvDsClassifierMeta:
    return NvDsClassifierMeta(ClassifierMeta())


def nvds_add_classifier_meta_to_object(obj_meta: Any, classifier_meta: Any) -> None:
    _unview(obj_meta).add_classifier_meta(_unview(classifier_meta))


def nvds_acquire_label_info_meta_from_pool(batch_meta: Any) -> NvDsLabelInfo:
    return NvDsLabelInfo(LabelInfo())


def nvds_add_label_info_meta_to_classifier(classifier_meta: Any, label_info_meta: Any) -> None:
    _unview(classifier_meta).label_info_list.append(_unview(label_info_meta))


def nvds_acquire_user_meta_from_pool(batch_meta: Any) -> NvDsUserMeta:
    return NvDsUserMeta(UserMeta())


def nvds_add_user_meta_to_frame(frame_meta: Any, user_meta: Any) -> None:
    _unview(frame_meta).add_user_meta(_unview(user_meta))


def nvds_add_user_meta_to_obj(obj_meta: Any, user_meta: Any) -> None:
    _unview(obj_meta).add_user_meta(_unview(user_meta))


def nvds_add_user_meta_to_batch(batch_meta: Any, user_meta: Any) -> None:
    _unview(batch_meta).add_user_meta(_unview(user_meta))


def nvds_remove_user_meta_from_frame(frame_meta: Any, user_meta: Any) -> None:
    _unview(frame_meta).frame_user_meta_list.remove(_unview(user_meta))


def nvds_remove_user_meta_from_object(obj_meta: Any, user_meta: Any) -> None:
    _unview(obj_meta).obj_user_meta_list.remove(_unview(user_meta))


def nvds_remove_display_meta_from_frame(frame_meta: Any, display_meta: Any) -> None:
    _unview(frame_meta).display_meta_list.remove(_unview(display_meta))


# --- event messages (deepstream-test4 style) --------------------------------------------------------------------
def alloc_nvds_event_msg_meta(user_meta: Any = None) -> NvDsEventMsgMeta:
    """A new event message; attach it with ``user_meta.user_meta_data = msg`` and meta type NVDS_EVENT_MSG_META."""
    return NvDsEventMsgMeta(_event.EventMsgMeta())


def alloc_nvds_vehicle_object() -> Any:
    return _event.VehicleObject()


def alloc_nvds_person_object() -> Any:
    return _event.PersonObject()


def alloc_nvds_face_object() -> Any:
    return _event.FaceObject()


def alloc_buffer(size: int) -> _CharBuffer:
    return _CharBuffer(size)


def alloc_char_buffer(size: int) -> _CharBuffer:
    return _CharBuffer(size)


def generate_ts_rfc3339(buffer: _CharBuffer, size: int) -> None:
    """Write the current UTC time, as DeepStream formats it, into a buffer from ``alloc_buffer``."""
    if not isinstance(buffer, _CharBuffer):
        raise TypeError(f"pyds.generate_ts_rfc3339: expected a buffer from pyds.alloc_buffer, got {type(buffer).__name__}")
    buffer.set(_event.rfc3339(datetime.now(timezone.utc)))


def get_string(value: Any) -> str:
    """The Python string of a pyds ``char*`` field (fields are str already)."""
    return str(value) if value is not None else ""


def get_ptr(obj: Any) -> Any:
    """The address of a tensor's data (``layer.buffer``), for ``ctypes.cast(pyds.get_ptr(buf), POINTER(c_float))``.

    The array stays owned by the metadata, so the address is valid while the metadata is; other objects are
    returned as they are.
    """
    if isinstance(obj, np.ndarray):
        if not obj.flags.c_contiguous:
            raise ValueError("pyds.get_ptr: the array is not contiguous; use the NumPy array itself")
        return obj.ctypes.data
    return obj


def get_nvds_LayerInfo(tensor_meta: Any, index: int) -> Any:  # noqa: N802 - pyds name
    """Output layer ``index`` of a tensor meta: ``layerName``, ``dims``, ``buffer`` (a NumPy array)."""
    layers = _unview(tensor_meta).output_layers_info
    if not 0 <= index < len(layers):
        raise IndexError(f"pyds.get_nvds_LayerInfo: layer {index} out of range ({len(layers)} layers)")
    return layers[index]


def get_segmentation_masks(segmentation_meta: Any) -> np.ndarray:
    """The ``height x width`` class map (class index per pixel, -1 below the threshold)."""
    return _unview(segmentation_meta).class_map


def user_copyfunc(user_meta: Any, func: Any) -> None:
    """Accepted: metadata is copied by Python references, no copy function is needed."""


def user_releasefunc(user_meta: Any, func: Any) -> None:
    """Accepted: Python's garbage collector frees metadata."""


def set_user_copyfunc(user_meta: Any, func: Any) -> None:
    """Accepted (see :func:`user_copyfunc`)."""


def set_user_releasefunc(user_meta: Any, func: Any) -> None:
    """Accepted (see :func:`user_releasefunc`)."""


def user_gst_meta_copy_func(*_args: Any) -> None:
    """Accepted (see :func:`user_copyfunc`)."""


def user_gst_meta_release_func(*_args: Any) -> None:
    """Accepted (see :func:`user_releasefunc`)."""


def nvds_acquire_meta_lock(batch_meta: Any) -> None:
    """Accepted: metadata edits are made in the streaming thread that owns the buffer."""


def nvds_release_meta_lock(batch_meta: Any) -> None:
    """Accepted (see :func:`nvds_acquire_meta_lock`)."""


def nvds_get_nth_frame_meta(frame_meta_list: Any, index: int) -> NvDsFrameMeta:
    """Frame ``index`` of a ``frame_meta_list`` GList (or of a batch meta)."""
    node = frame_meta_list.frame_meta_list if isinstance(frame_meta_list, NvDsBatchMeta) else frame_meta_list
    for _ in range(index):
        node = None if node is None else node.next
    if node is None:
        raise IndexError(f"pyds.nvds_get_nth_frame_meta: no frame {index} in the list")
    return NvDsFrameMeta.cast(node.data)


def configure_source_for_ntp_sync(pipeline_hash: Any) -> None:
    """Accepted: ``nvstreammux attach-sys-ts=1`` (the default) stamps frames with the system's NTP time."""


def free_buffer(buffer: Any) -> None:
    """Accepted: Python frees buffers."""


free_gbuffer = free_buffer


# --- old pyds spellings -------------------------------------------------------------------------------------------
glist_get_nvds_frame_meta = NvDsFrameMeta.cast
glist_get_nvds_object_meta = NvDsObjectMeta.cast
glist_get_nvds_classifier_meta = NvDsClassifierMeta.cast
glist_get_nvds_label_info = NvDsLabelInfo.cast
glist_get_nvds_user_meta = NvDsUserMeta.cast
glist_get_nvds_display_meta = NvDsDisplayMeta.cast
glist_get_nvds_event_msg_meta = NvDsEventMsgMeta.cast

UNTRACKED_OBJECT_ID = UNTRACKED_OBJECT_ID
