"""``vistream serve``: run a pipeline as a service with a REST API, Prometheus metrics and a web dashboard.

Examples::

    vistream serve --uri rtsp://cam1/stream --uri file:///videos/clip.mp4 \\
        --infer-config samples/configs/config_infer_primary_yoloX.txt --port 9000
    vistream serve -c deepstream_app_config.txt        # the pipeline deepstream-app would build

The bearer token of the mutating endpoints comes from ``--token``, ``$VISTREAM_API_TOKEN`` or (neither) is
generated and printed at start-up.
"""

from __future__ import annotations

import argparse
import os
import sys

from vistream.core.errors import VistreamError


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="vistream serve", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--config", help="deepstream-app config file (its [source-list] http-ip/http-port "
                                           "give the default address)")
    ap.add_argument("--uri", action="append", default=[], help="a stream to start with (repeatable)")
    ap.add_argument("--max-streams", type=int, default=4, help="batch size / stream slots (default 4)")
    ap.add_argument("--width", type=int, default=1280, help="muxer output width")
    ap.add_argument("--height", type=int, default=720, help="muxer output height")
    ap.add_argument("--infer-config", help="nvinfer config file of the detector")
    ap.add_argument("--interval", type=int, default=0, help="nvinfer interval")
    ap.add_argument("--tracker-config", help="nvtracker low-level config (YAML)")
    ap.add_argument("--analytics-config", help="nvdsanalytics config file")
    ap.add_argument("--no-live", action="store_true", help="files are not played in real time, nvstreammux live-source=0")
    ap.add_argument("--rtsp-port", type=int, help="also serve the annotated view at rtsp://host:PORT/ds-test")
    ap.add_argument("--smart-record-dir", help="enable smart record into this directory")
    ap.add_argument("--no-view", action="store_true", help="no annotated view (dashboard without video)")
    ap.add_argument("--host", default=None, help="address of the HTTP server (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=None, help="port of the HTTP server (default 9000)")
    ap.add_argument("--token", help="bearer token for mutating endpoints (default: $VISTREAM_API_TOKEN)")
    ap.add_argument("--cors-origin", action="append", default=[], help="allow this browser origin (CORS)")
    ap.add_argument("--log-level", default="warning", help="uvicorn log level")
    ap.add_argument("--ray", metavar="ADDRESS", help="run the config's sources on pipeline workers of this Ray "
                    "cluster ('auto' or host:port; needs -c); see docs/cluster.md")
    return ap


def make_manager(args: argparse.Namespace):
    """The :class:`PipelineManager` the arguments describe (not started)."""
    from vistream.live.manager import ManagerOptions, PipelineManager

    if args.config:
        from vistream.app.config import load_app_config
        from vistream.app.runner import build_app

        cfg = load_app_config(args.config)
        app = build_app(cfg)
        opts = ManagerOptions(view=not args.no_view)
        sl = getattr(cfg, "source_list", None)
        if sl is not None:
            args.host = args.host or sl.http_ip
            args.port = args.port or sl.http_port
        return PipelineManager.from_pipeline(app.pipeline, opts)
    opts = ManagerOptions(
        uris=list(args.uri), max_streams=args.max_streams, width=args.width, height=args.height,
        live_source=not args.no_live, realtime_files=not args.no_live, infer_config=args.infer_config,
        interval=args.interval, tracker_config=args.tracker_config, analytics_config=args.analytics_config,
        view=not args.no_view, rtsp_port=args.rtsp_port, smart_record=bool(args.smart_record_dir),
        smart_rec_dir_path=args.smart_record_dir or "recordings")
    return PipelineManager(opts)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``vistream serve``; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.ray:
        if not args.config:
            print("ERROR: --ray needs -c CONFIG (a deepstream-app config whose pipeline the workers run)",
                  file=sys.stderr)
            return 2
        from vistream.server.cluster_app import serve_cluster

        try:
            return serve_cluster(args.config, args.ray, args.host or "127.0.0.1", args.port or 9000,
                                 args.token or os.environ.get("VISTREAM_API_TOKEN"), args.log_level)
        except (VistreamError, ValueError, OSError, RuntimeError) as e:
            print(f"ERROR: {e}", file=sys.stderr)
            return 1
    try:
        import uvicorn

        from vistream.server.app import create_app
    except ImportError as e:
        print(f"vistream serve needs the server extra: pip install 'vistream[server]' ({e})", file=sys.stderr)
        return 2
    try:
        manager = make_manager(args)
        manager.start()
    except (VistreamError, ValueError, OSError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    token = args.token or os.environ.get("VISTREAM_API_TOKEN")
    app = create_app(manager, token=token, cors_origins=args.cors_origin or None)
    host, port = args.host or "127.0.0.1", args.port or 9000
    if not token:
        print(f"API token (generated; set VISTREAM_API_TOKEN to choose one): {app.state.token}", flush=True)
    print(f"vistream serve: dashboard http://{host}:{port}/  API docs http://{host}:{port}/docs", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level=args.log_level)
    finally:
        manager.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
