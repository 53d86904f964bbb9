"""Base class of sink elements: clock sync, ``render`` per buffer, EOS reporting."""

from __future__ import annotations

import time

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.element import Element
from vistream.core.pad import Pad
from vistream.core.props import Property


class BaseSink(Element):
    """A sink renders buffers; with ``sync=true`` it waits until each buffer's presentation time."""

    KLASS = "Sink"
    SYNC_DEFAULT = False
    PROPERTIES = (
        Property.bool("sync", False, "Sync on the clock (play at the stream's own speed)"),
        Property.bool("async", True, "Go asynchronously to PAUSED (accepted for compatibility)"),
        Property.bool("qos", False, "Generate Quality-of-Service events upstream (accepted for compatibility)"),
        Property.bool("enable-last-sample", False, "Keep a reference to the last buffer (accepted)"),
    )

    def __init__(self, name=None, _factory=None, **props):
        super().__init__(name, _factory, **props)
        if "sync" not in self._set_props:
            self._props["sync"] = self.SYNC_DEFAULT
        self._t0: float | None = None
        self._pts0 = 0
        self.rendered = 0

    def _activate(self) -> None:
        super()._activate()
        self._t0 = None
        self.rendered = 0

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        if self._props["sync"] and buffer.pts >= 0:
            now = time.monotonic()
            if self._t0 is None:
                self._t0, self._pts0 = now, buffer.pts
            wait = self._t0 + (buffer.pts - self._pts0) / 1e9 - now
            if wait > 0:
                time.sleep(min(wait, 5.0))
        ret = self.render(buffer)
        self.rendered += 1
        return FlowReturn.OK if ret is None else ret

    def render(self, buffer: Buffer) -> FlowReturn | None:
        """Hook: consume one buffer."""
        return FlowReturn.OK
