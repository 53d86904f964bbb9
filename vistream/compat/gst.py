"""``Gst`` for DeepStream Python apps: GStreamer's Python API (PyGObject spelling) over vistream's engine.

Scripts written for ``gi.repository.Gst`` run with ``from vistream.compat import Gst``::

    Gst.init(None)
    pipeline = Gst.Pipeline()
    source = Gst.ElementFactory.make("filesrc", "file-source")
    source.set_property("location", "clip.h264")
    ...
    pipeline.add(source)
    source.link(h264parser)
    sinkpad = streammux.request_pad_simple("sink_0")
    decoder.get_static_pad("src").link(sinkpad)
    osdsinkpad.add_probe(Gst.PadProbeType.BUFFER, probe, 0)
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", bus_call, loop)
    pipeline.set_state(Gst.State.PLAYING)
    loop.run()

Every object handed to user code is a thin wrapper over the engine's own object (``obj._native``); attributes
the wrapper does not define are read from the native object. Behaviour that differs from GStreamer:

* Bins are flattened: children of a ``Gst.Bin`` join the pipeline as ``<bin name>/<child name>`` and ghost
  pads link their target directly. A ghost pad linked before it has a target links once ``set_target`` runs.
* ``Element.link`` and ``Pad.link`` return False / a ``PadLinkReturn`` error as GStreamer does, and log the
  reason (logger ``vistream.compat``); ``ElementFactory.make`` logs why it returns None.
* Decoded video caps report the ``memory:NVMM`` feature, so checks written for DeepStream's decoders pass.
* Bus watches (``add_signal_watch`` + ``connect("message", ...)``, ``add_watch``) run in the thread of
  ``GLib.MainLoop.run()``; messages posted before the loop runs wait for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from vistream.compat import _buffers
from vistream.compat.glib import MainContext
from vistream.core import Pipeline as _NativePipeline
from vistream.core import element as _element
from vistream.core.buffer import CLOCK_TIME_NONE, SECOND, Buffer, EventType, FlowReturn
from vistream.core.buffer import Event as _NativeEvent
from vistream.core.bus import Bus as _NativeBus
from vistream.core.bus import Message as _NativeMessage
from vistream.core.bus import MessageType
from vistream.core.caps import NVMM
from vistream.core.caps import Caps as _NativeCaps
from vistream.core.element import State, StateChangeReturn
from vistream.core.errors import VistreamError
from vistream.core.pad import Pad as _NativePad
from vistream.core.pad import PadDirection, PadLinkReturn, PadPresence, PadProbeReturn, PadProbeType
from vistream.core.pad import PadProbeInfo as _NativeProbeInfo

_log = logging.getLogger("vistream.compat")

MSECOND = SECOND // 1000
USECOND = SECOND // 1_000_000
NSECOND = 1
VERSION = (1, 20, 3, 0)

_WRAPPER_ATTR = "_vistream_compat"


# --- wrapping -----------------------------------------------------------------------------------------------
def _wrap(obj: Any) -> Any:
    """The compat wrapper of an engine object (the same wrapper every time), or ``obj`` itself."""
    if obj is None or isinstance(obj, _Wrapper):
        return obj
    cls = None
    if isinstance(obj, _NativePipeline):
        cls = Pipeline
    elif isinstance(obj, _element.Element):
        cls = Element
    elif isinstance(obj, _NativePad):
        cls = Pad
    elif isinstance(obj, _NativeBus):
        cls = Bus
    elif isinstance(obj, _NativeCaps):
        return Caps(obj)
    elif isinstance(obj, _NativeMessage):
        return Message(obj)
    if cls is None:
        return obj
    wrapper = obj.__dict__.get(_WRAPPER_ATTR)
    if wrapper is None:
        wrapper = cls(obj)
        obj.__dict__[_WRAPPER_ATTR] = wrapper
    return wrapper


def _unwrap(obj: Any) -> Any:
    return obj._native if isinstance(obj, _Wrapper) else obj


class _Wrapper:
    """Base of the wrappers: unknown attributes come from the engine object."""

    _native: Any

    def __init__(self, native: Any):
        object.__setattr__(self, "_native", native)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._native, name)

    def __eq__(self, other: object) -> bool:
        return self._native is _unwrap(other)

    def __hash__(self) -> int:
        return hash(self._native)

    def __repr__(self) -> str:
        return f"<Gst {self._native!r}>"


# --- caps -------------------------------------------------------------------------------------------------------
class Structure:
    """``Gst.Structure``: a name and fields (caps structures and message structures)."""

    def __init__(self, name: str, fields: dict[str, Any] | None = None):
        self._name = name
        self._fields = dict(fields or {})

    @classmethod
    def new_empty(cls, name: str) -> Structure:
        return cls(name)

    def get_name(self) -> str:
        return self._name

    def has_name(self, name: str) -> bool:
        return self._name == name

    def _key(self, field: str) -> str:
        # vistream's messages name fields with underscores (stream_id), GStreamer's with dashes (stream-id)
        if field in self._fields:
            return field
        for alt in (field.replace("-", "_"), field.replace("_", "-")):
            if alt in self._fields:
                return alt
        return field

    def has_field(self, field: str) -> bool:
        return self._key(field) in self._fields

    def get_value(self, field: str) -> Any:
        return _wrap(self._fields.get(self._key(field)))

    def set_value(self, field: str, value: Any) -> None:
        self._fields[field] = value

    def _typed(self, field: str, types: tuple[type, ...]) -> tuple[bool, Any]:
        v = self._fields.get(self._key(field))
        if isinstance(v, bool):
            return (True, v) if bool in types else (False, None)
        return (True, v) if isinstance(v, types) else (False, None)

    def get_int(self, field: str) -> tuple[bool, int]:
        return self._typed(field, (int,))

    get_uint = get_int

    def get_double(self, field: str) -> tuple[bool, float]:
        return self._typed(field, (float, int))

    def get_boolean(self, field: str) -> tuple[bool, bool]:
        return self._typed(field, (bool,))

    def get_string(self, field: str) -> str | None:
        v = self._fields.get(self._key(field))
        return v if isinstance(v, str) else None

    def n_fields(self) -> int:
        return len(self._fields)

    def to_string(self) -> str:
        return ", ".join([self._name, *(f"{k}={v}" for k, v in self._fields.items())])

    __str__ = to_string

    def __getitem__(self, field: str) -> Any:
        return self._fields[self._key(field)]


class CapsFeatures:
    """``Gst.CapsFeatures``. Raw video reports ``memory:NVMM``: vistream's frames play that role."""

    def __init__(self, features: tuple[str, ...]):
        self._features = features

    def contains(self, feature: str) -> bool:
        return feature in self._features

    def to_string(self) -> str:
        return ", ".join(self._features)

    __str__ = to_string


