"""``vistream app -c config.txt``: build and run a pipeline from a deepstream-app configuration file."""

from __future__ import annotations

import argparse
import os
import select
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from vistream.app.config import (
    AppConfig,
    ContainerType,
    EncoderCodec,
    GieConfig,
    SinkConfig,
    SinkType,
    SourceConfig,
    SourceType,
    load_app_config,
)
from vistream.app.kitti import KittiWriter
from vistream.app.perf import PerfMonitor
from vistream.core.bus import MessageType
from vistream.core.element import Element, State, find_factory, make_element
from vistream.core.errors import ElementError, VistreamError
from vistream.core.pad import PadProbeReturn, PadProbeType
from vistream.core.pipeline import Pipeline, PipelineError
from vistream.meta import get_batch_meta


class AppError(VistreamError):
    """The configuration asks for something this machine cannot do; the message names file:line."""


@dataclass
class App:
    """A pipeline built from an :class:`AppConfig`, with its perf monitor and KITTI writers."""

    config: AppConfig
    pipeline: Pipeline
    num_streams: int
    perf: PerfMonitor | None = None
    kitti: list[KittiWriter] = field(default_factory=list)
    sources: list[Element] = field(default_factory=list)


def _add(pipeline: Pipeline, factory: str, name: str | None = None, **props) -> Element:
    el = make_element(factory, name, **props)
    pipeline.add(el)
    return el


def _chain(elements: list[Element]) -> None:
    for a, b in zip(elements, elements[1:], strict=False):
        a.link(b)


def _source(pipeline: Pipeline, cfg: AppConfig, src: SourceConfig, source_id: int) -> Element:
    where = src.where(cfg.path)
    if src.type == SourceType.CAMERA_CSI:
        raise AppError(f"{where}: type=5 (CSI camera) exists only on NVIDIA Jetson boards; use type=1 (V4L2) "
                       "for USB cameras or type=2/4 for files and RTSP")
    if src.type == SourceType.CAMERA_V4L2:
        if find_factory("v4l2src") is None:
            raise AppError(f"{where}: type=1 (V4L2 camera) needs the v4l2src element, which this installation lacks")
        node = getattr(src, "camera_v4l2_dev_node", 0)
        cam = _add(pipeline, "v4l2src", f"src_bin_{source_id}", device=f"/dev/video{node}")
        caps = _add(pipeline, "capsfilter", caps=f"video/x-raw,width={src.camera_width},height={src.camera_height},"
                    f"framerate={src.camera_fps_n}/{src.camera_fps_d}")
        cam.link(caps)
        return caps
    props = dict(uri=src.uri, file_loop=cfg.tests.file_loop, drop_frame_interval=src.drop_frame_interval,
                 latency=src.latency, rtsp_reconnect_interval=src.rtsp_reconnect_interval_sec,
                 rtsp_reconnect_attempts=src.rtsp_reconnect_attempts, source_id=source_id,
                 gpu_id=src.gpu_id, cudadec_memtype=src.cudadec_memtype)
    if src.select_rtp_protocol in (0, 4, 7):
        props["select_rtp_protocol"] = src.select_rtp_protocol
    return _add(pipeline, "nvurisrcbin", f"src_bin_{source_id}", **props)


def _gie(pipeline: Pipeline, cfg: AppConfig, gie: GieConfig, name: str, secondary: bool) -> Element:
    if gie.config_file is None:
        raise AppError(f"{gie.where(cfg.path)}: config-file is missing")
    if gie.plugin_type == 1 and find_factory("nvinferserver") is None:
        raise AppError(f"{gie.where(cfg.path, 'plugin-type')}: plugin-type=1 (nvinferserver) is not available here")
    factory = "nvinferserver" if gie.plugin_type == 1 else "nvinfer"
    props: dict = {"config_file_path": str(gie.config_file)}
    if gie.gie_unique_id is not None:
        props["unique_id"] = gie.gie_unique_id
    if gie.batch_size is not None:
        props["batch_size"] = gie.batch_size
    if gie.interval is not None and factory == "nvinfer":
        props["interval"] = gie.interval
    if gie.model_engine_file is not None and Path(gie.model_engine_file).exists() and factory == "nvinfer":
        props["model_engine_file"] = str(gie.model_engine_file)  # a missing engine is rebuilt from the model
    if secondary and factory == "nvinfer":
        props["process_mode"] = 2
        if gie.operate_on_gie_id >= 0:
            props["infer_on_gie_id"] = gie.operate_on_gie_id
        if gie.operate_on_class_ids:
            props["infer_on_class_ids"] = ":".join(str(c) for c in gie.operate_on_class_ids) + ":"
    return _add(pipeline, factory, name, **props)


