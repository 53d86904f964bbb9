"""Generic plumbing: queue, tee, capsfilter, identity, fakesink."""

from __future__ import annotations

import threading

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.caps import Caps
from vistream.core.element import SINK_ANY, SRC_ANY, Element, register
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.core.queue import LEAKY_NO, DataQueue
from vistream.elements.basesink import BaseSink


@register
class Queue(Element):
    """A thread boundary with a bounded buffer: the element downstream runs in the queue's own thread.

    ``leaky``: no (block upstream when full: back-pressure), upstream (drop new buffers), downstream (drop
    old buffers). Limits of 0 are disabled.
    """

    FACTORY = "queue"
    TRANSPARENT = True
    ALIASES = ("queue2",)
    KLASS = "Generic"
    DESCRIPTION = "Simple data queue"
    PAD_TEMPLATES = (SINK_ANY, SRC_ANY)
    THREADED = True
    PROPERTIES = (
        Property.uint("max-size-buffers", 200, "Max. number of buffers in the queue (0=disable)"),
        Property.uint("max-size-bytes", 10485760, "Max. amount of data in the queue (bytes, 0=disable)"),
        Property.int64("max-size-time", 1_000_000_000, "Max. amount of data in the queue (in ns, 0=disable)", 0),
        Property.uint("min-threshold-buffers", 0, "Min. number of buffers in the queue to allow reading (accepted)"),
        Property.enum("leaky", LEAKY_NO, "Where the queue leaks, if at all",
                      [(0, "no", "Not Leaky"), (1, "upstream", "Leaky on upstream (new buffers)"),
                       (2, "downstream", "Leaky on downstream (old buffers)")]),
        Property.uint("current-level-buffers", 0, "Current number of buffers in the queue"),
    )

    def make_queue(self) -> DataQueue:
        return DataQueue(self._props["max-size-buffers"], self._props["max-size-bytes"],
                         self._props["max-size-time"], self._props["leaky"])

    @property
    def dropped(self) -> int:
        return self._queue.dropped if self._queue is not None else 0

    def get_property(self, name: str):
        if name.replace("_", "-") == "current-level-buffers" and self._queue is not None:
            return self._queue.level_buffers
        return super().get_property(name)


@register
class Tee(Element):
    """Sends every buffer to all its src pads (request pads ``src_%u``); branches usually start with a queue."""

    FACTORY = "tee"
    TRANSPARENT = True
    KLASS = "Generic"
    DESCRIPTION = "1-to-N pipe fitting"
    PAD_TEMPLATES = (SINK_ANY, PadTemplate("src_%u", PadDirection.SRC, PadPresence.REQUEST, "ANY"))
    PROPERTIES = (
        Property.bool("allow-not-linked", False, "Return OK even if there are no linked src pads"),
    )

    def __init__(self, name=None, _factory=None, **props):
        super().__init__(name, _factory, **props)
        self._lock = threading.Lock()

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        result = FlowReturn.NOT_LINKED
        for src in self.src_pads:
            ret = self.push(buffer, src)
            if ret == FlowReturn.OK:
                result = FlowReturn.OK
            elif ret not in (FlowReturn.NOT_LINKED, FlowReturn.EOS) and result != FlowReturn.OK:
                result = ret
            elif ret == FlowReturn.EOS and result == FlowReturn.NOT_LINKED:
                result = FlowReturn.EOS
        if result == FlowReturn.NOT_LINKED and self._props["allow-not-linked"]:
            return FlowReturn.OK
        return result


@register
class CapsFilter(Element):
    """Constrains the stream's caps; the element upstream (a converter or source) produces what it asks."""

    FACTORY = "capsfilter"
    KLASS = "Generic"
    DESCRIPTION = "Pass data without modification, limiting formats"
    PAD_TEMPLATES = (SINK_ANY, SRC_ANY)
    PROPERTIES = (Property.caps("caps", "Restrict the possible allowed capabilities"),)

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        want: Caps | None = self._props["caps"]
        if want is not None and buffer.caps is not None and not want.is_compatible(buffer.caps):
            self.post_error(f"not negotiated: upstream produced {buffer.caps}, but caps are {want}",
                            "put a converter (nvvideoconvert) before the caps filter")
            return FlowReturn.NOT_NEGOTIATED
        return self.push(buffer)


@register
class Identity(Element):
    """Passes data through unchanged (a place for probes); ``drop-probability`` is not supported."""

    FACTORY = "identity"
    TRANSPARENT = True
    KLASS = "Generic"
    DESCRIPTION = "Pass data without modification"
    PAD_TEMPLATES = (SINK_ANY, SRC_ANY)
    PROPERTIES = (Property.bool("silent", True, "Don't produce last message events"),)


@register
class FakeSink(BaseSink):
    """Swallows everything (counts buffers in ``rendered``)."""

    FACTORY = "fakesink"
    KLASS = "Sink"
    DESCRIPTION = "Black hole for data"
    PAD_TEMPLATES = (SINK_ANY,)
    PROPERTIES = (
        Property.bool("silent", True, "Don't produce last message events"),
        Property.int("num-buffers", -1, "Number of buffers to accept going EOS", -1),
        Property.bool("signal-handoffs", False, "Send a signal before unreffing the buffer"),
        Property.bool("dump", False, "Dump buffer contents to stdout"),
    )
    SIGNALS = ("handoff",)

    def render(self, buffer: Buffer) -> FlowReturn | None:
        if self._props["signal-handoffs"]:
            self.emit("handoff", buffer, self.sinkpad)
        if not self._props["silent"] or self._props["dump"]:
            print(f"{self.name}: chain ******* (pts {buffer.pts / 1e9:.6f}) {buffer.caps}", flush=True)
        n = self._props["num-buffers"]
        if n >= 0 and self.rendered + 1 >= n:
            return FlowReturn.EOS
        return FlowReturn.OK