class Caps(_Wrapper):
    """``Gst.Caps`` over :class:`vistream.Caps` (one structure)."""

    @classmethod
    def from_string(cls, text: str) -> Caps:
        return cls(_NativeCaps.from_string(text))

    @classmethod
    def new_any(cls) -> Caps:
        return cls(_NativeCaps())

    def get_size(self) -> int:
        return 0 if self._native.is_any else 1

    def is_any(self) -> bool:
        return self._native.is_any

    def get_structure(self, index: int = 0) -> Structure:
        self._check(index)
        return Structure(self._native.media_type, self._native.fields)

    def get_features(self, index: int = 0) -> CapsFeatures:
        self._check(index)
        feats = tuple(self._native.features)
        if self._native.media_type == "video/x-raw" and NVMM not in feats:
            feats += (NVMM,)
        return CapsFeatures(feats)

    def _check(self, index: int) -> None:
        if index != 0 or self._native.is_any:
            raise IndexError(f"caps {self._native} have no structure {index}")

    def to_string(self) -> str:
        return str(self._native)

    __str__ = to_string


# --- pads -------------------------------------------------------------------------------------------------------
class PadProbeInfoWrapper(_Wrapper):
    """What a probe callback gets: ``info.get_buffer()`` (the engine's Buffer), ``info.get_event()``."""

    def get_buffer(self) -> Buffer | None:
        return self._native.get_buffer()

    def get_event(self) -> _NativeEvent | None:
        return self._native.get_event()


