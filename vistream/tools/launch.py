"""``vistream launch``: gst-launch for vistream pipelines."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from vistream.core.bus import MessageType
from vistream.core.element import State, StateChangeReturn
from vistream.core.errors import LaunchError, VistreamError
from vistream.core.launch import parse_launch
from vistream.core.pipeline import Pipeline
from vistream.tools.perf import format_fps, stream_fps


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vistream launch", description="Build and run a pipeline from a gst-launch "
                                "style description, e.g. \"videotestsrc num-buffers=100 ! nvvideoconvert ! fakesink\".")
    p.add_argument("-v", "--verbose", action="store_true", help="print negotiated caps and element properties")
    p.add_argument("-e", "--eos-on-shutdown", action="store_true",
                   help="on Ctrl-C send EOS so files are finalised, then stop")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    p.add_argument("--no-perf", action="store_true", help="do not print per-stream FPS at the end")
    p.add_argument("pipeline", nargs=argparse.REMAINDER, help="pipeline description")
    return p


def print_properties(pipeline: Pipeline) -> None:
    for el in pipeline.elements:
        for prop in el.properties():
            if prop.name == "name" or prop.name not in el._set_props:
                continue
            print(f"/GstPipeline:{pipeline.name}/{type(el).__name__}:{el.name}: {prop.name} = "
                  f"{prop.format(el.get_property(prop.name))}")


def run(description: str, verbose: bool = False, eos_on_shutdown: bool = False, quiet: bool = False,
        perf: bool = True) -> int:
    """Run a pipeline as ``gst-launch-1.0`` does; returns the process exit code."""
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    try:
        pipeline = parse_launch(description)
    except LaunchError as e:
        print(f"ERROR: pipeline could not be constructed: {e}", file=sys.stderr)
        return 1
    except VistreamError as e:
        print(f"ERROR: pipeline could not be constructed: {e}", file=sys.stderr)
        return 1
    pipeline.verbose = verbose
    if verbose:
        print_properties(pipeline)
    interrupted = {"count": 0}

    def on_sigint(signum, frame):
        interrupted["count"] += 1
        if eos_on_shutdown and interrupted["count"] == 1:
            print("handling interrupt.\nEOS on shutdown enabled -- Forcing EOS on the pipeline", flush=True)
            pipeline.send_event(pipeline_eos())
        else:
            raise KeyboardInterrupt

    old = signal.signal(signal.SIGINT, on_sigint)
    code = 0
    say("Setting pipeline to PAUSED ...")
    if pipeline.set_state(State.PAUSED) == StateChangeReturn.FAILURE:
        return _report_failure(pipeline)
    say("Pipeline is PREROLLED ...")
    say("Setting pipeline to PLAYING ...")
    if pipeline.set_state(State.PLAYING) == StateChangeReturn.FAILURE:
        return _report_failure(pipeline)
    t0 = time.monotonic()
    try:
        while True:
            msg = pipeline.bus.timed_pop_filtered(0.2, MessageType.EOS | MessageType.ERROR | MessageType.WARNING
                                                  | MessageType.ELEMENT)
            if msg is None:
                if not pipeline._any_thread_alive():
                    break
                continue
            if msg.type == MessageType.EOS:
                say(f'Got EOS from element "{msg.src_name}".')
                break
            if msg.type == MessageType.ERROR:
                err, debug = msg.parse_error()
                print(f"ERROR: from element {_path(pipeline, msg.src)}: {err}", file=sys.stderr, flush=True)
                if debug and verbose:
                    print(f"Additional debug info:\n{debug}", file=sys.stderr)
                code = 1
            elif msg.type == MessageType.WARNING:
                err, _ = msg.parse_warning()
                if not quiet:
                    print(f"WARNING: from element {_path(pipeline, msg.src)}: {err}", file=sys.stderr, flush=True)
            elif verbose:
                say(f"Got message #{msg.structure.get('name')} from element \"{msg.src_name}\": {msg.structure}")
    except KeyboardInterrupt:
        say("handling interrupt.\nInterrupt: Stopping pipeline ...")
        code = 130
    finally:
        signal.signal(signal.SIGINT, old)
    elapsed = time.monotonic() - t0
    stats = stream_fps(pipeline, elapsed)
    say(f"Execution ended after {_fmt_time(elapsed)}")
    say("Setting pipeline to NULL ...")
    pipeline.set_state(State.NULL)
    while (m := pipeline.bus.pop()) is not None:
        if m.type == MessageType.ERROR:
            err, _ = m.parse_error()
            print(f"ERROR: from element {_path(pipeline, m.src)}: {err}", file=sys.stderr)
            code = 1
    if perf and stats and not quiet:
        print(format_fps(stats), flush=True)
    say("Freeing pipeline ...")
    return code


def pipeline_eos():
    from vistream.core.buffer import Event

    return Event.eos()


def _report_failure(pipeline: Pipeline) -> int:
    msg = pipeline.bus.timed_pop_filtered(0, MessageType.ERROR)
    if msg is not None:
        err, _ = msg.parse_error()
        print(f"ERROR: from element {_path(pipeline, msg.src)}: {err}", file=sys.stderr)
    print("ERROR: pipeline doesn't want to preroll.", file=sys.stderr)
    pipeline.set_state(State.NULL)
    return 1


def _path(pipeline: Pipeline, el) -> str:
    if el is pipeline or el is None:
        return f"/GstPipeline:{pipeline.name}"
    return f"/GstPipeline:{pipeline.name}/{type(el).__name__}:{el.name}"


def _fmt_time(seconds: float) -> str:
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{s:012.9f}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.pipeline:
        print("usage: vistream launch [-v] [-e] PIPELINE-DESCRIPTION", file=sys.stderr)
        return 2
    return run(" ".join(args.pipeline), args.verbose, args.eos_on_shutdown, args.quiet, not args.no_perf)
