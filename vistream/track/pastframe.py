"""Past-frame data (``NVDS_TRACKER_PAST_FRAME_META``) with pyds names.

``NvDsPastFrameObjBatch.list`` -> ``NvDsPastFrameObjStream`` (``streamID``) -> ``.list`` ->
``NvDsPastFrameObjList`` (``uniqueId``, ``classId``, ``objLabel``) -> ``.list`` -> ``NvDsPastFrameObj``
(``frameNum``, ``tBbox``, ``confidence``, ``age``). It reports the frames in which a target existed but was not
reported: its probation period, once it is confirmed, and the frames it spent in shadow tracking, once a
detection finds it again.

>>> for stream in batch.list:  # doctest: +SKIP
...     for track in stream.list:
...         print(stream.streamID, track.uniqueId, [o.frameNum for o in track.list])
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vistream.meta import BboxCoords


@dataclass(slots=True)
class NvDsPastFrameObj:
    frameNum: int = 0  # noqa: N815 - pyds names
    tBbox: BboxCoords = field(default_factory=BboxCoords)  # noqa: N815
    confidence: float = 0.0
    age: int = 0


@dataclass(slots=True)
class NvDsPastFrameObjList:
    uniqueId: int = 0  # noqa: N815
    classId: int = 0  # noqa: N815
    objLabel: str = ""  # noqa: N815
    list: list[NvDsPastFrameObj] = field(default_factory=list)

    @property
    def numObj(self) -> int:  # noqa: N802
        return len(self.list)


@dataclass(slots=True)
class NvDsPastFrameObjStream:
    streamID: int = 0  # noqa: N815
    surfaceStreamID: int = 0  # noqa: N815
    list: list[NvDsPastFrameObjList] = field(default_factory=list)

    @property
    def numFilled(self) -> int:  # noqa: N802
        return len(self.list)

    @property
    def numAllocated(self) -> int:  # noqa: N802
        return len(self.list)


@dataclass(slots=True)
class NvDsPastFrameObjBatch:
    list: list[NvDsPastFrameObjStream] = field(default_factory=list)

    @property
    def numFilled(self) -> int:  # noqa: N802
        return len(self.list)

    @property
    def numAllocated(self) -> int:  # noqa: N802
        return len(self.list)

    def __iter__(self):
        return iter(self.list)