class Pad(_Wrapper):
    """``Gst.Pad`` over :class:`vistream.Pad`."""

    def get_name(self) -> str:
        return self._native.name

    def get_direction(self) -> PadDirection:
        return self._native.direction

    def get_parent_element(self) -> Element | None:
        return _wrap(self._native.parent)

    get_parent = get_parent_element

    def get_peer(self) -> Pad | None:
        return _wrap(self._native.peer)

    def is_linked(self) -> bool:
        return self._native.peer is not None

    def get_current_caps(self) -> Caps | None:
        return _wrap(self._native.caps)

    def query_caps(self, filter: Caps | None = None) -> Caps:  # noqa: A002 - GStreamer's name
        """The current caps, else the pad template's."""
        if self._native.caps is not None:
            return _wrap(self._native.caps)
        templ = self._native.template
        text = templ.caps.split(";")[0] if templ is not None else "ANY"
        return Caps(_NativeCaps.from_string(text))

    get_allowed_caps = query_caps

    def link(self, sinkpad: Pad) -> PadLinkReturn:
        if isinstance(sinkpad, GhostPad):
            return sinkpad._link_from(self)
        try:
            return self._native.link(_unwrap(sinkpad))
        except VistreamError as e:
            _log.warning("%s", e)
            return PadLinkReturn.WAS_LINKED if "already linked" in str(e) else PadLinkReturn.NOFORMAT

    def unlink(self, sinkpad: Pad) -> bool:
        return self._native.unlink(_unwrap(sinkpad))

    def add_probe(self, mask: PadProbeType, callback: Callable[..., Any], *user_data: Any) -> int:
        """Call ``callback(pad, info, *user_data)``; while it runs, ``hash(info.get_buffer())`` resolves in pyds."""
        wrapper = self

        def probe(_pad: _NativePad, info: _NativeProbeInfo, _ud: Any) -> Any:
            buf = info.data if isinstance(info.data, Buffer) else None
            with _buffers.in_flight(buf):
                ret = callback(wrapper, PadProbeInfoWrapper(info), *user_data)
            return PadProbeReturn.OK if ret is None else ret

        return self._native.add_probe(mask, probe, None)

    def remove_probe(self, probe_id: int) -> None:
        self._native.remove_probe(probe_id)

    def send_event(self, event: _NativeEvent) -> bool:
        """On a src pad the event goes downstream to the peer; on a sink pad it enters the pad's element
        (an EOS sent to a muxer's ``sink_N`` ends that source, as when removing a source at run time)."""
        pad = self._native
        if pad.direction is PadDirection.SINK:
            return bool(pad.parent._receive_event(pad, event))
        return pad.push_event(event)


class GhostPad(Pad):
    """``Gst.GhostPad`` of a flattened :class:`Bin`: links go straight to its target pad."""

    def __init__(self, name: str, direction: PadDirection, target: Pad | None = None):
        object.__setattr__(self, "_native", None)
        self._name = name
        self._direction = direction
        self._target: Pad | None = None
        self._pending_peer: Pad | None = None
        self._pending_probes: list[tuple[PadProbeType, Callable[..., Any], tuple[Any, ...]]] = []
        self.parent_bin: Bin | None = None
        if target is not None:
            self.set_target(target)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or self._target is None:
            raise AttributeError(f"ghost pad {self._name!r} has no attribute {name!r} (no target yet)")
        return getattr(self._target, name)

    @classmethod
    def new_no_target(cls, name: str, direction: PadDirection) -> GhostPad:
        return cls(name, direction)

    @classmethod
    def new(cls, name: str, target: Pad) -> GhostPad:
        return cls(name, _wrap(target).get_direction(), _wrap(target))

    def get_name(self) -> str:
        return self._name

    def get_direction(self) -> PadDirection:
        return self._direction

    def get_target(self) -> Pad | None:
        return self._target

    def get_parent_element(self) -> Bin | None:
        return self.parent_bin

    def set_target(self, target: Pad | None) -> bool:
        target = _wrap(target)
        if target is not None and target.get_direction() is not self._direction:
            _log.warning("ghost pad %s: target %s has the wrong direction", self._name, target.get_name())
            return False
        self._target = target
        if target is None:
            return True
        for mask, cb, ud in self._pending_probes:
            target.add_probe(mask, cb, *ud)
        self._pending_probes.clear()
        if self._pending_peer is not None:
            peer, self._pending_peer = self._pending_peer, None
            ret = target.link(peer) if self._direction is PadDirection.SRC else peer.link(target)
            return ret == PadLinkReturn.OK
        return True

    def link(self, sinkpad: Pad) -> PadLinkReturn:
        if self._target is not None:
            return self._target.link(sinkpad)
        self._pending_peer = _wrap(sinkpad)
        return PadLinkReturn.OK

    def _link_from(self, srcpad: Pad) -> PadLinkReturn:
        if self._target is not None:
            return _wrap(srcpad).link(self._target)
        self._pending_peer = _wrap(srcpad)
        return PadLinkReturn.OK

    def is_linked(self) -> bool:
        return self._pending_peer is not None or (self._target is not None and self._target.is_linked())

    def get_current_caps(self) -> Caps | None:
        return None if self._target is None else self._target.get_current_caps()

    def query_caps(self, filter: Caps | None = None) -> Caps:  # noqa: A002
        return Caps.new_any() if self._target is None else self._target.query_caps(filter)

    def add_probe(self, mask: PadProbeType, callback: Callable[..., Any], *user_data: Any) -> int:
        if self._target is not None:
            return self._target.add_probe(mask, callback, *user_data)
        self._pending_probes.append((mask, callback, user_data))
        return -len(self._pending_probes)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"<GhostPad {self._name} -> {self._target!r}>"