def _color_probe(gies: list[GieConfig], default_uid: dict[int, GieConfig]):
    """bbox-border-colorN / bbox-bg-colorN of the GIE that produced each object."""

    def probe(pad, info, _):
        bm = get_batch_meta(info.get_buffer())
        if bm is None:
            return PadProbeReturn.OK
        for _fm, obj in bm.objects():
            gie = default_uid.get(obj.unique_component_id)
            if gie is None:
                continue
            border = gie.bbox_border_colors.get(obj.class_id)
            if border is not None:
                obj.rect_params.border_color = border.copy()
            bg = gie.bbox_bg_colors.get(obj.class_id)
            if bg is not None:
                obj.rect_params.has_bg_color = 1
                obj.rect_params.bg_color = bg.copy()
        return PadProbeReturn.OK

    return probe


def _osd_style_probe(cfg: AppConfig):
    """[osd] border-width, text-size, text-color, text-bg-color and font for every object, as deepstream-app."""
    osd = cfg.osd

    def probe(pad, info, _):
        bm = get_batch_meta(info.get_buffer())
        if bm is None:
            return PadProbeReturn.OK
        for _fm, obj in bm.objects():
            obj.rect_params.border_width = osd.border_width
            tp = obj.text_params
            tp.font_params.font_size = osd.text_size
            tp.font_params.font_name = osd.font
            tp.font_params.font_color = osd.text_color.copy()
            tp.set_bg_clr = 1
            tp.text_bg_clr = osd.text_bg_color.copy()
        return PadProbeReturn.OK

    return probe


def _pack_rgba(color) -> int:
    r, g, b, a = color.rgba255()
    return (r << 24) | (g << 16) | (b << 8) | a


