"""appsrc and appsink: hand buffers between application code and a pipeline."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from vistream.core.buffer import CLOCK_TIME_NONE, Buffer, FlowReturn
from vistream.core.caps import Caps
from vistream.core.element import SINK_ANY, SRC_ANY, SourceElement, register
from vistream.core.props import Property
from vistream.elements.basesink import BaseSink

_EOS = object()


class Sample:
    """A buffer with its caps, as returned by ``appsink.pull_sample()``."""

    __slots__ = ("buffer", "caps")

    def __init__(self, buffer: Buffer, caps: Caps | None):
        self.buffer = buffer
        self.caps = caps

    def get_buffer(self) -> Buffer:
        return self.buffer

    def get_caps(self) -> Caps | None:
        return self.caps


@register
class AppSrc(SourceElement):
    """Feeds application data into a pipeline: ``push_buffer(buffer_or_frame)``, then ``end_of_stream()``.

    A NumPy ``H x W x C`` frame is wrapped into a raw video buffer with caps from the ``caps`` property and
    timestamps from ``framerate`` (when ``do-timestamp``/no pts given).
    """

    FACTORY = "appsrc"
    KLASS = "Generic/Source"
    DESCRIPTION = "Allow the application to feed buffers to a pipeline"
    PAD_TEMPLATES = (SRC_ANY,)
    PROPERTIES = (
        Property.caps("caps", "The allowed caps for the src pad"),
        Property.bool("is-live", False, "Whether to act as a live source"),
        Property.bool("block", True, "Block push-buffer when max-buffers is reached"),
        Property.uint("max-buffers", 16, "The maximum number of queued buffers (0 = unlimited)"),
        Property.enum("format", 2, "The format of the segment events and seek",
                      [(1, "default", "Default"), (2, "bytes", "Bytes"), (3, "time", "Time"), (4, "buffers", "Buffers")]),
        Property.bool("do-timestamp", False, "Apply current stream time to buffers"),
    )
    SIGNALS = ("need-data", "enough-data")

    def __init__(self, name=None, _factory=None, **props):
        super().__init__(name, _factory, **props)
        self._q: queue.Queue[Any] = queue.Queue()
        self._count = 0

    def _activate(self) -> None:
        super()._activate()
        maxb = self._props["max-buffers"]
        self._q = queue.Queue(maxsize=maxb if self._props["block"] else 0)
        self._count = 0

    def push_buffer(self, data: Buffer | np.ndarray) -> FlowReturn:
        """Queue a buffer (or a frame) for the pipeline; blocks when ``max-buffers`` are waiting."""
        if self._stopping:
            return FlowReturn.FLUSHING
        if self._eos_requested:
            return FlowReturn.EOS
        self._q.put(data)
        return FlowReturn.OK

    def end_of_stream(self) -> FlowReturn:
        self._q.put(_EOS)
        return FlowReturn.OK

    def _wrap(self, data: Any) -> Buffer:
        if isinstance(data, Buffer):
            if data.caps is None:
                data.caps = self._props["caps"]
            return data
        frame = np.asarray(data)
        caps: Caps | None = self._props["caps"]
        fps = caps.get("framerate") if caps is not None else None
        duration = int(1e9 / float(fps)) if fps else CLOCK_TIME_NONE
        if caps is None or caps.media_type == "video/x-raw":
            h, w = frame.shape[:2]
            fmt = caps.get("format", "RGB") if caps is not None else ("RGB" if frame.ndim == 3 else "GRAY8")
            caps = (caps or Caps("video/x-raw")).copy(format=fmt, width=w, height=h)
            self._props["caps"] = caps
            data = frame[None]
        buf = Buffer(data, pts=self._count * duration if duration > 0 else CLOCK_TIME_NONE,
                     duration=duration, caps=caps, frame_num=self._count)
        return buf

    def produce(self) -> Iterator[Buffer]:
        while not self._stopping:
            try:
                item = self._q.get(timeout=0.1)
            except queue.Empty:
                if self._eos_requested:
                    return
                continue
            if item is _EOS:
                return
            buf = self._wrap(item)
            self._count += 1
            yield buf


@register
class AppSink(BaseSink):
    """Hands buffers to the application: the ``new-sample`` signal (with ``emit-signals=true``) or
    ``pull_sample()`` (blocks; None at EOS). ``sync`` defaults to false: analytics runs as fast as it can."""

    FACTORY = "appsink"
    KLASS = "Generic/Sink"
    DESCRIPTION = "Allow the application to get access to raw buffer"
    PAD_TEMPLATES = (SINK_ANY,)
    PROPERTIES = (
        Property.bool("emit-signals", False, "Emit new-sample signals"),
        Property.uint("max-buffers", 0, "The maximum number of buffers to queue internally (0 = unlimited)"),
        Property.bool("drop", False, "Drop old buffers when the buffer queue is filled"),
        Property.caps("caps", "The allowed caps for the sink pad"),
        Property.bool("wait-on-eos", True, "Wait for all buffers to be consumed before reporting EOS"),
    )
    SIGNALS = ("new-sample", "eos")

    def __init__(self, name=None, _factory=None, **props):
        super().__init__(name, _factory, **props)
        self._samples: queue.Queue[Any] = queue.Queue()
        self._cond = threading.Condition()

    def _activate(self) -> None:
        super()._activate()
        self._samples = queue.Queue()

    def render(self, buffer: Buffer) -> FlowReturn | None:
        sample = Sample(buffer, buffer.caps)
        if self._props["emit-signals"] and self.has_handlers("new-sample"):
            self._last = sample
            self._samples.put(sample)
            ret = self.emit("new-sample")
            return FlowReturn.OK if ret is None else FlowReturn(ret)
        maxb = self._props["max-buffers"]
        while maxb and self._samples.qsize() >= maxb:
            if self._props["drop"]:
                try:
                    self._samples.get_nowait()
                except queue.Empty:
                    break
            else:
                if self._stopping:
                    return FlowReturn.FLUSHING
                threading.Event().wait(0.005)
        self._samples.put(sample)
        return FlowReturn.OK

    def on_eos(self, pad) -> None:
        self._samples.put(_EOS)
        self.emit("eos")

    def pull_sample(self, timeout: float | None = None) -> Sample | None:
        """The next sample; None at EOS (or when ``timeout`` seconds pass)."""
        try:
            item = self._samples.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is _EOS:
            self._samples.put(_EOS)  # stay at EOS for later callers
            return None
        return item

    def try_pull_sample(self, timeout_ns: int) -> Sample | None:
        return self.pull_sample(timeout_ns / 1e9)

    def is_eos(self) -> bool:
        return self.pad_eos

    @property
    def pad_eos(self) -> bool:
        return self.sinkpad.eos
