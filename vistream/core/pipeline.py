"""The pipeline: a bin of linked elements with a bus, states and a blocking ``run()``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from vistream.core.buffer import Event, EventType
from vistream.core.bus import Bus, Message, MessageType
from vistream.core.caps import Caps
from vistream.core.element import Element, SourceElement, State, StateChangeReturn
from vistream.core.errors import ElementError, LinkError, VistreamError
from vistream.core.pad import Pad, PadDirection, PadPresence


class PipelineError(VistreamError):
    """An ERROR message raised by :meth:`Pipeline.run`; ``element`` names the element that posted it."""

    def __init__(self, error: Exception, element: str, debug: str = "", others: list[Message] | None = None):
        self.error = error
        self.element = element
        self.debug = debug
        self.others = others or []
        text = str(error)
        if len(self.others) > 0:
            text += f" (and {len(self.others)} more error(s): " + "; ".join(str(m.parse_error()[0]) for m in self.others) + ")"
        super().__init__(text)


class Pipeline(Element):
    """A top-level bin: add elements, link them, set it PLAYING and watch its :class:`Bus`.

    >>> p = parse_launch("videotestsrc num-buffers=3 ! fakesink")   # doctest: +SKIP
    >>> p.run()                                                       # blocks until EOS
    """

    FACTORY = "pipeline"
    KLASS = "Generic/Bin"
    DESCRIPTION = "Complete pipeline"

    def __init__(self, name: str | None = None, _factory: str | None = None, **props: Any):
        super().__init__(name, _factory, **props)
        self.bus = Bus()
        self.elements: list[Element] = []
        self._playing = threading.Event()
        self._eos_sinks: set[str] = set()
        self._eos_posted = False
        self._lock = threading.Lock()
        self.verbose = False
        self.start_time: float | None = None
        self.end_time: float | None = None

    # --- membership ---------------------------------------------------------------------------------------
    def add(self, *elements: Element) -> None:
        """Add elements (``Gst.Bin.add``); names must be unique within the pipeline."""
        for el in elements:
            if any(e.name == el.name for e in self.elements):
                raise VistreamError(f'pipeline "{self.name}" already has an element named "{el.name}"')
            if el.parent is not None and el.parent is not self:
                raise VistreamError(f'element "{el.name}" already belongs to pipeline "{el.parent.name}"')
            el.parent = self
            self.elements.append(el)
            if self.state > State.NULL:
                el._activate()
                el.start()
                el.state = self.state
                el._start_threads()

    def remove(self, *elements: Element) -> None:
        for el in elements:
            if el in self.elements:
                el._deactivate()
                el._join(2.0)
                el.stop()
                el.state = State.NULL
                self.elements.remove(el)
                el.parent = None

    def get_by_name(self, name: str) -> Element | None:
        for el in self.elements:
            if el.name == name:
                return el
        return None

    def __getitem__(self, name: str) -> Element:
        el = self.get_by_name(name)
        if el is None:
            raise KeyError(name)
        return el

    def iterate_elements(self) -> Iterator[Element]:
        return iter(list(self.elements))

    def get_bus(self) -> Bus:
        return self.bus

    @property
    def sources(self) -> list[Element]:
        return [e for e in self.elements if isinstance(e, SourceElement)]

    @property
    def sinks(self) -> list[Element]:
        return [e for e in self.elements if e.is_sink]

    # --- states ---------------------------------------------------------------------------------------
    def set_state(self, state: State) -> StateChangeReturn:
        """Change state. PLAYING checks the links, starts every element and its streaming threads;
        NULL stops threads and releases resources. A failure posts an ERROR on the bus and returns FAILURE."""
        state = State(state)
        old = self.state
        if state == old:
            return StateChangeReturn.SUCCESS
        try:
            if old == State.NULL and state > State.NULL:
                for el in self._ordered(downstream_first=True):
                    el._activate()
                    el.start()
                    self._set_element_state(el, State.READY)
                self._check_links()  # after start(): sources add their 'sometimes' pads there
                self._eos_sinks.clear()
                self._eos_posted = False
                self.bus.set_flushing(False)
            if state >= State.PAUSED and old < State.PAUSED:
                for el in self._ordered(downstream_first=True):
                    self._set_element_state(el, State.PAUSED)
                    el._start_threads()
            if state == State.PLAYING:
                for el in self._ordered(downstream_first=True):
                    self._set_element_state(el, State.PLAYING)
                if self.start_time is None:
                    self.start_time = time.monotonic()
                self._playing.set()
            elif state == State.PAUSED:
                self._playing.clear()
                for el in self.elements:
                    if el.state > State.PAUSED:
                        self._set_element_state(el, State.PAUSED)
            if state <= State.READY and old > State.READY:
                self._shutdown(state)
        except (VistreamError, OSError) as e:
            err = e if isinstance(e, ElementError) else ElementError(str(e), getattr(e, "element", None) or self.name)
            src = self.get_by_name(err.element) if err.element else None
            self.bus.post(Message(MessageType.ERROR, src or self, {"error": err, "debug": ""}))
            self._shutdown(State.NULL)
            self.state = State.NULL
            return StateChangeReturn.FAILURE
        self._post_state(self, old, state)
        self.state = state
        return StateChangeReturn.SUCCESS

    def change_state(self, state: State = State.PLAYING) -> StateChangeReturn:
        """:meth:`set_state`, raising :class:`PipelineError` (naming the element and its error from the bus)
        when the change fails, instead of returning ``FAILURE``."""
        ret = self.set_state(state)
        if ret == StateChangeReturn.FAILURE:
            msg = self.bus.timed_pop_filtered(0, MessageType.ERROR)
            if msg is not None:
                err, dbg = msg.parse_error()
                raise PipelineError(err, msg.src_name, dbg)
            raise PipelineError(VistreamError("state change failed"), self.name)
        return ret

    def get_state(self, timeout: float | None = None) -> tuple[StateChangeReturn, State, State]:
        return StateChangeReturn.SUCCESS, self.state, State.VOID_PENDING

    def _set_element_state(self, el: Element, new: State) -> None:
        old = el.state
        el.state = new
        self._post_state(el, old, new)

    def _post_state(self, el: Element, old: State, new: State) -> None:
        self.bus.post(Message(MessageType.STATE_CHANGED, el, {"old": old, "new": new, "pending": State.VOID_PENDING}))

    def _shutdown(self, target: State) -> None:
        self._playing.clear()
        for el in self.elements:
            el._deactivate()
        deadline = time.monotonic() + 5.0
        for el in self.elements:
            el._join(max(0.05, deadline - time.monotonic()))
        for el in self._ordered(downstream_first=False):
            try:
                el.stop()
            except Exception as e:  # keep releasing the others
                el.post_error(f"failed to stop: {e}")
            self._set_element_state(el, target)
        if self.end_time is None and self.start_time is not None:
            self.end_time = time.monotonic()

    def _check_links(self) -> None:
        if not self.elements:
            raise LinkError(f'pipeline "{self.name}" is empty')
        for el in self.elements:
            for pad in el.pads.values():
                if pad.peer is None and pad.template is not None and pad.template.presence is not PadPresence.SOMETIMES:
                    if pad.direction is PadDirection.SRC and el.FACTORY in ("tee",):
                        continue
                    raise LinkError(f'pad "{pad.full_name}" of element "{el.name}" ({el.factory_name}) is not linked')
                if pad.peer is not None and pad.peer.parent.parent is not self:
                    raise LinkError(f'pad "{pad.full_name}" is linked to "{pad.peer.full_name}", which is not in the pipeline')

    def _ordered(self, downstream_first: bool) -> list[Element]:
        """Elements in topological order (sources first), reversed when ``downstream_first``."""
        indeg = {id(e): 0 for e in self.elements}
        for e in self.elements:
            for p in e.src_pads:
                if p.peer is not None and id(p.peer.parent) in indeg:
                    indeg[id(p.peer.parent)] += 1
        order, ready = [], [e for e in self.elements if indeg[id(e)] == 0]
        while ready:
            e = ready.pop(0)
            order.append(e)
            for p in e.src_pads:
                if p.peer is not None and id(p.peer.parent) in indeg:
                    indeg[id(p.peer.parent)] -= 1
                    if indeg[id(p.peer.parent)] == 0:
                        ready.append(p.peer.parent)
        order += [e for e in self.elements if e not in order]  # cycles: keep the rest as added
        return order[::-1] if downstream_first else order

    # --- EOS --------------------------------------------------------------------------------------------
    def _sink_got_eos(self, sink: Element) -> None:
        with self._lock:
            self._eos_sinks.add(sink.name)
            done = all(s.name in self._eos_sinks for s in self.sinks)
            if done and not self._eos_posted:
                self._eos_posted = True
                self.end_time = time.monotonic()
        if done and self._eos_posted and self.end_time is not None:
            self.bus.post(Message(MessageType.EOS, self, {}))

    def send_event(self, event: Event) -> bool:
        """Send an event into the pipeline; EOS makes every source finish (files get finalised)."""
        if event.type is EventType.EOS:
            for src in self.sources:
                src.send_eos()
            return True
        return False

    # --- running ----------------------------------------------------------------------------------------
    def run(self, timeout: float | None = None, raise_on_error: bool = True,
            stop_on_error: bool = False) -> list[Message]:
        """Play until EOS, then go to NULL. Returns the WARNING messages.

        An ERROR ends only the stream it hit (other sources run to EOS; ``stop_on_error=True`` stops the whole
        pipeline at the first one instead); once the pipeline is done, the first ERROR is raised as
        :class:`PipelineError` naming its element. ``timeout`` (seconds) raises ``TimeoutError``.
        """
        errors: list[Message] = []
        warnings: list[Message] = []
        deadline = None if timeout is None else time.monotonic() + timeout
        self.change_state(State.PLAYING)
        try:
            while True:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"pipeline did not reach EOS within {timeout} s")
                msg = self.bus.timed_pop_filtered(min(0.2, remaining) if remaining else 0.2,
                                                  MessageType.EOS | MessageType.ERROR | MessageType.WARNING)
                if msg is None:
                    if not self._any_thread_alive() and not self._eos_posted:
                        break  # every streaming thread ended without reaching the sinks
                    continue
                if msg.type == MessageType.EOS:
                    break
                if msg.type == MessageType.ERROR:
                    errors.append(msg)
                    if stop_on_error:
                        break
                else:
                    warnings.append(msg)
        finally:
            self.set_state(State.NULL)
        while (m := self.bus.pop()) is not None:
            if m.type == MessageType.ERROR:
                errors.append(m)
        if errors and raise_on_error:
            err, dbg = errors[0].parse_error()
            raise PipelineError(err, errors[0].src_name, dbg, errors[1:])
        return warnings

    def buffers(self, sink: str | None = None, timeout: float | None = None) -> Iterator[Any]:
        """Play and yield every buffer reaching an ``appsink`` (the one named ``sink``, or the only one),
        until EOS; then go to NULL. An ERROR raises :class:`PipelineError` (after EOS, as :meth:`run`)::

            with parse_launch("... ! nvinfer config-file-path=pgie.txt ! appsink name=out") as p:
                for buffer in p.buffers():
                    for frame_meta in buffer.batch_meta.frame_meta_list: ...
        """
        sinks = [e for e in self.elements if e.FACTORY == "appsink" and (sink is None or e.name == sink)]
        if len(sinks) != 1:
            raise VistreamError(f'pipeline "{self.name}" needs exactly one appsink'
                                + (f' named "{sink}"' if sink else "") + f" to iterate (found {len(sinks)})")
        appsink = sinks[0]
        errors: list[Message] = []
        self.bus.add_watch(lambda bus, msg: errors.append(msg) if msg.type == MessageType.ERROR else None)
        self.change_state(State.PLAYING)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"no EOS within {timeout} s")
                sample = appsink.pull_sample(timeout=0.2 if remaining is None else min(0.2, remaining))
                if sample is not None:
                    yield sample.get_buffer()
                elif appsink.sinkpad.eos or not self._any_thread_alive():
                    break
        finally:
            self.set_state(State.NULL)
        if errors:
            err, dbg = errors[0].parse_error()
            raise PipelineError(err, errors[0].src_name, dbg, errors[1:])

    def _any_thread_alive(self) -> bool:
        return any(e._thread is not None and e._thread.is_alive() for e in self.elements)

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.set_state(State.NULL)

    @classmethod
    def from_launch(cls, description: str) -> Pipeline:
        from vistream.core.launch import parse_launch

        return parse_launch(description)

    # --- verbose ----------------------------------------------------------------------------------------
    def _notify_caps(self, pad: Pad, caps: Caps) -> None:
        if self.verbose:
            print(f"/GstPipeline:{self.name}/{type(pad.parent).__name__}:{pad.parent.name}.GstPad:{pad.name}: caps = {caps}",
                  flush=True)
