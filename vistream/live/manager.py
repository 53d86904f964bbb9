"""``PipelineManager``: a running analytics pipeline whose sources are added and removed at run time, with
per-stream statistics, recent events, a live annotated view (JPEG) and smart record control.

The pipeline it builds::

    nvurisrcbin (one per stream) -> nvstreammux (live-source, batched-push-timeout, drop-pipeline-eos)
      -> [nvinfer] -> [nvtracker] -> [nvdsanalytics] -> tee -> fakesink
                                                           -> queue (leaky) -> nvmultistreamtiler -> nvdsosd
                                                                 -> tee -> appsink (JPEG view)
                                                                        -> queue (leaky) -> nvrtspoutsinkbin

Example::

    opts = ManagerOptions(uris=["rtsp://cam1/stream"], infer_config="config_infer_primary_yoloX.txt")
    with PipelineManager(opts) as mgr:          # starts the pipeline
        sid = mgr.add_source("file:///videos/clip.mp4")
        print(mgr.stats())                       # per-stream frames, fps, latency, drops, reconnects
        mgr.set_interval(2)                      # infer every third frame
        mgr.remove_source(sid)

``PipelineManager.from_pipeline(pipeline)`` wraps a pipeline built elsewhere (e.g. the deepstream-app runner):
statistics, events and smart record work on it; ``add_source`` works when it has an ``nvstreammux``.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import cv2
import numpy as np

from vistream.analytics.meta import get_analytics_frame_meta
from vistream.core.bus import MessageType
from vistream.core.element import Element, State, make_element
from vistream.core.errors import VistreamError
from vistream.core.pad import PadProbeReturn, PadProbeType
from vistream.core.pipeline import Pipeline, PipelineError
from vistream.elements.media import uri_to_location
from vistream.elements.video import buffer_format, convert_color
from vistream.meta import get_batch_meta

URI_SCHEMES = ("file", "rtsp", "rtsps", "http", "https")
FPS_WINDOW = 5.0  # seconds of frame times behind each FPS figure


class ManagerError(VistreamError):
    """A request the manager cannot serve; ``status`` is the HTTP status a REST API should answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def validate_uri(uri: str) -> str:
    """A URI vistream can open (file, rtsp(s), http(s) incl. HLS); a plain path becomes a ``file://`` URI.
    Raises :class:`ManagerError` naming the problem."""
    if not isinstance(uri, str) or not uri.strip():
        raise ManagerError("uri is empty")
    uri = uri.strip()
    if any(c in uri for c in "\n\r\t\0 "):
        raise ManagerError(f'uri "{uri!r}" contains whitespace or control characters')
    try:
        if "://" not in uri:
            uri = Path(uri).resolve().as_uri()
        parsed = urlparse(uri)
        if parsed.scheme not in URI_SCHEMES:
            raise ManagerError(f'unsupported uri scheme "{parsed.scheme}" (use one of: {", ".join(URI_SCHEMES)})')
        if parsed.scheme == "file":
            path = Path(uri_to_location(uri)[0])  # as nvurisrcbin will read it
            if not path.is_file():
                raise ManagerError(f'no such file: "{path}"', 404)
            return uri
        host = parsed.hostname
    except (OSError, ValueError) as e:  # names too long for the file system, bad ports, ...
        raise ManagerError(f'unusable uri "{uri[:200]}": {e}') from None
    if not host:
        raise ManagerError(f'uri "{uri}" has no host')
    return uri