# --- elements ---------------------------------------------------------------------------------------------------
class _Factory:
    def __init__(self, name: str, cls: type[_element.Element]):
        self._name, self._cls = name, cls

    def get_name(self) -> str:
        return self._name

    def get_longname(self) -> str:
        return self._cls.DESCRIPTION or self._name

    def create(self, name: str | None = None) -> Element | None:
        return ElementFactory.make(self._name, name)


class ElementFactory:
    """``Gst.ElementFactory``: ``make(factory, name)`` returns an element, or None (with a logged reason)."""

    @staticmethod
    def make(factory: str, name: str | None = None) -> Element | None:
        try:
            return _wrap(_element.make_element(factory, name))
        except VistreamError as e:
            _log.warning("Gst.ElementFactory.make(%r, %r): %s", factory, name, e)
            return None

    @staticmethod
    def find(factory: str) -> _Factory | None:
        cls = _element.find_factory(factory)
        return None if cls is None else _Factory(factory, cls)


class Element(_Wrapper):
    """``Gst.Element`` over :class:`vistream.Element`."""

    def get_name(self) -> str:
        return self._native.name

    def set_name(self, name: str) -> bool:
        self._native.set_property("name", name)
        return True

    def get_factory(self) -> _Factory:
        return _Factory(self._native.factory_name, type(self._native))

    def get_parent(self) -> Any:
        return _wrap(self._native.parent)

    def set_property(self, name: str, value: Any) -> None:
        self._native.set_property(name, _unwrap(value))

    def get_property(self, name: str) -> Any:
        return _wrap(self._native.get_property(name))

    def get_static_pad(self, name: str) -> Pad | None:
        return _wrap(self._native.get_static_pad(name))

    def request_pad_simple(self, name: str) -> Pad | None:
        try:
            return _wrap(self._native.request_pad(name))
        except VistreamError as e:
            _log.warning("%s", e)
            return None

    get_request_pad = request_pad_simple

    def request_pad(self, templ: Any, name: str | None = None, caps: Any = None) -> Pad | None:
        return self.request_pad_simple(name or getattr(templ, "name_template", templ))

    def release_request_pad(self, pad: Pad) -> None:
        self._native.release_request_pad(_unwrap(pad))

    def iterate_pads(self) -> list[Pad]:
        return [_wrap(p) for p in self._native.pads.values()]

    def link(self, dest: Element) -> bool:
        """Link to ``dest`` (a free or requested sink pad); False, with the reason logged, when impossible."""
        if isinstance(dest, Bin) and not isinstance(dest, Pipeline):
            pad = dest._ghost(PadDirection.SINK)
            src = self._native._free_pad(PadDirection.SRC)
            if pad is None or src is None:
                _log.warning("cannot link %s to bin %s: no free pads", self.get_name(), dest.get_name())
                return False
            return pad._link_from(_wrap(src)) == PadLinkReturn.OK
        try:
            return bool(self._native.link(_unwrap(dest)))
        except VistreamError as e:
            _log.warning("%s", e)
            return False

    def link_filtered(self, dest: Element, caps: Caps | None) -> bool:
        try:
            return bool(self._native.link(_unwrap(dest), _unwrap(caps)))
        except VistreamError as e:
            _log.warning("%s", e)
            return False

    def link_pads(self, srcpadname: str | None, dest: Element, destpadname: str | None) -> bool:
        try:
            return bool(self._native.link_pads(srcpadname, _unwrap(dest), destpadname))
        except VistreamError as e:
            _log.warning("%s", e)
            return False

    def unlink(self, dest: Element) -> None:
        self._native.unlink(_unwrap(dest))

    def connect(self, signal: str, callback: Callable[..., Any], *user_data: Any) -> int:
        """``callback(element, *signal_args, *user_data)``, with the signal's pads and elements wrapped."""

        def handler(el: Any, *args: Any) -> Any:
            return callback(_wrap(el), *(_wrap(a) for a in args))

        return self._native.connect(signal, handler, *user_data)

    def disconnect(self, handler_id: int) -> None:
        self._native.disconnect(handler_id)

    def emit(self, signal: str, *args: Any) -> Any:
        """Signals; appsink's action signals ``pull-sample`` / ``try-pull-sample(timeout_ns)`` return a sample
        whose buffer stays findable by ``hash()`` in pyds."""
        if signal in ("pull-sample", "try-pull-sample") and hasattr(self._native, "pull_sample"):
            timeout = _seconds(args[0]) if signal == "try-pull-sample" and args else None
            sample = self._native.pull_sample(timeout)
            if sample is not None:
                _buffers.remember(sample.get_buffer())
            return sample
        return _wrap(self._native.emit(signal, *(_unwrap(a) for a in args)))

    def set_state(self, state: State) -> StateChangeReturn:
        """Elements follow their pipeline: adding one to a running pipeline starts it already."""
        return StateChangeReturn.SUCCESS

    def sync_state_with_parent(self) -> bool:
        return True

    def get_state(self, timeout: int = 0) -> tuple[StateChangeReturn, State, State]:
        return StateChangeReturn.SUCCESS, self._native.state, State.VOID_PENDING

    def send_event(self, event: _NativeEvent) -> bool:
        if event.type is EventType.EOS and isinstance(self._native, _element.SourceElement):
            self._native.send_eos()
            return True
        return self._native.push_event(event)

    def add_pad(self, pad: Pad) -> bool:
        if isinstance(self, Bin):  # Gst.Element.add_pad(bin, ghost_pad), as some samples spell it
            return Bin.add_pad(self, pad)
        raise TypeError(f"{self.get_name()}: only a Gst.Bin takes ghost pads in vistream.compat")