def _sink(pipeline: Pipeline, cfg: AppConfig, sink: SinkConfig, idx: int) -> Element:
    """The first element of a sink branch (the branch is linked up inside)."""
    where = sink.where(cfg.path)
    t = sink.type
    if t == SinkType.FAKE:
        return _add(pipeline, "fakesink", f"sink_{idx}", sync=sink.sync, qos=sink.qos)
    if t in (SinkType.DISPLAY, SinkType.OVERLAY):
        return _add(pipeline, "nveglglessink", f"sink_{idx}", sync=sink.sync)
    if t == SinkType.FILE:
        if sink.output_file is None:
            raise AppError(f"{where}: output-file is missing")
        conv = _add(pipeline, "nvvideoconvert", f"sink_conv_{idx}")
        hw = sink.enc_type == 0
        if sink.codec == EncoderCodec.H264:
            enc = (_add(pipeline, "nvv4l2h264enc", f"sink_enc_{idx}", bitrate=sink.bitrate,
                        iframeinterval=sink.iframeinterval) if hw else
                   # deepstream-app sets tune=zerolatency on software encoders (no frame-delay lookahead)
                   _add(pipeline, "x264enc", f"sink_enc_{idx}", bitrate=max(1, sink.bitrate // 1000),
                        key_int_max=sink.iframeinterval, speed_preset="veryfast", tune="zerolatency"))
        elif sink.codec == EncoderCodec.H265:
            enc = _add(pipeline, "nvv4l2h265enc" if hw else "x265enc", f"sink_enc_{idx}", bitrate=sink.bitrate,
                       iframeinterval=sink.iframeinterval)
        else:
            enc = _add(pipeline, "avenc_mpeg4", f"sink_enc_{idx}", bitrate=sink.bitrate)
        mux = _add(pipeline, "qtmux" if sink.container == ContainerType.MP4 else "matroskamux", f"sink_mux_{idx}")
        Path(sink.output_file).parent.mkdir(parents=True, exist_ok=True)
        fs = _add(pipeline, "filesink", f"sink_{idx}", location=str(sink.output_file), sync=sink.sync)
        _chain([conv, enc, mux, fs])
        return conv
    if t == SinkType.RTSP:
        if find_factory("nvrtspoutsinkbin") is None:
            raise AppError(f"{where}: type=4 (RTSP output) needs the nvrtspoutsinkbin element, which this "
                           "installation lacks")
        return _add(pipeline, "nvrtspoutsinkbin", f"sink_{idx}", rtsp_port=sink.rtsp_port, udp_port=sink.udp_port,
                    bitrate=sink.bitrate, iframeinterval=max(1, sink.iframeinterval), enc_type=sink.enc_type,
                    codec=1 if sink.codec == EncoderCodec.H265 else 0, sync=sink.sync)
    if t == SinkType.MSG_CONV_BROKER:
        broker = _add(pipeline, "nvmsgbroker", f"sink_{idx}", proto_lib=sink.msg_broker_proto_lib,
                      conn_str=sink.msg_broker_conn_str or "", comp_id=sink.msg_broker_comp_id, new_api=sink.new_api,
                      **({"topic": sink.topic} if sink.topic else {}),
                      **({"config": str(sink.msg_broker_config)} if sink.msg_broker_config else {}))
        if sink.disable_msgconv:
            return broker
        conv = _add(pipeline, "nvmsgconv", f"sink_msgconv_{idx}", payload_type=sink.msg_conv_payload_type,
                    comp_id=sink.msg_conv_comp_id, frame_interval=sink.msg_conv_frame_interval,
                    msg2p_newapi=sink.new_api,
                    **({"config": str(sink.msg_conv_config)} if sink.msg_conv_config else {}),
                    **({"msg2p_lib": str(sink.msg_conv_msg2p_lib)} if getattr(sink, "msg_conv_msg2p_lib", None)
                       else {}))
        conv.link(broker)
        return conv
    raise AppError(f"{where}: unknown sink type {int(t)}")


def build_app(cfg: AppConfig, perf_out: TextIO | None = None) -> App:
    """Build the pipeline deepstream-app would build for ``cfg``."""
    pipeline = Pipeline("deepstream-app")
    n = cfg.num_streams
    if n == 0:
        raise AppError(f"{cfg.path}: no enabled [sourceN] group")
    mux_cfg = cfg.streammux
    mux = _add(pipeline, "nvstreammux", "src_bin_muxer", batch_size=cfg.batch_size, width=mux_cfg.width,
               height=mux_cfg.height, batched_push_timeout=mux_cfg.batched_push_timeout,
               enable_padding=mux_cfg.enable_padding, live_source=mux_cfg.live_source,
               attach_sys_ts=mux_cfg.attach_sys_ts_as_ntp, frame_num_reset_on_eos=mux_cfg.frame_num_reset_on_eos)
    app = App(cfg, pipeline, n)
    sid = 0
    for src in cfg.active_sources:
        for _ in range(src.stream_count):
            el = _source(pipeline, cfg, src, sid)
            app.sources.append(el)
            pad = mux.request_pad(f"sink_{sid}")
            if el.src_pads:
                el.src_pads[0].link(pad)
            else:  # nvurisrcbin adds its pad when it opens the URI
                el.connect("pad-added", lambda _el, p, target=pad: p.link(target) if target.peer is None else None)
            sid += 1
    chain: list[Element] = [mux]
    gies: dict[int, GieConfig] = {}
    last_gie = None
    if cfg.primary_gie is not None and cfg.primary_gie.enable:
        pgie = _gie(pipeline, cfg, cfg.primary_gie, "primary_gie", secondary=False)
        chain.append(pgie)
        last_gie = pgie
        gies[pgie.get_property("unique-id")] = cfg.primary_gie
        if cfg.application.gie_kitti_output_dir:
            app.kitti.append(KittiWriter(cfg.application.gie_kitti_output_dir))
            app.kitti[-1].attach(pgie.get_static_pad("src"))
    if cfg.tracker is not None and cfg.tracker.enable:
        t = cfg.tracker
        props = dict(tracker_width=t.tracker_width, tracker_height=t.tracker_height,
                     display_tracking_id=t.display_tracking_id, compute_hw=t.compute_hw, gpu_id=t.gpu_id,
                     tracking_surface_type=t.tracking_surface_type, user_meta_pool_size=t.user_meta_pool_size)
        if t.ll_lib_file:
            props["ll_lib_file"] = t.ll_lib_file
        if t.ll_config_file:
            props["ll_config_file"] = str(t.ll_config_file)
        tracker = _add(pipeline, "nvtracker", "tracking_tracker", **props)
        chain.append(tracker)
        if cfg.application.kitti_track_output_dir:
            app.kitti.append(KittiWriter(cfg.application.kitti_track_output_dir, tracks=True))
            app.kitti[-1].attach(tracker.get_static_pad("src"))
    for i, sgie in enumerate(g for g in cfg.secondary_gies if g.enable):
        el = _gie(pipeline, cfg, sgie, f"secondary_gie_{i}", secondary=True)
        chain.append(el)
        last_gie = el
        gies[el.get_property("unique-id")] = sgie
    if cfg.analytics is not None and cfg.analytics.enable:
        chain.append(_add(pipeline, "nvdsanalytics", "dsanalytics", config_file=str(cfg.analytics.config_file),
                          **({"unique_id": cfg.analytics.unique_id} if cfg.analytics.unique_id is not None else {})))
    if cfg.ds_example is not None and cfg.ds_example.enable:
        d = cfg.ds_example
        chain.append(_add(pipeline, "dsexample", "dsexample", full_frame=d.full_frame, blur_objects=d.blur_objects,
                          unique_id=d.unique_id, processing_width=d.processing_width,
                          processing_height=d.processing_height))
    if last_gie is not None and any(g.bbox_border_colors or g.bbox_bg_colors for g in gies.values()):
        chain[-1].get_static_pad("src").add_probe(PadProbeType.BUFFER, _color_probe(list(gies.values()), gies))
    if cfg.application.enable_perf_measurement:
        app.perf = PerfMonitor(n, cfg.application.perf_measurement_interval_sec, perf_out)
        app.perf.attach(chain[-1].get_static_pad("src"))
    tiled = cfg.tiled_display.enable
    if tiled:
        td = cfg.tiled_display
        chain.append(_add(pipeline, "nvmultistreamtiler", "tiled_display_tiler", rows=td.rows, columns=td.columns,
                          width=td.width, height=td.height))
    if cfg.osd.enable:
        o = cfg.osd
        conv = _add(pipeline, "nvvideoconvert", "osd_conv")
        osd = _add(pipeline, "nvdsosd", "nvosd", display_text=o.display_text, display_bbox=o.display_bbox,
                   display_mask=o.display_mask, display_clock=o.show_clock, x_clock_offset=o.clock_x_offset,
                   y_clock_offset=o.clock_y_offset, clock_font_size=o.clock_text_size, clock_font=o.font,
                   clock_color=_pack_rgba(o.clock_color), process_mode=o.process_mode)
        conv.get_static_pad("sink").add_probe(PadProbeType.BUFFER, _osd_style_probe(cfg))
        chain += [conv, osd]
    _chain(chain)
    _link_sinks(pipeline, cfg, chain[-1], n, tiled)
    return app


def _link_sinks(pipeline: Pipeline, cfg: AppConfig, last: Element, n: int, tiled: bool) -> None:
    sinks = cfg.active_sinks
    if not sinks:
        raise AppError(f"{cfg.path}: no enabled [sinkN] group")
    heads = [(s, _sink(pipeline, cfg, s, i)) for i, s in enumerate(sinks)]
    if n > 1 and not tiled:
        # Without a tiler each sink shows one source (source-id), as deepstream-app's per-stream sinks.
        demux = _add(pipeline, "nvstreamdemux", "demuxer")
        last.link(demux)
        groups: dict[int, list[Element]] = {}
        for s, head in heads:
            groups.setdefault(s.source_id or 0, []).append(head)
        for sid, group in groups.items():
            _fan_out(pipeline, demux, f"src_{sid}", group, f"tee_src_{sid}")
        return
    _fan_out(pipeline, last, None, [h for _, h in heads], "sink_tee")


def _fan_out(pipeline: Pipeline, upstream: Element, pad: str | None, heads: list[Element], tee_name: str) -> None:
    if len(heads) == 1:
        upstream.link_pads(pad, heads[0], None)
        return
    tee = _add(pipeline, "tee", tee_name)
    upstream.link_pads(pad, tee, None)
    for i, head in enumerate(heads):
        q = _add(pipeline, "queue", f"{tee_name}_queue_{i}")
        tee.link(q)
        q.link(head)


class _Keys:
    """deepstream-app's keys on an interactive terminal: q quit (EOS), p pause, r resume."""

    def __init__(self, app: App):
        self.app = app
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved = None

    def start(self) -> None:
        if not sys.stdin.isatty():
            return
        try:
            import termios
            import tty

            self._saved = termios.tcgetattr(sys.stdin)
            tty.setcbreak(sys.stdin.fileno())
        except (ImportError, OSError):
            self._saved = None
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([sys.stdin], [], [], 0.2)
            if not ready:
                continue
            ch = os.read(sys.stdin.fileno(), 1).decode(errors="ignore").lower()
            p = self.app.pipeline
            if ch == "q":
                print("Quitting", flush=True)
                from vistream.core.buffer import Event

                p.send_event(Event.eos())
            elif ch == "p":
                print("Pausing pipeline", flush=True)
                p.set_state(State.PAUSED)
            elif ch == "r":
                print("Resuming pipeline", flush=True)
                p.set_state(State.PLAYING)

    def stop(self) -> None:
        self._stop.set()
        if self._saved is not None:
            import termios

            termios.tcsetattr(sys.stdin, termios.TCSADRAIN, self._saved)


def run_app(cfg: AppConfig, out: TextIO | None = None, timeout: float | None = None) -> int:
    """Run until EOS (or ``q``); prints ``**PERF`` lines and errors; returns the exit code."""
    out = out or sys.stdout
    app = build_app(cfg, out)
    keys = _Keys(app)
    code = 0
    try:
        app.pipeline.change_state(State.PLAYING)
    except PipelineError as e:
        print(f"ERROR: {e.error}", file=sys.stderr)
        return 1
    if app.perf is not None:
        app.perf.start()
    keys.start()
    t0 = time.monotonic()
    try:
        while True:
            if timeout is not None and time.monotonic() - t0 > timeout:
                print("ERROR: timed out", file=sys.stderr)
                code = 1
                break
            msg = app.pipeline.bus.timed_pop_filtered(0.2, MessageType.EOS | MessageType.ERROR | MessageType.WARNING)
            if msg is None:
                if not app.pipeline._any_thread_alive():
                    break
                continue
            if msg.type == MessageType.EOS:
                print("** INFO: <bus_callback>: Received EOS. Exiting ...", file=out, flush=True)
                break
            err, debug = msg.parse_error()
            if msg.type == MessageType.ERROR:
                print(f"ERROR from {msg.src_name}: {err}", file=sys.stderr, flush=True)
                code = 1
            else:
                print(f"WARNING from {msg.src_name}: {err}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("Quitting", file=out)
    finally:
        keys.stop()
        if app.perf is not None:
            app.perf.stop()
        elapsed = time.monotonic() - t0
        app.pipeline.set_state(State.NULL)
    if app.perf is not None:
        app.perf.report()
        print(app.perf.summary(elapsed), file=out, flush=True)
    print("App run successful" if code == 0 else "App run failed", file=out)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vistream app", description="Run a deepstream-app configuration file.")
    parser.add_argument("-c", "--cfg-file", required=True, help="deepstream-app config file")
    parser.add_argument("--timeout", type=float, default=None, help="stop with an error after this many seconds")
    parser.add_argument("--ray", metavar="ADDRESS", help="spread the sources over pipeline workers on a Ray cluster "
                        "(an address, or 'auto'); see docs/cluster.md")
    parser.add_argument("--workers", default="1", metavar="N|auto",
                        help="split the sources over N worker processes on this machine (one pipeline each, "
                        "e.g. to use one GPU from several processes); 'auto': one per host core (at most one "
                        "per source) when the GPU path runs, else 1; PERF lines cover every stream")
    args = parser.parse_args(argv)
    from vistream.app.workers import auto_workers, config_sources, parse_workers

    try:
        args.workers = parse_workers(args.workers)
        if args.workers == "auto":
            try:
                n_sources = len(config_sources(load_app_config(args.cfg_file)))
            except ValueError:  # sources without a URI (cameras, test sources) cannot be split
                n_sources = 0
            args.workers = auto_workers(n_sources)
            print(f"** INFO: --workers auto: {args.workers} worker process(es) for {n_sources or 'non-URI'} "
                  "source(s)", file=sys.stderr, flush=True)
    except (ValueError, VistreamError, OSError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    if args.workers > 1 and not args.ray:
        from vistream.app.workers import run_app_workers

        try:
            return run_app_workers(args.cfg_file, args.workers, timeout=args.timeout)
        except (ValueError, VistreamError, OSError) as e:
            print(f"ERROR: {e}", file=sys.stderr)
            return 1
    if args.ray:
        from vistream.cluster.manager import run_app_on_ray

        try:
            return run_app_on_ray(args.cfg_file, args.ray, timeout=args.timeout)
        except (ValueError, VistreamError, OSError) as e:
            print(f"ERROR: {e}", file=sys.stderr)
            return 1
    try:
        cfg = load_app_config(args.cfg_file)
        return run_app(cfg, timeout=args.timeout)
    except (ValueError, VistreamError, ElementError, OSError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
