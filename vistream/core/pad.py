"""Pads: an element's typed connection points, with probes for user code."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, IntEnum, IntFlag
from typing import TYPE_CHECKING, Any

from vistream.core.buffer import Buffer, Event, FlowReturn
from vistream.core.caps import Caps
from vistream.core.errors import LinkError

if TYPE_CHECKING:
    from vistream.core.element import Element


class PadDirection(Enum):
    SRC = "src"
    SINK = "sink"


class PadPresence(Enum):
    ALWAYS = "always"
    SOMETIMES = "sometimes"
    REQUEST = "request"


@dataclass(frozen=True)
class PadTemplate:
    """Describes the pads an element can have: ``name_template`` such as ``sink_%u``, direction, presence, caps."""

    name_template: str
    direction: PadDirection
    presence: PadPresence = PadPresence.ALWAYS
    caps: str = "ANY"

    def matches(self, name: str) -> bool:
        t = self.name_template
        if "%u" in t or "%d" in t:
            prefix = t.split("%")[0]
            return name.startswith(prefix) and name[len(prefix):].isdigit()
        return name == t


class PadProbeType(IntFlag):
    """What a probe wants to see (values as GStreamer's ``GstPadProbeType``)."""

    IDLE = 1 << 0
    BLOCK = 1 << 1
    BUFFER = 1 << 4
    BUFFER_LIST = 1 << 5
    EVENT_DOWNSTREAM = 1 << 6
    EVENT_UPSTREAM = 1 << 7
    EVENT_BOTH = EVENT_DOWNSTREAM | EVENT_UPSTREAM
    DATA_DOWNSTREAM = BUFFER | BUFFER_LIST | EVENT_DOWNSTREAM


class PadProbeReturn(IntEnum):
    """What a probe decides (values as GStreamer's ``GstPadProbeReturn``)."""

    DROP = 0
    OK = 1
    REMOVE = 2
    PASS = 3
    HANDLED = 4


class PadLinkReturn(IntEnum):
    OK = 0
    WRONG_HIERARCHY = -1
    WAS_LINKED = -2
    WRONG_DIRECTION = -3
    NOFORMAT = -4
    NOSCHED = -5
    REFUSED = -6


class PadProbeInfo:
    """Passed to a probe callback: ``info.get_buffer()`` / ``info.get_event()``."""

    __slots__ = ("type", "data", "id")

    def __init__(self, type_: PadProbeType, data: Any, probe_id: int):
        self.type = type_
        self.data = data
        self.id = probe_id

    def get_buffer(self) -> Buffer | None:
        return self.data if isinstance(self.data, Buffer) else None

    def get_event(self) -> Event | None:
        return self.data if isinstance(self.data, Event) else None


ProbeCallback = Callable[["Pad", PadProbeInfo, Any], PadProbeReturn]


class Pad:
    """A source or sink pad of an element. Data flows from a src pad to the sink pad it is linked to."""

    def __init__(self, name: str, direction: PadDirection, parent: Element, template: PadTemplate | None = None):
        self.name = name
        self.direction = direction
        self.parent = parent
        self.template = template
        self.peer: Pad | None = None
        self.caps: Caps | None = None
        self._probes: list[tuple[int, PadProbeType, ProbeCallback, Any]] = []
        self._probe_lock = threading.Lock()
        self._next_probe = 1
        self.buffers = 0  # buffers that went through this pad
        self.eos = False  # EOS arrived (sink pads)

    # --- GStreamer-style accessors ------------------------------------------------------------------------
    def get_name(self) -> str:
        return self.name

    def get_parent_element(self) -> Element:
        return self.parent

    def get_peer(self) -> Pad | None:
        return self.peer

    def is_linked(self) -> bool:
        return self.peer is not None

    def get_current_caps(self) -> Caps | None:
        return self.caps

    @property
    def full_name(self) -> str:
        return f"{self.parent.name}.{self.name}"

    # --- linking ------------------------------------------------------------------------------------------
    def link(self, sink: Pad) -> PadLinkReturn:
        """Link this src pad to ``sink``. Raises :class:`LinkError` when the pads cannot be linked."""
        if self.direction is not PadDirection.SRC or sink.direction is not PadDirection.SINK:
            raise LinkError(f"cannot link {self.full_name} to {sink.full_name}: a src pad links to a sink pad")
        if self.peer is not None:
            raise LinkError(f"cannot link {self.full_name}: already linked to {self.peer.full_name}")
        if sink.peer is not None:
            raise LinkError(f"cannot link to {sink.full_name}: already linked to {sink.peer.full_name}")
        if not _templates_intersect(self.template, sink.template):
            raise LinkError(
                f"cannot link {self.full_name} ({self.template.caps}) to {sink.full_name} ({sink.template.caps}): "
                "incompatible caps"
            )
        self.peer, sink.peer = sink, self
        return PadLinkReturn.OK

    def unlink(self, other: Pad | None = None) -> bool:
        if self.peer is None or (other is not None and other is not self.peer):
            return False
        self.peer.peer = None
        self.peer = None
        return True

    # --- probes -------------------------------------------------------------------------------------------
    def add_probe(self, mask: PadProbeType, callback: ProbeCallback, user_data: Any = None) -> int:
        """Call ``callback(pad, info, user_data)`` for each buffer (and/or event) passing this pad."""
        with self._probe_lock:
            pid = self._next_probe
            self._next_probe += 1
            self._probes = self._probes + [(pid, PadProbeType(mask), callback, user_data)]
        return pid

    def remove_probe(self, probe_id: int) -> None:
        with self._probe_lock:
            self._probes = [p for p in self._probes if p[0] != probe_id]

    def _run_probes(self, kind: PadProbeType, data: Any) -> bool:
        """Run probes; False means the data was dropped."""
        keep = True
        for pid, mask, cb, ud in self._probes:
            if not (mask & kind):
                continue
            ret = cb(self, PadProbeInfo(kind, data, pid), ud)
            if ret == PadProbeReturn.REMOVE:
                self.remove_probe(pid)
            elif ret in (PadProbeReturn.DROP, PadProbeReturn.HANDLED):
                keep = False
                break
        return keep

    # --- data flow ----------------------------------------------------------------------------------------
    def push(self, buffer: Buffer) -> FlowReturn:
        """Push a buffer to the peer (src pads only)."""
        peer = self.peer
        if peer is None:
            return FlowReturn.NOT_LINKED
        if buffer.caps is not None and buffer.caps is not self.caps:
            self._set_caps(buffer.caps)
        if self._probes and not self._run_probes(PadProbeType.BUFFER, buffer):
            return FlowReturn.OK
        self.buffers += 1
        if peer._probes and not peer._run_probes(PadProbeType.BUFFER, buffer):
            return FlowReturn.OK
        if buffer.caps is not None and buffer.caps is not peer.caps:
            peer._set_caps(buffer.caps)
        peer.buffers += 1
        return peer.parent._receive(peer, buffer)

    def push_event(self, event: Event) -> bool:
        peer = self.peer
        if peer is None:
            return False
        if self._probes and not self._run_probes(PadProbeType.EVENT_DOWNSTREAM, event):
            return True
        if peer._probes and not peer._run_probes(PadProbeType.EVENT_DOWNSTREAM, event):
            return True
        return peer.parent._receive_event(peer, event)

    def send_event(self, event: Event) -> bool:
        """Send an event: from a src pad it goes downstream to the peer; on a sink pad it enters this pad's
        element (e.g. EOS into one ``nvstreammux`` sink pad ends that source)."""
        if self.direction is PadDirection.SRC:
            return self.push_event(event)
        return self.parent._receive_event(self, event)

    def query_caps(self) -> Caps:
        """The caps this pad has negotiated, else the first caps of its template."""
        if self.caps is not None:
            return self.caps
        if self.template is None:
            return Caps()
        return Caps.from_string(self.template.caps.split(";")[0])

    def _set_caps(self, caps: Caps) -> None:
        changed = self.caps is None or caps != self.caps
        self.caps = caps
        if changed:
            self.parent._notify_caps(self, caps)

    def __repr__(self) -> str:
        return f"<Pad {self.full_name} {self.direction.value}>"


def _templates_intersect(a: PadTemplate | None, b: PadTemplate | None) -> bool:
    if a is None or b is None:
        return True
    ca = [Caps.from_string(s) for s in a.caps.split(";")]
    cb = [Caps.from_string(s) for s in b.caps.split(";")]
    return any(x.is_any or y.is_any or x.media_type == y.media_type for x in ca for y in cb)
