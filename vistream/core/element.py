"""Elements: the units of a pipeline, with typed properties, pads, signals and their own streaming threads."""

from __future__ import annotations

import itertools
import sys
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterator
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar

from vistream.core.buffer import Buffer, Event, EventType, FlowReturn
from vistream.core.bus import Message, MessageType
from vistream.core.caps import Caps
from vistream.core.errors import ElementError, LinkError, PropertyError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property, suggest
from vistream.core.queue import DataQueue, Flushing
from vistream.tools.threadcpu import note_thread_end

if TYPE_CHECKING:
    from vistream.core.pipeline import Pipeline


class State(IntEnum):
    """Element states, as GStreamer's ``GstState``."""

    VOID_PENDING = 0
    NULL = 1
    READY = 2
    PAUSED = 3
    PLAYING = 4


class StateChangeReturn(IntEnum):
    FAILURE = 0
    SUCCESS = 1
    ASYNC = 2
    NO_PREROLL = 3


_REGISTRY: dict[str, type[Element]] = {}
_name_counters: dict[str, itertools.count] = defaultdict(itertools.count)
_name_lock = threading.Lock()


def streaming_thread(target, name: str) -> threading.Thread:
    """A daemon thread running ``target`` that records its CPU time as it ends, so that ``vistream bench``'s
    per-thread table counts threads ending between two of its samples."""

    def run() -> None:
        try:
            target()
        finally:
            note_thread_end()

    return threading.Thread(target=run, name=name, daemon=True)


def register(cls: type[Element]) -> type[Element]:
    """Class decorator: make an element class available by its ``FACTORY`` name and its ``ALIASES``."""
    for name in (cls.FACTORY, *cls.ALIASES):
        _REGISTRY[name] = cls
    return cls


def _load_elements() -> None:
    import vistream.elements  # noqa: F401  (registers the built-in elements)


def find_factory(name: str) -> type[Element] | None:
    _load_elements()
    return _REGISTRY.get(name)


def factory_names() -> list[str]:
    """Every registered factory name, aliases included."""
    _load_elements()
    return sorted(_REGISTRY)


def element_classes() -> list[type[Element]]:
    _load_elements()
    seen: dict[int, type[Element]] = {}
    for cls in _REGISTRY.values():
        seen[id(cls)] = cls
    return sorted(seen.values(), key=lambda c: c.FACTORY)


def make_element(factory: str, name: str | None = None, **props: Any) -> Element:
    """Create an element by factory name (``Gst.ElementFactory.make``), e.g.
    ``make_element("nvstreammux", "m", batch_size=4, width=1280, height=720)``.
    Keyword properties may use underscores for dashes. Raises ``ValueError`` for an unknown factory.
    """
    cls = find_factory(factory)
    if cls is None:
        raise ElementError(f'no element "{factory}"{suggest(factory, factory_names())}')
    element = cls(name, _factory=factory)
    for key, value in props.items():
        element.set_property(key.replace("_", "-"), value)
    return element


