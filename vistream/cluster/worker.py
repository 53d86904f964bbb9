"""``PipelineWorker``: one vistream pipeline (a deepstream-app config) running the sources assigned to it.

On a cluster each worker is a Ray actor (see :mod:`vistream.cluster.manager`); the class itself has no Ray
dependency and can be driven in process. Every frame that leaves the analysis chain (after the muxer, GIEs,
tracker, analytics, before tiler/OSD/sinks) is recorded as a small JSON message in the worker's durable outbox
(``<spool_dir>/<worker_id>.db``, SQLite WAL, :class:`vistream.cluster.outbox.Outbox`): source key, frame number,
objects. The manager drains the spools; after a worker dies its spool is drained once more, so nothing the
worker recorded is lost, and its sources restart elsewhere at the frame after the last recorded one.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vistream.app.config import AppConfig, load_app_config


@dataclass
class Assignment:
    """A source given to a worker: ``start_frame`` frames of it were already processed elsewhere."""

    key: str
    uri: str
    start_frame: int = 0


@dataclass
class _SourceState:
    assignment: Assignment
    pad_index: int
    received: int = 0  # frames that entered the muxer in this run (after the skipped ones)
    recorded: int = 0  # frames recorded in this run
    next_frame: int = 0
    done: bool = False
    stalls: int = 0
    last_restart_frame: int = -1
    t0: float = field(default_factory=time.monotonic)


def chain_end(pipeline) -> Any:
    """The element whose src pad carries the fully analysed batches of a deepstream-app pipeline."""
    names = [el.name for el in pipeline.iterate_elements()]
    sgies = sorted((n for n in names if n.startswith("secondary_gie_")), key=lambda n: int(n.rsplit("_", 1)[1]))
    for name in ("dsexample", "dsanalytics", *reversed(sgies), "tracking_tracker", "primary_gie", "src_bin_muxer"):
        el = pipeline.get_by_name(name)
        if el is not None:
            return el
    raise RuntimeError("no nvstreammux in the app pipeline")


class PipelineWorker:
    """Runs one pipeline of the app config ``app_config`` over the sources given by :meth:`assign`.

    ``PipelineWorker(worker_id, app_config, spool_dir, *, max_fps=0.0)``: ``app_config`` is a deepstream-app
    config path (its ``[sourceN]`` groups are replaced by the assigned URIs; muxer, GIEs, tracker, analytics,
    OSD and sinks are kept; file sinks get ``_<worker_id>`` before the extension); ``max_fps`` > 0 paces each
    source (tests, or files standing in for cameras). ``assign({key: (uri, start_frame)})`` sets the sources
    (the pipeline is rebuilt when the set changes; sources already in it keep their progress);
    ``status()`` reports progress; ``stop()`` ends the pipeline.

    >>> w = PipelineWorker("w0", "app.txt", "spool/")  # doctest: +SKIP
    >>> w.assign({"cam1": ("file:///videos/a.mp4", 0)}); w.status()["sources"]["cam1"]["done"]  # doctest: +SKIP
    """

    def __init__(self, worker_id: str, app_config: str, spool_dir: str, *, max_fps: float = 0.0) -> None:
        from vistream.cluster.outbox import Outbox

        self.worker_id = worker_id
        self.app_config_path = str(app_config)
        self.config: AppConfig = load_app_config(app_config)
        self.max_fps = float(max_fps)
        Path(spool_dir).mkdir(parents=True, exist_ok=True)
        self.spool_path = str(Path(spool_dir) / f"{worker_id}.db")
        self.spool = Outbox(self.spool_path)
        self._lock = threading.RLock()
        self._sources: dict[str, _SourceState] = {}
        self._by_pad: dict[int, _SourceState] = {}
        self._app = None
        self._watch: threading.Thread | None = None
        self._generation = 0
        self.frames_total = 0
        self.error: str | None = None
        self.started = time.time()

    # ---- public API -------------------------------------------------------------------------------------

    def info(self) -> dict:
        """Where this worker runs: ``worker_id``, ``pid``, ``host`` and the Ray ``node_id`` (if on Ray)."""
        node = ""
        try:
            import ray

            if ray.is_initialized():
                node = ray.get_runtime_context().get_node_id()
        except ImportError:
            pass
        return {"worker_id": self.worker_id, "pid": os.getpid(), "host": socket.gethostname(), "node_id": node,
                "spool": self.spool_path}

    def assign(self, sources: dict[str, tuple[str, int]]) -> None:
        """Make ``sources`` (key -> (uri, start_frame)) this worker's sources; rebuilds the pipeline if changed."""
        with self._lock:
            wanted = {k: Assignment(k, uri, int(start)) for k, (uri, start) in sources.items()}
            current = {k: s for k, s in self._sources.items() if not s.done}
            if set(wanted) == set(current) and self._app is not None:
                return
            self._stop_pipeline()
            states = {}
            for i, (k, a) in enumerate(wanted.items()):
                old = self._sources.get(k)
                if old is not None:  # keep what this worker already did for the source
                    if old.done:
                        continue
                    a = Assignment(k, a.uri, max(a.start_frame, old.next_frame))
                states[k] = _SourceState(a, i, next_frame=a.start_frame)
            done = {k: s for k, s in self._sources.items() if s.done and k in wanted}
            self._sources = {**done, **states}
            self._by_pad = {s.pad_index: s for s in states.values()}
            if states:
                self._start_pipeline(list(states.values()))

    def status(self) -> dict:
        """Progress: per source ``next_frame`` (frames done so far, counting earlier owners), ``done``, ``fps``."""
        with self._lock:
            now = time.monotonic()
            return {**self.info(), "frames": self.frames_total, "error": self.error,
                    "running": self._app is not None,
                    "sources": {k: {"uri": s.assignment.uri, "next_frame": s.next_frame, "done": s.done,
                                    "fps": round(s.recorded / max(now - s.t0, 1e-6), 2)}
                                for k, s in self._sources.items()}}

    def stop(self) -> None:
        """Stop the pipeline and close the spool."""
        with self._lock:
            self._stop_pipeline()
            self.spool.close()

    # ---- pipeline -----------------------------------------------------------------------------------------

    def _app_config(self, states: list[_SourceState]) -> AppConfig:
        from vistream.app.workers import app_config_for_sources

        return app_config_for_sources(self.config, [st.assignment.uri for st in states], tag=self.worker_id)

    def _start_pipeline(self, states: list[_SourceState]) -> None:
        from vistream.app.runner import build_app
        from vistream.core.element import State
        from vistream.core.pad import PadProbeType
        from vistream.core.pipeline import PipelineError

        app = build_app(self._app_config(states))
        mux = app.pipeline.get_by_name("src_bin_muxer")
        for st in states:
            pad = mux.get_static_pad(f"sink_{st.pad_index}")
            pad.add_probe(PadProbeType.BUFFER, self._on_input, st)
        end = chain_end(app.pipeline).get_static_pad("src")
        end.add_probe(PadProbeType.BUFFER | PadProbeType.EVENT_DOWNSTREAM, self._on_output, self._generation)
        self._app = app
        try:
            app.pipeline.change_state(State.PLAYING)
        except PipelineError as e:
            self._app = None
            self.error = f"pipeline failed to start: {e.element}: {e.error}"
            raise RuntimeError(f"{self.worker_id}: {self.error}") from None
        self._watch = threading.Thread(target=self._watch_bus, args=(app, self._generation), daemon=True,
                                       name=f"vistream-cluster-{self.worker_id}")
        self._watch.start()

    def _stop_pipeline(self) -> None:
        from vistream.core.element import State

        app, self._app = self._app, None
        self._generation += 1
        if app is not None:
            app.pipeline.set_state(State.NULL)

    def _watch_bus(self, app, generation: int) -> None:
        from vistream.core.bus import MessageType

        while True:
            msg = app.pipeline.bus.timed_pop_filtered(0.2, MessageType.EOS | MessageType.ERROR)
            with self._lock:
                if generation != self._generation:
                    return
                if msg is None:
                    continue
                if msg.type == MessageType.ERROR:
                    err, _ = msg.parse_error()
                    self.error = f"{msg.src_name}: {err}"
                    continue  # an error ends one stream; the others run to EOS
                if msg.type != MessageType.EOS:
                    continue
                self._stop_pipeline()
                # A source is done when its own stream-eos passed the chain end. One that did not (the pipeline
                # ended early) runs again from its next frame; three runs without progress end it.
                rest = []
                for st in self._by_pad.values():
                    if st.done:
                        continue
                    st.stalls = st.stalls + 1 if st.next_frame == st.last_restart_frame else 0
                    if st.stalls >= 3:
                        st.done = True
                        self.error = f"source {st.assignment.key} ended without its stream EOS"
                    else:
                        rest.append(st)
                if rest:
                    self._restart(rest)
                return

    def _restart(self, states: list[_SourceState]) -> None:
        fresh = []
        for i, st in enumerate(states):
            ns = _SourceState(Assignment(st.assignment.key, st.assignment.uri, st.next_frame), i,
                              next_frame=st.next_frame, stalls=st.stalls, last_restart_frame=st.next_frame)
            self._sources[ns.assignment.key] = ns
            fresh.append(ns)
        self._by_pad = {s.pad_index: s for s in fresh}
        self._start_pipeline(fresh)

    # ---- probes -------------------------------------------------------------------------------------------

    def _on_input(self, pad, info, st: _SourceState):
        from vistream.core.pad import PadProbeReturn

        st.received += 1
        if st.received <= st.assignment.start_frame:
            return PadProbeReturn.DROP  # processed by an earlier owner
        if self.max_fps > 0:  # back-pressure: the source thread waits, as a live camera would
            due = st.t0 + (st.received - st.assignment.start_frame - 1) / self.max_fps
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return PadProbeReturn.OK

    def _on_output(self, pad, info, generation: int):
        from vistream.core.buffer import EventType
        from vistream.core.pad import PadProbeReturn

        event = info.get_event()
        if event is not None:
            if event.type is EventType.STREAM_EOS:
                with self._lock:
                    st = self._by_pad.get(event.data.get("source_id"))
                    if st is not None and generation == self._generation:
                        st.done = True
            return PadProbeReturn.OK
        buf = info.get_buffer()
        if buf is None or buf.batch_meta is None:
            return PadProbeReturn.OK
        with self._lock:
            if generation != self._generation:
                return PadProbeReturn.OK
            rows = []
            for fm in buf.batch_meta.frame_meta_list:
                st = self._by_pad.get(fm.pad_index)
                if st is None:
                    continue
                # counted here, not from frame_num: a source's frames leave the muxer in order
                frame = st.assignment.start_frame + st.recorded
                objs = [[o.class_id, o.obj_label, round(o.confidence, 3), o.object_id,
                         [round(o.rect_params.left, 1), round(o.rect_params.top, 1),
                          round(o.rect_params.width, 1), round(o.rect_params.height, 1)]]
                        for o in fm.obj_meta_list]
                payload = json.dumps({"source": st.assignment.key, "frame": frame, "worker": self.worker_id,
                                      "objects": objs}, separators=(",", ":")).encode()
                rows.append((st.assignment.key, frame, payload))
                st.recorded += 1
                st.next_frame = max(st.next_frame, frame + 1)
                self.frames_total += 1
            if rows:
                self.spool.put_many(rows)  # one commit per batch
        return PadProbeReturn.OK