class Bin(Element):
    """``Gst.Bin``: a named group of elements. It is flattened into the pipeline it is added to."""

    def __init__(self, name: str | None = None):
        object.__setattr__(self, "_native", None)
        self._name = name or f"bin{id(self):x}"
        self._children: dict[str, Any] = {}  # name in the bin -> wrapper
        self._ghosts: dict[str, GhostPad] = {}
        self._pipeline: Pipeline | None = None
        self._parent: Bin | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"Gst.Bin {self.__dict__.get('_name')!r} has no attribute {name!r}")

    @classmethod
    def new(cls, name: str | None = None) -> Bin:
        return cls(name)

    def get_name(self) -> str:
        return self._name

    def get_parent(self) -> Any:
        return self._parent

    def add(self, *elements: Any) -> bool:
        for el in elements:
            el = _wrap(el)
            name = el.get_name()
            if name in self._children:
                raise VistreamError(f'bin "{self._name}" already has an element named "{name}"')
            self._children[name] = el
            if isinstance(el, Bin):
                el._parent = self
            if self._pipeline is not None:
                self._pipeline._adopt(el, self._path())
        return True

    def remove(self, *elements: Any) -> bool:
        for el in elements:
            el = _wrap(el)
            self._children = {k: v for k, v in self._children.items() if v is not el}
            if self._pipeline is not None:
                self._pipeline._drop(el)
        return True

    def _path(self) -> str:
        return self._name if self._parent is None or isinstance(self._parent, Pipeline) else (
            f"{self._parent._path()}/{self._name}")

    def get_by_name(self, name: str) -> Any:
        if name in self._children:
            return self._children[name]
        for child in self._children.values():
            if isinstance(child, Bin):
                found = child.get_by_name(name)
                if found is not None:
                    return found
        return None

    def iterate_elements(self) -> list[Any]:
        return list(self._children.values())

    def add_pad(self, pad: Pad) -> bool:
        if not isinstance(pad, GhostPad):
            raise TypeError(f'bin "{self._name}": add_pad takes a Gst.GhostPad')
        pad.parent_bin = self
        self._ghosts[pad.get_name()] = pad
        return True

    def get_static_pad(self, name: str) -> Pad | None:
        return self._ghosts.get(name)

    def _ghost(self, direction: PadDirection) -> GhostPad | None:
        for g in self._ghosts.values():
            if g.get_direction() is direction and not g.is_linked():
                return g
        return None

    def link(self, dest: Element) -> bool:
        src = self._ghost(PadDirection.SRC)
        if src is None:
            _log.warning('bin "%s" has no free ghost src pad', self._name)
            return False
        sink = dest._ghost(PadDirection.SINK) if isinstance(dest, Bin) and not isinstance(dest, Pipeline) else None
        if sink is not None:
            _log.warning("linking two bins ghost to ghost is not supported: link their children")
            return False
        pad = _unwrap(dest)._free_pad(PadDirection.SINK)
        if pad is None:
            _log.warning("%s has no free sink pad", dest.get_name())
            return False
        return src.link(_wrap(pad)) == PadLinkReturn.OK

    def set_property(self, name: str, value: Any) -> None:
        if name != "name":
            raise TypeError(f'Gst.Bin "{self._name}" has no property "{name}"')
        self._name = str(value)

    def connect(self, signal: str, callback: Callable[..., Any], *user_data: Any) -> int:
        raise ValueError(f'Gst.Bin "{self._name}": bins are flattened in vistream.compat and have no signals '
                         f'("{signal}"); connect to the elements inside it')

    def get_state(self, timeout: int = 0) -> tuple[StateChangeReturn, State, State]:
        state = self._pipeline._native.state if self._pipeline is not None else State.NULL
        return StateChangeReturn.SUCCESS, state, State.VOID_PENDING

    def get_property(self, name: str) -> Any:
        if name != "name":
            raise TypeError(f'Gst.Bin "{self._name}" has no property "{name}"')
        return self._name

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"<Gst.Bin {self._name}>"


