"""Buffers and events that flow downstream through pads."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any

from vistream.core.caps import Caps

SECOND = 1_000_000_000
CLOCK_TIME_NONE = -1


class FlowReturn(IntEnum):
    """Result of pushing a buffer, as GStreamer's ``GstFlowReturn``."""

    OK = 0
    NOT_LINKED = -1
    FLUSHING = -2
    EOS = -3
    NOT_NEGOTIATED = -4
    ERROR = -5


class Buffer:
    """A unit of data with its timing and metadata.

    Raw video buffers hold ``data`` as a sequence of frames (a ``(B, H, W, C)`` NumPy array when all frames
    share a size, else a list of arrays); a single decoded frame is a batch of one. Batched buffers (after
    ``nvstreammux``) carry ``batch_meta``. Encoded buffers hold an ``av.Packet`` (or bytes).
    """

    __slots__ = ("data", "pts", "dts", "duration", "caps", "batch_meta", "source_id", "frame_num", "flags", "extra")

    def __init__(
        self,
        data: Any = None,
        pts: int = CLOCK_TIME_NONE,
        duration: int = CLOCK_TIME_NONE,
        caps: Caps | None = None,
        batch_meta: Any = None,
        source_id: int = 0,
        frame_num: int = 0,
        dts: int = CLOCK_TIME_NONE,
        flags: int = 0,
    ):
        self.data = data
        self.pts = pts
        self.dts = dts
        self.duration = duration
        self.caps = caps
        self.batch_meta = batch_meta
        self.source_id = source_id
        self.frame_num = frame_num
        self.flags = flags
        self.extra: dict[str, Any] = {}

    @property
    def frames(self) -> Any:
        """The frames of a raw video buffer (indexable by ``frame_meta.batch_id``)."""
        return self.data

    def __len__(self) -> int:
        try:
            return len(self.data)
        except TypeError:
            return 1

    def __hash__(self) -> int:  # pyds-style code passes hash(gst_buffer) around
        return id(self)

    def __repr__(self) -> str:
        return f"<Buffer pts={self.pts} caps={self.caps}>"


FLAG_DELTA_UNIT = 1 << 13  # not a keyframe, as GST_BUFFER_FLAG_DELTA_UNIT
FLAG_DISCONT = 1 << 6


class EventType(Enum):
    STREAM_START = "stream-start"
    CAPS = "caps"
    EOS = "eos"
    STREAM_EOS = "stream-eos"  # one source of a batched stream ended (DeepStream's GST_NVEVENT_STREAM_EOS)
    STREAM_ADDED = "stream-added"
    STREAM_RESET = "stream-reset"
    FLUSH = "flush"
    CUSTOM = "custom"


@dataclass
class Event:
    """An in-band event travelling downstream (EOS, per-stream EOS, caps, custom)."""

    type: EventType
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def eos(cls) -> Event:
        return cls(EventType.EOS)

    @classmethod
    def stream_eos(cls, source_id: int) -> Event:
        return cls(EventType.STREAM_EOS, {"source_id": source_id})
