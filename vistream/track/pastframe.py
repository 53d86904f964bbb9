"""Past-frame data (``NVDS_TRACKER_PAST_FRAME_META``) with pyds names.

``NvDsPastFrameObjBatch`` -> ``NvDsPastFrameObjStream`` (``streamID``) -> ``NvDsPastFrameObjList``
(``uniqueId``, ``classId``, ``objLabel``) -> ``NvDsPastFrameObj`` (``frameNum``, ``tBbox``, ``confidence``,
``age``). It reports the frames in which a target existed but was not reported: its probation period, once it
is confirmed, and the frames it spent in shadow tracking, once a detection finds it again.

Both the attribute style and DeepStream's pyds style work, so deepstream_test_2-like code ports unchanged:

>>> for stream in batch.list:  # doctest: +SKIP
...     for track in stream.list:
...         print(stream.streamID, track.uniqueId, [o.frameNum for o in track.list])
>>> pb = NvDsPastFrameObjBatch.cast(user_meta.user_meta_data)  # doctest: +SKIP
>>> for stream in NvDsPastFrameObjBatch.list(pb):  # doctest: +SKIP
...     for track in NvDsPastFrameObjStream.list(stream):
...         for obj in NvDsPastFrameObjList.list(track):
...             print(obj.frameNum, obj.tBbox.left)
"""

from __future__ import annotations

from typing import Any

from vistream.meta import BboxCoords


class _ListField:
    """``obj.list`` gives the items; ``Class.list(obj)`` (pyds style) iterates them."""

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return lambda inst: iter(inst._items)
        return obj._items

    def __set__(self, obj: Any, value: list) -> None:
        obj._items = list(value)


class _PydsBase:
    __slots__ = ()

    @classmethod
    def cast(cls, data: Any) -> Any:
        """pyds' ``cast``: checks the type and returns the object itself."""
        if not isinstance(data, cls):
            raise TypeError(f"{cls.__name__}.cast: got {type(data).__name__}")
        return data

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__ if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class NvDsPastFrameObj(_PydsBase):
    """One unreported frame of a target."""

    __slots__ = ("frameNum", "tBbox", "confidence", "age")

    def __init__(self, frameNum: int = 0, tBbox: BboxCoords | None = None,  # noqa: N803 - pyds names
                 confidence: float = 0.0, age: int = 0) -> None:
        self.frameNum = frameNum  # noqa: N815
        self.tBbox = tBbox if tBbox is not None else BboxCoords()  # noqa: N815
        self.confidence = confidence
        self.age = age


class NvDsPastFrameObjList(_PydsBase):
    """The unreported frames of one target."""

    __slots__ = ("uniqueId", "classId", "objLabel", "_items")
    list = _ListField()

    def __init__(self, uniqueId: int = 0, classId: int = 0, objLabel: str = "",  # noqa: N803
                 items: list[NvDsPastFrameObj] | None = None) -> None:
        self.uniqueId = uniqueId  # noqa: N815
        self.classId = classId  # noqa: N815
        self.objLabel = objLabel  # noqa: N815
        self._items = list(items or [])

    @property
    def numObj(self) -> int:  # noqa: N802
        return len(self._items)


class NvDsPastFrameObjStream(_PydsBase):
    """The targets of one stream that have past-frame data in this batch."""

    __slots__ = ("streamID", "surfaceStreamID", "_items")
    list = _ListField()

    def __init__(self, streamID: int = 0, surfaceStreamID: int = 0,  # noqa: N803
                 items: list[NvDsPastFrameObjList] | None = None) -> None:
        self.streamID = streamID  # noqa: N815
        self.surfaceStreamID = surfaceStreamID  # noqa: N815
        self._items = list(items or [])

    @property
    def numFilled(self) -> int:  # noqa: N802
        return len(self._items)

    @property
    def numAllocated(self) -> int:  # noqa: N802
        return len(self._items)


class NvDsPastFrameObjBatch(_PydsBase):
    """Past-frame data of one batch: one entry per stream that has some."""

    __slots__ = ("_items",)
    list = _ListField()

    def __init__(self, items: list[NvDsPastFrameObjStream] | None = None) -> None:
        self._items = list(items or [])

    @property
    def numFilled(self) -> int:  # noqa: N802
        return len(self._items)

    @property
    def numAllocated(self) -> int:  # noqa: N802
        return len(self._items)

    def __iter__(self):
        return iter(self._items)