class Pipeline(Bin):
    """``Gst.Pipeline`` over :class:`vistream.Pipeline`."""

    def __init__(self, name: Any = None):
        if isinstance(name, _NativePipeline):
            native = name
        else:
            native = _NativePipeline(name)
        object.__setattr__(self, "_native", native)
        super().__init__(native.name)
        object.__setattr__(self, "_native", native)
        native.__dict__[_WRAPPER_ATTR] = self
        self._pipeline = self
        self._bus: Bus | None = None
        for el in native.elements:  # from parse_launch
            self._children[el.name] = _wrap(el)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._native, name)

    @classmethod
    def new(cls, name: str | None = None) -> Pipeline:
        return cls(name)

    connect = Element.connect

    def get_name(self) -> str:
        return self._native.name

    def _adopt(self, el: Any, prefix: str | None) -> None:
        if isinstance(el, Bin):
            el._pipeline = self
            for child in el._children.values():
                self._adopt(child, el._path())
            return
        native = _unwrap(el)
        if prefix:
            native.set_property("name", f"{prefix}/{native.name}")  # not in a pipeline yet: renaming is allowed
        self._native.add(native)

    def _drop(self, el: Any) -> None:
        if isinstance(el, Bin):
            for child in el._children.values():
                self._drop(child)
            el._pipeline = None
            return
        self._native.remove(_unwrap(el))

    def add(self, *elements: Any) -> bool:
        for el in elements:
            el = _wrap(el)
            if isinstance(el, Bin):
                el._parent = self
            self._children[el.get_name()] = el
            self._adopt(el, None)
        return True

    def get_by_name(self, name: str) -> Any:
        found = super().get_by_name(name)
        return found if found is not None else _wrap(self._native.get_by_name(name))

    def get_bus(self) -> Bus:
        return _wrap(self._native.bus)

    def set_state(self, state: State) -> StateChangeReturn:
        return self._native.set_state(state)

    def get_state(self, timeout: int = 0) -> tuple[StateChangeReturn, State, State]:
        return self._native.get_state()

    def send_event(self, event: _NativeEvent) -> bool:
        return self._native.send_event(event)

    def set_property(self, name: str, value: Any) -> None:
        self._native.set_property(name, value)

    def get_property(self, name: str) -> Any:
        return self._native.get_property(name)

    def __eq__(self, other: object) -> bool:
        return self._native is _unwrap(other)

    def __hash__(self) -> int:
        return id(self._native)

    def __repr__(self) -> str:
        return f"<Gst.Pipeline {self._native.name}>"