@dataclass
class ManagerOptions:
    """What :class:`PipelineManager` builds. Sizes in pixels, ``batched_push_timeout`` in µs."""

    uris: list[str] = field(default_factory=list)
    max_streams: int = 4  # nvstreammux batch-size, and the tiler's grid
    width: int = 1280
    height: int = 720
    live_source: bool = True
    batched_push_timeout: int = 40000
    file_loop: bool = True
    realtime_files: bool = True  # play files at their frame rate, as cameras would
    infer_config: str | None = None
    interval: int = 0
    tracker_config: str | None = None
    analytics_config: str | None = None
    view: bool = True  # tiled, annotated view for the dashboard (JPEG)
    view_width: int = 1280
    view_height: int = 720
    view_fps: float = 10.0
    jpeg_quality: int = 80
    rtsp_port: int | None = None  # also serve the annotated view at rtsp://host:port/ds-test
    rtsp_host: str = "0.0.0.0"
    rtsp_reconnect_interval: int = 5
    rtsp_reconnect_attempts: int = -1
    select_rtp_protocol: int = 4  # TCP
    smart_record: bool = False
    smart_rec_dir_path: str = "recordings"
    smart_rec_file_prefix: str = "Smart_Record"
    smart_rec_cache: int = 20
    smart_rec_default_duration: int = 10
    events: int = 200  # recent events kept
    record_on: tuple[str, ...] = ()  # event types that start a smart recording of their stream, e.g. ("line-crossing",)
    record_on_before: float = 2.0  # seconds before the event (from the cache)
    record_on_duration: float = 0.0  # seconds after it (0: smart_rec_default_duration)


@dataclass
class StreamInfo:
    source_id: int
    uri: str
    name: str
    element: Element | None
    added: float = field(default_factory=time.monotonic)
    state: str = "starting"
    frames: int = 0
    last_frame_num: int = -1
    times: deque = field(default_factory=lambda: deque(maxlen=600))
    latency_ms: float = 0.0
    error: str = ""
    reconnects: int = 0
    recordings: list[dict] = field(default_factory=list)