class Element:
    """Base class of all elements.

    Subclasses declare ``FACTORY`` (and ``ALIASES``), ``PAD_TEMPLATES`` and ``PROPERTIES``; they implement
    ``chain(pad, buffer)`` for sink pads and may override ``start``/``stop`` and ``handle_event``.
    ``THREADED = True`` gives the element its own input queue and streaming thread, so it runs
    concurrently with its upstream (decoders, encoders, inference).

    Example of a custom element::

        @register
        class Brighten(Element):
            FACTORY = "brighten"
            PAD_TEMPLATES = (SINK_ANY, SRC_ANY)
            PROPERTIES = (Property.int("amount", 20, "Value added to every pixel", 0, 255),)

            def chain(self, pad, buffer):
                for frame in buffer.frames:
                    cv2.add(frame, self.props.amount, dst=frame)
                return self.push(buffer)
    """

    FACTORY: ClassVar[str] = ""
    ALIASES: ClassVar[tuple[str, ...]] = ()
    KLASS: ClassVar[str] = "Generic"
    DESCRIPTION: ClassVar[str] = ""
    PAD_TEMPLATES: ClassVar[tuple[PadTemplate, ...]] = ()
    PROPERTIES: ClassVar[tuple[Property, ...]] = ()
    SIGNALS: ClassVar[tuple[str, ...]] = ()
    THREADED: ClassVar[bool] = False
    TRANSPARENT: ClassVar[bool] = False  # caps pass through unchanged (queue, tee, identity)
    QUEUE_SIZE: ClassVar[int] = 2

    _BASE_PROPERTIES: ClassVar[tuple[Property, ...]] = (
        Property.string("name", None, "The name of the object"),
    )

    def __init__(self, name: str | None = None, _factory: str | None = None, **props: Any):
        self.factory_name = _factory or self.FACTORY
        if name is None:
            with _name_lock:
                name = f"{self.FACTORY}{next(_name_counters[self.FACTORY])}"
        self.name = name
        self.parent: Pipeline | None = None
        self.pads: dict[str, Pad] = {}
        self.state = State.NULL
        self._props: dict[str, Any] = {p.name: p.default for p in self.properties()}
        self._props["name"] = name
        self._set_props: set[str] = set()
        self._signals: dict[str, list[tuple[int, Callable[..., Any], tuple[Any, ...]]]] = defaultdict(list)
        self._signal_ids = itertools.count(1)
        self._queue: DataQueue | None = None
        self._thread: threading.Thread | None = None
        self._flow_error: FlowReturn | None = None
        self._stopping = False
        self._eos_sent = False
        self.proc_ns = 0  # time spent in this element's own processing
        self._downstream_ns = 0
        self.buffers_in = 0
        self.props = _PropsView(self)
        for templ in self.PAD_TEMPLATES:
            if templ.presence is PadPresence.ALWAYS:
                self.add_pad(Pad(templ.name_template, templ.direction, self, templ))
        for key, value in props.items():
            self.set_property(key.replace("_", "-"), value)

    # --- properties -------------------------------------------------------------------------------------
    @classmethod
    def properties(cls) -> tuple[Property, ...]:
        """All properties of this element class, inherited ones included (name first)."""
        cached = cls.__dict__.get("_all_props")
        if cached is not None:
            return cached
        out: dict[str, Property] = {}
        for klass in reversed(cls.__mro__):
            for p in klass.__dict__.get("_BASE_PROPERTIES", ()) + klass.__dict__.get("PROPERTIES", ()):
                out[p.name] = p
        result = tuple(out.values())
        cls._all_props = result
        return result

    @classmethod
    def find_property(cls, name: str) -> Property | None:
        name = name.replace("_", "-")
        for p in cls.properties():
            if p.name == name:
                return p
        return None

    def _property(self, name: str) -> Property:
        prop = self.find_property(name)
        if prop is None:
            names = [p.name for p in self.properties()]
            raise PropertyError(f'no property "{name}" in element "{self.factory_name}"{suggest(name, names)}',
                                self.name)
        return prop

    def set_property(self, name: str, value: Any) -> None:
        """Set a property by its name (dashes or underscores), converting and checking the value."""
        prop = self._property(name)
        if prop.readonly:
            raise PropertyError("property is read-only", self.name, prop.name)
        coerced = prop.coerce(value, self.name)
        if prop.name == "name":
            if self.parent is not None and self.state > State.NULL:
                raise PropertyError("cannot rename an element in a running pipeline", self.name, "name")
            self.name = coerced
        self._props[prop.name] = coerced
        self._set_props.add(prop.name)
        self.property_changed(prop.name, coerced)

    def get_property(self, name: str) -> Any:
        return self._props[self._property(name).name]

    def property_changed(self, name: str, value: Any) -> None:
        """Hook: called after a property was set (override to react at run time)."""

    def get_name(self) -> str:
        return self.name

    # --- pads -------------------------------------------------------------------------------------------
    def add_pad(self, pad: Pad) -> Pad:
        if pad.name in self.pads:
            raise LinkError(f"{self.name}: pad {pad.name} exists already")
        self.pads[pad.name] = pad
        if pad.template and pad.template.presence is PadPresence.SOMETIMES:
            self.emit("pad-added", pad)
        return pad

    def remove_pad(self, pad: Pad) -> None:
        if pad.peer is not None:
            pad.unlink() if pad.direction is PadDirection.SRC else pad.peer.unlink()
        self.pads.pop(pad.name, None)

    def get_static_pad(self, name: str) -> Pad | None:
        return self.pads.get(name)

    @property
    def src_pads(self) -> list[Pad]:
        return [p for p in self.pads.values() if p.direction is PadDirection.SRC]

    @property
    def sink_pads(self) -> list[Pad]:
        return [p for p in self.pads.values() if p.direction is PadDirection.SINK]

    @property
    def srcpad(self) -> Pad:
        return self.src_pads[0]

    @property
    def sinkpad(self) -> Pad:
        return self.sink_pads[0]

    def find_template(self, name: str, direction: PadDirection | None = None) -> PadTemplate | None:
        for t in self.PAD_TEMPLATES:
            if (direction is None or t.direction is direction) and (t.name_template == name or t.matches(name)):
                return t
        return None

    def request_pad(self, name: str | PadTemplate | None = None, direction: PadDirection = PadDirection.SINK) -> Pad:
        """Get a request pad by name (``"sink_0"``) or template name (``"sink_%u"``: the next free index)."""
        if isinstance(name, PadTemplate):
            templ, name = name, name.name_template
        else:
            templ = None
            for t in self.PAD_TEMPLATES:
                if t.presence is PadPresence.REQUEST and (name is None and t.direction is direction
                                                          or name is not None and (t.name_template == name or t.matches(name))):
                    templ = t
                    break
        if templ is None or templ.presence is not PadPresence.REQUEST:
            raise LinkError(f'element "{self.name}" has no request pad "{name}"')
        if name is None or name == templ.name_template:
            prefix = templ.name_template.split("%")[0]
            idx = 0
            while f"{prefix}{idx}" in self.pads:
                idx += 1
            name = f"{prefix}{idx}"
        if name in self.pads:
            raise LinkError(f'element "{self.name}": request pad "{name}" is already in use')
        pad = Pad(name, templ.direction, self, templ)
        self.add_pad(pad)
        self.pad_requested(pad)
        return pad

    # GStreamer spellings
    def request_pad_simple(self, name: str) -> Pad:
        return self.request_pad(name)

    get_request_pad = request_pad_simple

    def release_request_pad(self, pad: Pad) -> None:
        self.pad_released(pad)
        self.remove_pad(pad)

    def pad_requested(self, pad: Pad) -> None:
        """Hook: a request pad was created."""

    def pad_released(self, pad: Pad) -> None:
        """Hook: a request pad is about to be removed."""

    def free_pad(self, direction: PadDirection) -> Pad | None:
        """An unlinked pad of ``direction``, requesting one from a request template if needed."""
        return self._free_pad(direction)

    def _free_pad(self, direction: PadDirection, caps: Caps | None = None) -> Pad | None:
        for pad in self.pads.values():
            if pad.direction is direction and pad.peer is None:
                return pad
        for t in self.PAD_TEMPLATES:
            if t.direction is direction and t.presence is PadPresence.REQUEST:
                return self.request_pad(t)
        return None

    def link(self, dest: Element, filter_caps: Caps | str | None = None) -> bool:
        """Link a free src pad of this element to a free (or requested) sink pad of ``dest``.

        With ``filter_caps`` a capsfilter is inserted between them (the pipeline must contain both).
        """
        if filter_caps is not None:
            from vistream.core.element import make_element as _make

            cf = _make("capsfilter", caps=filter_caps)
            if self.parent is not None:
                self.parent.add(cf)
            self.link(cf)
            return cf.link(dest)
        src = self._free_pad(PadDirection.SRC)
        if src is None:
            raise LinkError(f'cannot link "{self.name}" to "{dest.name}": "{self.name}" has no free src pad')
        sink = dest._free_pad(PadDirection.SINK)
        if sink is None:
            raise LinkError(f'cannot link "{self.name}" to "{dest.name}": "{dest.name}" has no free sink pad')
        src.link(sink)
        return True

    def link_pads(self, srcpadname: str | None, dest: Element, destpadname: str | None) -> bool:
        src = self._pad_for_link(srcpadname, PadDirection.SRC)
        sink = dest._pad_for_link(destpadname, PadDirection.SINK)
        src.link(sink)
        return True

    def _pad_for_link(self, name: str | None, direction: PadDirection) -> Pad:
        if name is None:
            pad = self._free_pad(direction)
            if pad is None:
                raise LinkError(f'element "{self.name}" has no free {direction.value} pad')
            return pad
        pad = self.pads.get(name)
        if pad is not None:
            return pad
        templ = self.find_template(name, direction)
        if templ is not None and templ.presence is PadPresence.REQUEST:
            return self.request_pad(name)
        names = [p.name for p in self.pads.values()] + [t.name_template for t in self.PAD_TEMPLATES]
        raise LinkError(f'element "{self.name}" has no pad "{name}"{suggest(name, names)}')

    def unlink(self, dest: Element) -> None:
        for pad in self.src_pads:
            if pad.peer is not None and pad.peer.parent is dest:
                pad.unlink()

    # --- signals ------------------------------------------------------------------------------------------
    def connect(self, signal: str, callback: Callable[..., Any], *user_data: Any) -> int:
        """Connect ``callback(element, *signal_args, *user_data)`` to a signal such as ``pad-added``."""
        known = ("pad-added", "pad-removed", "no-more-pads", *self.SIGNALS)
        if signal not in known:
            raise ValueError(f'element "{self.factory_name}" has no signal "{signal}" (signals: {", ".join(known)})')
        hid = next(self._signal_ids)
        self._signals[signal].append((hid, callback, user_data))
        return hid

    def disconnect(self, handler_id: int) -> None:
        for sig, handlers in self._signals.items():
            self._signals[sig] = [h for h in handlers if h[0] != handler_id]

    def emit(self, signal: str, *args: Any) -> Any:
        result = None
        for _, cb, user_data in list(self._signals.get(signal, ())):
            result = cb(self, *args, *user_data)
        return result

    def has_handlers(self, signal: str) -> bool:
        return bool(self._signals.get(signal))

    # --- messages -------------------------------------------------------------------------------------------
    def post_message(self, msg_type: MessageType, structure: dict[str, Any] | None = None) -> None:
        if self.parent is not None:
            self.parent.bus.post(Message(msg_type, self, structure))

    def post_error(self, message: str, debug: str | None = None) -> None:
        """Post an ERROR on the bus; the error's text starts with this element's name."""
        err = ElementError(message, self.name, debug)
        self.post_message(MessageType.ERROR, {"error": err, "debug": debug or ""})

    def post_warning(self, message: str, debug: str | None = None) -> None:
        err = ElementError(message, self.name, debug)
        self.post_message(MessageType.WARNING, {"error": err, "debug": debug or ""})

    def post_info(self, message: str) -> None:
        self.post_message(MessageType.INFO, {"error": ElementError(message, self.name), "debug": ""})

    def post_element_message(self, name: str, **fields: Any) -> None:
        """Post an ELEMENT message whose structure is ``{"name": name, **fields}``."""
        self.post_message(MessageType.ELEMENT, {"name": name, **fields})

    # --- life cycle ---------------------------------------------------------------------------------------
    def start(self) -> None:
        """Hook: open resources (READY → PAUSED). Raise :class:`ElementError` to fail the state change."""

    def stop(self) -> None:
        """Hook: release resources (→ NULL)."""

    def _activate(self) -> None:
        self._stopping = False
        self._flow_error = None
        self._eos_sent = False
        for pad in self.pads.values():
            pad.eos = False
        if self.THREADED:
            self._queue = self.make_queue()
            self._thread = streaming_thread(self._worker, f"vistream:{self.name}")

    def make_queue(self) -> DataQueue:
        return DataQueue(max_buffers=self.QUEUE_SIZE)

    def _start_threads(self) -> None:
        if self._thread is not None and not self._thread.is_alive():
            self._thread.start()

    def _deactivate(self) -> None:
        self._stopping = True
        if self._queue is not None:
            self._queue.set_flushing(True)

    def _join(self, timeout: float) -> bool:
        t = self._thread
        if t is not None and t.is_alive() and t is not threading.current_thread():
            t.join(timeout)
            return not t.is_alive()
        return True

    @property
    def is_sink(self) -> bool:
        return not any(t.direction is PadDirection.SRC for t in self.PAD_TEMPLATES)

    @property
    def is_source(self) -> bool:
        return not any(t.direction is PadDirection.SINK for t in self.PAD_TEMPLATES)

    # --- data flow ------------------------------------------------------------------------------------------
    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        """Process a buffer that arrived on sink pad ``pad``. The default passes it through."""
        return self.push(buffer)

    def push(self, buffer: Buffer, pad: Pad | None = None) -> FlowReturn:
        """Push a buffer downstream from ``pad`` (default: the first src pad)."""
        pad = pad or self.srcpad
        t0 = time.perf_counter_ns()
        try:
            return pad.push(buffer)
        finally:
            self._downstream_ns += time.perf_counter_ns() - t0

    def push_event(self, event: Event) -> bool:
        ok = False
        for pad in self.src_pads:
            ok = pad.push_event(event) or ok
        return ok

    def handle_event(self, pad: Pad, event: Event) -> bool:
        """Handle an event arriving on a sink pad. The default forwards it to every src pad;
        sinks report EOS to the pipeline."""
        if event.type is EventType.EOS:
            self.on_eos(pad)
            if self.is_sink:
                self._report_eos()
                return True
        return self.push_event(event)

    def on_eos(self, pad: Pad) -> None:
        """Hook: EOS arrived on ``pad`` (flush decoders, finalise files) before it is forwarded."""

    def _report_eos(self) -> None:
        if self.parent is not None:
            self.parent._sink_got_eos(self)

    def _receive(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        if self._stopping:
            return FlowReturn.FLUSHING
        if self._flow_error is not None:
            return self._flow_error
        self.buffers_in += 1
        if self._queue is not None:
            try:
                self._queue.put(buffer, _nbytes(buffer))
            except Flushing:
                return FlowReturn.FLUSHING
            return self._flow_error or FlowReturn.OK
        return self._process(pad, buffer)

    def _process(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        start_down = self._downstream_ns
        t0 = time.perf_counter_ns()
        ret = self._guarded(self.chain, pad, buffer)
        self.proc_ns += time.perf_counter_ns() - t0 - (self._downstream_ns - start_down)
        if ret is None:
            ret = FlowReturn.OK
        if ret in (FlowReturn.ERROR, FlowReturn.NOT_NEGOTIATED):
            self._flow_error = FlowReturn.ERROR
        return ret

    def _receive_event(self, pad: Pad, event: Event) -> bool:
        if event.type is EventType.EOS:
            if pad.eos:
                return True  # a second EOS on the same pad (after an upstream error) changes nothing
            pad.eos = True
        if self._queue is not None and not self._stopping:
            try:
                self._queue.put((pad, event))
            except Flushing:
                return False
            return True
        return self._handle_event_safe(pad, event)

    def _handle_event_safe(self, pad: Pad, event: Event) -> bool:
        try:
            return self.handle_event(pad, event)
        except ElementError as e:
            self.post_error(e.message, e.debug)
        except Exception as e:
            self.post_error(f"{type(e).__name__}: {e}", traceback.format_exc())
        if event.type is EventType.EOS:  # never swallow EOS, or the pipeline would wait for ever
            if self.is_sink:
                self._report_eos()
            else:
                self._send_eos_once()
        return False

    def _send_eos_once(self) -> None:
        if not self._eos_sent:
            self._eos_sent = True
            for p in self.src_pads:
                p.push_event(Event.eos())

    def _worker(self) -> None:
        """Streaming thread of a THREADED element: drains the input queue in order."""
        q = self._queue
        assert q is not None
        sink = self.sink_pads[0] if self.sink_pads else None
        idle = type(self).on_idle is not Element.on_idle
        while True:
            if idle and not len(q) and self._flow_error is None:
                self._after_chain(self._guarded(self.on_idle) or FlowReturn.OK)
            try:
                item = q.get()
            except Flushing:
                return
            if isinstance(item, Buffer):
                if self._flow_error is not None:
                    continue  # drop data after a fatal error; EOS still goes through
                self._after_chain(self._process(sink, item))  # type: ignore[arg-type]
            else:
                pad, event = item
                if event.type is EventType.EOS:
                    self._eos_sent = True
                self._handle_event_safe(pad, event)

    def _after_chain(self, ret: FlowReturn) -> None:
        if ret not in (FlowReturn.OK, FlowReturn.NOT_LINKED):
            self._flow_error = ret if ret != FlowReturn.FLUSHING else None
            if ret == FlowReturn.ERROR:
                self._send_eos_once()

    def _guarded(self, hook, *args) -> FlowReturn | None:
        """Call a streaming hook (``chain``, ``on_idle``): an exception becomes a bus ERROR naming this element
        and ``FlowReturn.ERROR``."""
        try:
            return hook(*args)
        except ElementError as e:
            self.post_error(e.message, e.debug)
        except Exception as e:  # an element's bug must not kill the stream silently
            self.post_error(f"{type(e).__name__}: {e}", traceback.format_exc())
        return FlowReturn.ERROR

    def on_idle(self) -> FlowReturn:
        """Hook for THREADED elements: called in the streaming thread when the input queue is empty, before
        it waits for more, e.g. to finish and push work kept in flight. Returns a flow return like ``chain``."""
        return FlowReturn.OK

    def downstream_caps(self, pad: Pad | None = None) -> Caps | None:
        """The caps a downstream capsfilter asks for (looking through queues and tees), or None."""
        pad = pad or (self.src_pads[0] if self.src_pads else None)
        for _ in range(64):
            if pad is None or pad.peer is None:
                return None
            el = pad.peer.parent
            if el.FACTORY == "capsfilter":
                return el._props.get("caps")
            if not el.TRANSPARENT or not el.src_pads:
                return None
            pad = el.src_pads[0]
        return None

    # --- verbose caps -------------------------------------------------------------------------------------
    def _notify_caps(self, pad: Pad, caps: Caps) -> None:
        if self.parent is not None:
            self.parent._notify_caps(pad, caps)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class _PropsView:
    """``element.props.batch_size`` reads and writes properties with Python names."""

    __slots__ = ("_element",)

    def __init__(self, element: Element):
        object.__setattr__(self, "_element", element)

    def __getattr__(self, name: str) -> Any:
        return self._element.get_property(name.replace("_", "-"))

    def __setattr__(self, name: str, value: Any) -> None:
        self._element.set_property(name.replace("_", "-"), value)


def _nbytes(buffer: Buffer) -> int:
    data = buffer.data
    n = getattr(data, "nbytes", None)
    if n is not None:
        return int(n)
    if isinstance(data, list):
        return sum(int(getattr(f, "nbytes", 0)) for f in data)
    size = getattr(data, "size", None)
    return int(size) if isinstance(size, int) else 0


class SourceElement(Element):
    """An element that produces data in its own streaming thread: implement ``produce()`` as a generator.

    The loop waits while the pipeline is PAUSED, stops on a fatal flow return, and always ends with EOS.
    Raise :class:`ElementError` from ``produce`` for a clear bus ERROR that ends only this source's stream.
    """

    def produce(self) -> Iterator[Buffer]:
        raise NotImplementedError

    def _activate(self) -> None:
        super()._activate()
        self._eos_requested = False
        self._thread = streaming_thread(self._loop, f"vistream:{self.name}")

    def send_eos(self) -> None:
        """Ask the source to finish: it stops producing and pushes EOS (``gst-launch -e``)."""
        self._eos_requested = True

    def _wait_playing(self) -> bool:
        p = self.parent
        while p is not None and not self._stopping and not p._playing.wait(0.1):
            pass
        return not self._stopping

    def _loop(self) -> None:
        if not self._wait_playing():
            return
        gen = None
        try:
            gen = self.produce()
            for buffer in _timed(gen, self):
                if self._stopping:
                    return
                if self._eos_requested:
                    break
                if not self._wait_playing():
                    return
                ret = self.push(buffer)
                if ret == FlowReturn.FLUSHING:
                    return
                if ret not in (FlowReturn.OK, FlowReturn.NOT_LINKED):
                    break
                if ret == FlowReturn.NOT_LINKED and all(p.peer is None for p in self.src_pads):
                    self.post_error("internal data stream error: not linked")
                    break
        except ElementError as e:
            self.post_error(e.message, e.debug)
        except Exception as e:
            self.post_error(f"{type(e).__name__}: {e}", traceback.format_exc())
        finally:
            if gen is not None:
                try:
                    gen.close()
                except Exception:  # pragma: no cover - closing a broken generator
                    print(traceback.format_exc(), file=sys.stderr)
        if not self._stopping:
            self._send_eos_once()


def _timed(gen: Iterator[Buffer], element: Element) -> Iterator[Buffer]:
    """Iterate a source's generator, adding the time spent producing to ``element.proc_ns``."""
    while True:
        t0 = time.perf_counter_ns()
        try:
            item = next(gen)
        except StopIteration:
            return
        finally:
            element.proc_ns += time.perf_counter_ns() - t0
        yield item


SINK_ANY = PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "ANY")
SRC_ANY = PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "ANY")
VIDEO_CAPS = "video/x-raw"
SINK_VIDEO = PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, VIDEO_CAPS)
SRC_VIDEO = PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, VIDEO_CAPS)