# --- bus --------------------------------------------------------------------------------------------------------
class GError(Exception):
    """What ``message.parse_error()`` returns first: ``.message`` names the element, ``.domain``, ``.code``."""

    def __init__(self, error: Exception):
        self.message = str(error)
        self.domain = "vistream-error"
        self.code = 1
        self.error = error
        super().__init__(self.message)


class Message(_Wrapper):
    """``Gst.Message``: ``type`` (``Gst.MessageType``), ``src`` (the element), ``parse_error()``."""

    @property
    def type(self) -> MessageType:
        return self._native.type

    @property
    def src(self) -> Any:
        return _wrap(self._native.src)

    def parse_error(self) -> tuple[GError, str]:
        err, debug = self._native.parse_error()
        return GError(err), debug or ""

    def parse_warning(self) -> tuple[GError, str]:
        err, debug = self._native.parse_warning()
        return GError(err), debug or ""

    parse_info = parse_warning

    def parse_state_changed(self) -> tuple[State, State, State]:
        return self._native.parse_state_changed()

    def get_structure(self) -> Structure | None:
        s = self._native.structure
        if self._native.type & (MessageType.ELEMENT | MessageType.INFO) and "name" in s:
            return Structure(s["name"], {k: v for k, v in s.items() if k != "name"})
        return Structure(self._native.type.name.lower(), s) if s else None

    def has_name(self, name: str) -> bool:
        return self._native.has_name(name)

    def get_seqnum(self) -> int:
        return id(self._native)


class Bus(_Wrapper):
    """``Gst.Bus``: poll it, or watch it from a ``GLib.MainLoop`` (``add_signal_watch`` + ``connect``)."""

    def __init__(self, native: _NativeBus):
        super().__init__(native)
        object.__setattr__(self, "_handlers", [])
        object.__setattr__(self, "_watching", False)

    def add_signal_watch(self, priority: int = 0) -> None:
        """Queue every message to the default main context, where ``connect``-ed handlers run."""
        if not self._watching:
            object.__setattr__(self, "_watching", True)
            self._native.add_watch(self._on_post, consume=True)  # as GStreamer: the watch takes them

    add_signal_watch_full = add_signal_watch

    def remove_signal_watch(self) -> None:
        if self._watching:
            object.__setattr__(self, "_watching", False)
            self._native.remove_watch(self._on_post)

    def connect(self, signal: str, callback: Callable[..., Any], *user_data: Any) -> int:
        """``signal`` is ``"message"`` or ``"message::<type>"`` (``message::eos``, ``message::error``)."""
        name, _, detail = signal.partition("::")
        if name not in ("message", "sync-message"):
            raise ValueError(f'Gst.Bus has no signal "{signal}" (signals: message, message::<type>)')
        types = MessageType.ANY
        if detail:
            key = detail.replace("-", "_").upper()
            if key not in MessageType.__members__:
                raise ValueError(f'unknown message type "{detail}" in signal "{signal}"')
            types = MessageType[key]
        self._handlers.append((len(self._handlers) + 1, types, callback, user_data, False))
        return len(self._handlers)

    def add_watch(self, priority: int, callback: Callable[..., Any], *user_data: Any) -> int:
        """GLib-style watch: ``callback(bus, message, *user_data)``, removed when it returns False."""
        self.add_signal_watch()
        self._handlers.append((len(self._handlers) + 1, MessageType.ANY, callback, user_data, True))
        return len(self._handlers)

    def disconnect(self, handler_id: int) -> None:
        object.__setattr__(self, "_handlers", [h for h in self._handlers if h[0] != handler_id])

    def _on_post(self, _bus: _NativeBus, msg: _NativeMessage) -> None:
        MainContext.default().invoke(self._dispatch, msg)

    def _dispatch(self, msg: _NativeMessage) -> bool:
        wrapped = Message(msg)
        for hid, types, cb, ud, is_watch in list(self._handlers):
            if msg.type & types:
                keep = cb(self, wrapped, *ud)
                if is_watch and not keep:
                    self.disconnect(hid)
        return False

    def timed_pop_filtered(self, timeout_ns: int, types: MessageType) -> Message | None:
        """Like GStreamer, the timeout is in nanoseconds (``Gst.CLOCK_TIME_NONE`` waits for ever)."""
        msg = self._native.timed_pop_filtered(_seconds(timeout_ns), types)
        return None if msg is None else Message(msg)

    def timed_pop(self, timeout_ns: int) -> Message | None:
        msg = self._native.timed_pop(_seconds(timeout_ns))
        return None if msg is None else Message(msg)

    def pop(self) -> Message | None:
        msg = self._native.pop()
        return None if msg is None else Message(msg)

    def pop_filtered(self, types: MessageType) -> Message | None:
        return self.timed_pop_filtered(0, types)

    def poll(self, types: MessageType, timeout_ns: int) -> Message | None:
        return self.timed_pop_filtered(timeout_ns, types)

    def have_pending(self) -> bool:
        return self._native.have_pending()