class PipelineManager:
    """Owns a pipeline and its streams; every public method is thread-safe (REST handlers call them)."""

    def __init__(self, options: ManagerOptions | None = None, pipeline: Pipeline | None = None):
        self.options = options or ManagerOptions()
        self._lock = threading.RLock()
        self.streams: dict[int, StreamInfo] = {}
        self.events: deque[dict] = deque(maxlen=self.options.events)
        self._event_seq = 0
        self._jpeg: bytes | None = None
        self._jpeg_seq = 0
        self._jpeg_cond = threading.Condition()
        self._last_view = 0.0
        self.view_wanted_until = 0.0
        self.started = False
        self.errors: deque[str] = deque(maxlen=50)
        self._lc_total: dict[tuple[int, str], int] = {}
        if pipeline is None:
            self.pipeline = self._build()
            for uri in self.options.uris:
                self.add_source(uri)
        else:
            self.pipeline = pipeline
            self._adopt(pipeline)

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline, options: ManagerOptions | None = None) -> PipelineManager:
        """Manage a pipeline built elsewhere (e.g. by the deepstream-app runner)."""
        return cls(options or ManagerOptions(), pipeline)

    # --- building -----------------------------------------------------------------------------------------
    def _build(self) -> Pipeline:
        o = self.options
        if o.max_streams < 1:
            raise ManagerError("max_streams must be at least 1")
        p = Pipeline("vistream-serve")
        self.mux = make_element("nvstreammux", "mux", batch_size=o.max_streams, width=o.width, height=o.height,
                                live_source=o.live_source, batched_push_timeout=o.batched_push_timeout,
                                drop_pipeline_eos=True)
        chain: list[Element] = [self.mux]
        self.infer = None
        if o.infer_config:
            self.infer = make_element("nvinfer", "primary-infer", config_file_path=o.infer_config,
                                      interval=o.interval, batch_size=o.max_streams)
            chain.append(self.infer)
        if o.tracker_config:
            chain.append(make_element("nvtracker", "tracker", ll_config_file=o.tracker_config))
        if o.analytics_config:
            chain.append(make_element("nvdsanalytics", "analytics", config_file=o.analytics_config))
        tee = make_element("tee", "tee", allow_not_linked=True)
        chain.append(tee)
        sink = make_element("fakesink", "sink", sync=False)
        p.add(*chain, sink)
        for a, b in zip(chain, chain[1:], strict=False):
            a.link(b)
        tee.link(sink)
        if o.view or o.rtsp_port:
            cols = int(math.ceil(math.sqrt(o.max_streams)))
            rows = int(math.ceil(o.max_streams / cols))
            q = make_element("queue", "view-queue", max_size_buffers=2, leaky=2)
            tiler = make_element("nvmultistreamtiler", "tiler", rows=rows, columns=cols, width=o.view_width,
                                 height=o.view_height)
            osd = make_element("nvdsosd", "osd")
            vtee = make_element("tee", "view-tee", allow_not_linked=True)
            p.add(q, tiler, osd, vtee)
            tee.link(q)
            q.link(tiler)
            tiler.link(osd)
            osd.link(vtee)
            if o.view:
                app = make_element("appsink", "view-sink", emit_signals=True, max_buffers=1, drop=True)
                app.connect("new-sample", self._on_view_sample)
                p.add(app)
                vtee.link(app)
            if o.rtsp_port:
                import vistream.elements.rtsp  # noqa: F401  (registers nvrtspoutsinkbin)

                rq = make_element("queue", "rtsp-queue", max_size_buffers=4, leaky=2)
                rtsp = make_element("nvrtspoutsinkbin", "rtsp-out", rtsp_port=o.rtsp_port, rtsp_host=o.rtsp_host,
                                    bitrate=2_000_000)
                p.add(rq, rtsp)
                vtee.link(rq)
                rq.link(rtsp)
        tee.get_static_pad("sink").add_probe(PadProbeType.BUFFER, self._on_batch)
        p.get_bus().add_watch(self._on_message)
        return p

    def _adopt(self, p: Pipeline) -> None:
        muxes = [e for e in p.elements if e.FACTORY == "nvstreammux"]
        self.mux = muxes[0] if muxes else None
        infers = [e for e in p.elements if e.FACTORY == "nvinfer"]
        self.infer = infers[0] if infers else None
        for el in p.elements:
            if el.find_property("uri") is not None and el.is_source:
                sid = el.get_property("source-id") if el.find_property("source-id") else len(self.streams)
                self.streams[sid] = StreamInfo(sid, el.get_property("uri") or "", el.name, el)
        if self.mux is not None:
            self.mux.srcpad.add_probe(PadProbeType.BUFFER, self._on_batch)
            self.options.max_streams = max(self.options.max_streams, self.mux.get_property("batch-size"))
        osds = [e for e in p.elements if e.FACTORY == "nvdsosd"]
        if self.options.view and osds:  # the annotated view is what the (last) OSD draws
            osds[-1].srcpad.add_probe(PadProbeType.BUFFER, self._view_probe)
        p.get_bus().add_watch(self._on_message)

    # --- life cycle ---------------------------------------------------------------------------------------
    def start(self) -> PipelineManager:
        try:
            self.pipeline.change_state(State.PLAYING)
        except PipelineError as e:
            raise ManagerError(f"pipeline failed to start: {e.error}", 500) from None
        self.started = True
        return self

    def stop(self) -> None:
        self.pipeline.set_state(State.NULL)
        self.started = False

    def __enter__(self) -> PipelineManager:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- sources ------------------------------------------------------------------------------------------
    def _free_id(self) -> int:
        for i in range(self.options.max_streams):
            if i not in self.streams:
                return i
        raise ManagerError(f"all {self.options.max_streams} stream slots are in use (max_streams)", 409)

    def add_source(self, uri: str, source_id: int | None = None, name: str | None = None) -> int:
        """Add a stream (at run time too); returns its source id (the muxer pad index, as DeepStream's)."""
        uri = validate_uri(uri)
        if self.mux is None:
            raise ManagerError("this pipeline has no nvstreammux: sources cannot be added", 409)
        with self._lock:
            if source_id is None:
                source_id = self._free_id()
            elif not 0 <= source_id < self.options.max_streams:
                raise ManagerError(f"source id {source_id} is out of range 0..{self.options.max_streams - 1}")
            elif source_id in self.streams:
                raise ManagerError(f"source id {source_id} is already in use", 409)
            o = self.options
            props: dict[str, Any] = dict(uri=uri, source_id=source_id)
            local = uri.startswith("file:")
            if local:
                props["file_loop"] = o.file_loop
            else:
                props.update(rtsp_reconnect_interval=o.rtsp_reconnect_interval,
                             rtsp_reconnect_attempts=o.rtsp_reconnect_attempts)
                if uri.startswith("rtsp"):
                    props["select_rtp_protocol"] = o.select_rtp_protocol
            if o.smart_record:
                import vistream.elements.smartrecord  # noqa: F401  (smart-record nvurisrcbin)

                props.update(smart_record=2, smart_rec_dir_path=o.smart_rec_dir_path,
                             smart_rec_file_prefix=o.smart_rec_file_prefix, smart_rec_cache=o.smart_rec_cache,
                             smart_rec_default_duration=o.smart_rec_default_duration)
            src = make_element("nvurisrcbin", f"source-{source_id}-{int(time.monotonic() * 1000) % 100000}", **props)
            if o.smart_record:
                src.connect("sr-done", self._on_sr_done)
            pad = self.mux.request_pad(f"sink_{source_id}")
            src.connect("pad-added", lambda _el, spad, target=pad: spad.link(target) if target.peer is None else None)
            if local and o.realtime_files:
                src.connect("pad-added", lambda _el, spad: spad.add_probe(PadProbeType.BUFFER, _Pacer()))
            info = StreamInfo(source_id, uri, name or f"stream-{source_id}", src)
            self.streams[source_id] = info
            try:
                self.pipeline.add(src)
            except VistreamError as e:
                del self.streams[source_id]
                self.mux.release_request_pad(pad)
                raise ManagerError(f"cannot add {uri}: {e}", 500) from None
        self._event("stream-added", source_id, uri=uri)
        return source_id

    def remove_source(self, source_id: int) -> None:
        """Stop a stream and release its muxer pad; the other streams go on."""
        with self._lock:
            info = self.streams.get(source_id)
            if info is None:
                raise ManagerError(f"no stream with source id {source_id}", 404)
            el = info.element
            if el is not None:
                self.pipeline.remove(el)  # stops its thread; stop() also finishes its recordings
            if self.mux is not None:
                pad = self.mux.get_static_pad(f"sink_{source_id}")
                if pad is not None:
                    self.mux.release_request_pad(pad)
            del self.streams[source_id]
        self._event("stream-removed", source_id, uri=info.uri)

    # --- control ------------------------------------------------------------------------------------------
    def set_interval(self, interval: int) -> None:
        """nvinfer's ``interval`` (frames skipped between inferences), at run time."""
        if self.infer is None:
            raise ManagerError("this pipeline has no nvinfer", 409)
        if not isinstance(interval, int) or interval < 0:
            raise ManagerError(f"interval must be an integer >= 0, got {interval!r}")
        self.infer.set_property("interval", interval)
        engine = getattr(self.infer, "engine", None)
        if engine is not None and hasattr(engine, "set_interval"):
            engine.set_interval(interval)
        elif engine is not None and hasattr(engine, "config"):
            try:
                engine.config.interval = interval
            except AttributeError:
                pass
        self._event("interval-changed", None, interval=interval)

    def get_interval(self) -> int | None:
        return None if self.infer is None else self.infer.get_property("interval")

    def start_recording(self, source_id: int, start_time: float = 0, duration: float = 0) -> int:
        """Smart record ``start_time`` s before now and ``duration`` s after (0: the default duration)."""
        el = self._stream(source_id).element
        if el is None or getattr(el, "recorder", None) is None:
            raise ManagerError(f"smart record is not enabled on stream {source_id}", 409)
        try:
            sid = el.start_sr(start_time, duration)
        except VistreamError as e:
            raise ManagerError(str(e), 409) from None
        self._event("recording-started", source_id, session_id=sid, start_time=start_time, duration=duration)
        return sid

    def stop_recording(self, source_id: int, session_id: int | None = None) -> list[dict]:
        el = self._stream(source_id).element
        if el is None or getattr(el, "recorder", None) is None:
            raise ManagerError(f"smart record is not enabled on stream {source_id}", 409)
        try:
            return [i.as_dict() for i in el.stop_sr(session_id)]
        except VistreamError as e:
            raise ManagerError(str(e), 404) from None

    def handle_command(self, message: dict) -> int | list[dict] | None:
        """A DeepStream cloud-to-device smart record command (as received by a message consumer)::

            {"command": "start-recording", "start": "2024-05-18T20:02:00.051Z", "end": "...",
             "sensor": {"id": "<source id or stream name>"}}

        ``start`` before now records from the cache; ``end`` (optional) sets the duration."""
        import datetime as dt

        cmd = message.get("command")
        sensor = (message.get("sensor") or {}).get("id")
        sid = self._resolve_sensor(sensor)
        if cmd == "start-recording":
            now = dt.datetime.now(dt.timezone.utc)
            start = _parse_time(message.get("start")) or now
            end = _parse_time(message.get("end"))
            before = max(0.0, (now - start).total_seconds())
            duration = max(0.0, (end - max(start, now)).total_seconds()) if end else 0.0
            return self.start_recording(sid, before, duration)
        if cmd == "stop-recording":
            return self.stop_recording(sid)
        raise ManagerError(f'unknown command "{cmd}" (expected start-recording or stop-recording)')

    def on_command(self, cmd: Any) -> Any:
        """Callback for :class:`vistream.msg.consumer.MsgConsumer`: runs ``start-recording``,
        ``stop-recording``, ``add-source`` and ``remove-source`` commands from a broker. A command that cannot
        be run becomes a ``command-failed`` event (the consumer keeps going)::

            MsgConsumer("mqtt", "localhost;1883", "ds-commands", callback=manager.on_command)
        """
        sensor = cmd.source_id if cmd.source_id is not None else cmd.sensor_id
        try:
            if cmd.command in ("start-recording", "stop-recording"):
                result = self.handle_command({"command": cmd.command, "start": cmd.start, "end": cmd.end,
                                              "sensor": {"id": sensor}})
            elif cmd.command == "add-source":
                result = self.add_source(cmd.uri or "", cmd.source_id, cmd.sensor_id)
            elif cmd.command == "remove-source":
                self.remove_source(self._resolve_sensor(sensor))
                result = None
            else:
                raise ManagerError(f'unknown command "{cmd.command}"')
        except ManagerError as e:
            self._event("command-failed", None, command=cmd.command, message=str(e))
            return None
        self._event("command", None, command=cmd.command, sensor=sensor)
        return result

    def _resolve_sensor(self, sensor: Any) -> int:
        with self._lock:
            for info in self.streams.values():
                if sensor in (info.name, str(info.source_id), info.source_id):
                    return info.source_id
        raise ManagerError(f'no stream "{sensor}"', 404)

    def _stream(self, source_id: int) -> StreamInfo:
        info = self.streams.get(source_id)
        if info is None:
            raise ManagerError(f"no stream with source id {source_id}", 404)
        return info

    # --- observation ----------------------------------------------------------------------------------------
    def _on_batch(self, pad, probe_info, _=None):
        bm = get_batch_meta(probe_info.get_buffer())
        if bm is None:
            return PadProbeReturn.OK
        now = time.monotonic()
        with self._lock:
            for fm in bm.frame_meta_list:
                info = self.streams.get(fm.source_id)
                if info is None:
                    continue
                info.frames += 1
                info.last_frame_num = fm.frame_num
                info.times.append(now)
                info.state = "playing"
                ingest = getattr(fm, "ingest_time", 0.0)
                if ingest:
                    lat = (now - ingest) * 1000.0
                    info.latency_ms = lat if info.latency_ms == 0 else 0.9 * info.latency_ms + 0.1 * lat
                am = get_analytics_frame_meta(fm)
                if am is not None:
                    for label, n in am.objLCCurrCnt.items():
                        if n:
                            self._event("line-crossing", fm.source_id, line=label, count=n,
                                        total=am.objLCCumCnt.get(label, 0), frame_num=fm.frame_num)
                    for label, n in am.objInROIcnt.items():
                        key = (fm.source_id, "roi:" + label)
                        if self._lc_total.get(key) != n:
                            self._lc_total[key] = n
                            self._event("roi-count", fm.source_id, roi=label, count=n, frame_num=fm.frame_num)
        return PadProbeReturn.OK

    def _on_message(self, bus, msg) -> None:
        s = msg.structure
        if msg.type == MessageType.ELEMENT:
            name = s.get("name")
            sid = s.get("source_id")
            if name == "reconnect" and sid in self.streams:
                self.streams[sid].reconnects += 1
                self.streams[sid].state = "reconnecting"
                self._event("reconnect", sid, attempt=s.get("attempt"))
            elif name == "stream-eos" and sid in self.streams:
                self.streams[sid].state = "eos"
                self._event("stream-eos", sid)
        elif msg.type in (MessageType.ERROR, MessageType.WARNING):
            text = str(msg.parse_error()[0])
            for info in list(self.streams.values()):
                if info.element is not None and info.element.name == msg.src_name:
                    if msg.type == MessageType.ERROR:
                        info.state, info.error = "error", text
                    self._event("error" if msg.type == MessageType.ERROR else "warning", info.source_id,
                                message=text)
                    return
            if msg.type == MessageType.ERROR:
                self.errors.append(text)
                self._event("error", None, message=text)

    def _on_sr_done(self, el, info, user_ctx) -> None:
        d = info.as_dict()
        with self._lock:
            st = self.streams.get(info.source_id)
            if st is not None:
                st.recordings.append(d)
        self._event("recording-done", info.source_id, **{k: v for k, v in d.items() if k != "source_id"})

    def _event(self, kind: str, source_id: int | None, **fields: Any) -> None:
        with self._lock:
            self._event_seq += 1
            self.events.append({"id": self._event_seq, "time": time.time(), "type": kind, "source_id": source_id,
                                **fields})
            if kind in self.options.record_on and source_id is not None:
                self._record_on_event(kind, source_id)

    def _record_on_event(self, kind: str, source_id: int) -> None:
        """The analytics-event trigger of smart record: one recording at a time per stream."""
        info = self.streams.get(source_id)
        rec = getattr(info.element, "recorder", None) if info is not None else None
        if rec is None or rec.recording:
            return
        try:
            self.start_recording(source_id, self.options.record_on_before, self.options.record_on_duration)
        except ManagerError as e:
            self.errors.append(f"recording on {kind} of stream {source_id}: {e}")

    def recent_events(self, after: int = 0, limit: int = 100) -> list[dict]:
        with self._lock:
            return [e for e in self.events if e["id"] > after][-limit:]

    def _on_view_sample(self, sink) -> int:
        sample = sink.pull_sample(0)
        if sample is not None:
            self._view_buffer(sample.get_buffer())
        return 0

    def _view_probe(self, pad, info, _=None):
        self._view_buffer(info.get_buffer())
        return PadProbeReturn.OK

    def _view_buffer(self, buf) -> None:
        now = time.monotonic()
        if buf is None or now - self._last_view < 1.0 / max(self.options.view_fps, 0.1):
            return
        self._last_view = now
        frame = np.asarray(buf.data[0])
        fmt = buffer_format(buf.caps)
        bgr = frame if fmt == "BGR" else convert_color(frame, fmt, "BGR")
        ok, jpg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.options.jpeg_quality])
        if ok:
            with self._jpeg_cond:
                self._jpeg = jpg.tobytes()
                self._jpeg_seq += 1
                self._jpeg_cond.notify_all()

    def latest_jpeg(self, after_seq: int = 0, timeout: float = 2.0) -> tuple[int, bytes | None]:
        """The newest JPEG of the annotated view (waits up to ``timeout`` s for one newer than ``after_seq``)."""
        with self._jpeg_cond:
            self._jpeg_cond.wait_for(lambda: self._jpeg_seq > after_seq, timeout)
            return self._jpeg_seq, self._jpeg

    def stats(self) -> dict:
        """Per-stream and pipeline statistics (what ``/metrics`` and the dashboard show)."""
        now = time.monotonic()
        mux_stats = self.mux.source_stats() if self.mux is not None else {}
        pending = {}
        if self.mux is not None:
            with self.mux._cond:  # frames waiting in the muxer per source: its input queue fill
                pending = {st.source_id: len(st.frames) for st in self.mux._sources.values()}
        streams = []
        with self._lock:
            for sid, info in sorted(self.streams.items()):
                recent = [t for t in info.times if now - t <= FPS_WINDOW]
                span = min(FPS_WINDOW, now - info.added)
                fps = len(recent) / span if span > 0.5 else 0.0
                ms = mux_stats.get(sid, {})
                el = info.element
                reconnects = max(info.reconnects, getattr(el, "reconnects", 0) or 0)
                streams.append({
                    "source_id": sid, "name": info.name, "uri": info.uri, "state": info.state,
                    "frames": info.frames, "last_frame_num": info.last_frame_num, "fps": round(fps, 2),
                    "latency_ms": round(info.latency_ms, 1), "dropped": ms.get("dropped", 0),
                    "mux_queue": pending.get(sid, 0), "reconnects": reconnects, "error": info.error,
                    "recording": bool(getattr(getattr(el, "recorder", None), "recording", False)),
                    "recordings": list(info.recordings[-10:]),
                })
        queues = {}
        brokers = {}
        for el in self.pipeline.elements:
            if el.FACTORY == "queue":
                q = el._queue
                queues[el.name] = {"level": q.level_buffers if q is not None else 0,
                                   "max": el.get_property("max-size-buffers"), "dropped": el.dropped}
            broker = getattr(el, "broker", None)
            if broker is not None and hasattr(broker, "stats"):
                brokers[el.name] = broker.stats.as_dict()
        return {
            "pipeline": self.pipeline.name, "state": self.pipeline.state.name.lower(),
            "batches": getattr(self.mux, "batches", 0), "max_streams": self.options.max_streams,
            "interval": self.get_interval(), "streams": streams, "queues": queues, "brokers": brokers,
            "uptime_s": round(now - (self.pipeline.start_time or now), 1),
        }

    def describe(self) -> dict:
        return {"name": self.pipeline.name, "state": self.pipeline.state.name.lower(),
                "elements": [{"name": e.name, "factory": e.factory_name} for e in self.pipeline.elements],
                "streams": [{"source_id": s.source_id, "uri": s.uri, "name": s.name} for s in self.streams.values()]}


class _Pacer:
    """Pad probe that releases a file source's frames at their timestamps (a file played like a camera)."""

    def __init__(self) -> None:
        self.t0: float | None = None
        self.pts0 = 0

    def __call__(self, pad, info, _=None):
        buf = info.get_buffer()
        if buf is None or buf.pts < 0:
            return PadProbeReturn.OK
        now = time.monotonic()
        if self.t0 is None or buf.pts < self.pts0:
            self.t0, self.pts0 = now, buf.pts
        wait = self.t0 + (buf.pts - self.pts0) / 1e9 - now
        if wait > 0:
            time.sleep(min(wait, 1.0))
            if "t_decoded" in buf.extra:  # a camera would have captured it now: latency counts from here
                buf.extra["t_decoded"] = time.monotonic()
        return PadProbeReturn.OK


def _parse_time(value: Any):
    import datetime as dt

    if not value:
        return None
    try:
        t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ManagerError(f'bad time "{value}": use ISO 8601, e.g. 2024-05-18T20:02:00.051Z') from None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def env_token() -> str | None:
    return os.environ.get("VISTREAM_API_TOKEN") or None