def _seconds(timeout_ns: int | None) -> float | None:
    if timeout_ns is None or timeout_ns < 0 or timeout_ns >= 2**63:
        return None
    return timeout_ns / SECOND


# --- module functions -------------------------------------------------------------------------------------------
class _EventFactory:
    """``Gst.Event.new_eos()``."""

    @staticmethod
    def new_eos() -> _NativeEvent:
        return _NativeEvent.eos()

    @staticmethod
    def new_flush_start() -> _NativeEvent:
        return _NativeEvent(EventType.FLUSH, {"stage": "start"})

    @staticmethod
    def new_flush_stop(reset_time: bool = True) -> _NativeEvent:
        return _NativeEvent(EventType.FLUSH, {"stage": "stop", "reset_time": reset_time})


def init(argv: Any = None) -> list[str]:
    """``Gst.init``: loads the built-in elements."""
    _element.factory_names()
    return list(argv or [])


def init_check(argv: Any = None) -> tuple[bool, list[str]]:
    return True, init(argv)


def is_initialized() -> bool:
    return True


def version() -> tuple[int, int, int, int]:
    return VERSION


def version_string() -> str:
    from vistream import __version__

    return f"GStreamer {'.'.join(map(str, VERSION[:3]))} (vistream {__version__})"


def parse_launch(description: str) -> Pipeline:
    """``Gst.parse_launch``; a bad description raises :class:`vistream.LaunchError` pointing at the token."""
    from vistream.core.launch import parse_launch as _parse

    return Pipeline(_parse(description))


def debug_bin_to_dot_file(*_args: Any) -> None:
    """Accepted and ignored (no graph dumps)."""


debug_bin_to_dot_file_with_ts = debug_bin_to_dot_file

# GStreamer's names for the engine's enums and constants (imported above) and for the wrappers
Event = _EventFactory
PadProbeInfo = PadProbeInfoWrapper
Object = _Wrapper

__all__ = [
    "CLOCK_TIME_NONE", "MSECOND", "NSECOND", "SECOND", "USECOND", "VERSION", "Bin", "Bus", "Caps", "CapsFeatures",
    "Element", "ElementFactory", "Event", "EventType", "FlowReturn", "GError", "GhostPad", "Message", "MessageType",
    "Object", "Pad", "PadDirection", "PadLinkReturn", "PadPresence", "PadProbeInfo", "PadProbeReturn",
    "PadProbeType", "Pipeline", "State", "StateChangeReturn", "Structure", "debug_bin_to_dot_file",
    "debug_bin_to_dot_file_with_ts", "init", "init_check", "is_initialized", "parse_launch", "version",
    "version_string",
]
