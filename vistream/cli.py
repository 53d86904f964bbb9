"""The ``vistream`` command: launch, inspect, demo, app, eval-mot (``vistream <command> --help``)."""

from __future__ import annotations

import argparse
import sys

COMMANDS = {
    "launch": ("vistream.tools.launch", "Run a gst-launch style pipeline"),
    "inspect": ("vistream.tools.inspect", "List elements, or show one element's pads and properties"),
    "demo": ("vistream.tools.demo", "Detect, track and draw on a sample clip into an annotated MP4"),
    "app": ("vistream.app.runner", "Run a deepstream-app configuration file"),
    "bench": ("vistream.tools.bench", "Measure a pipeline: FPS, per-element time, latency, CPU, memory"),
    "serve": ("vistream.server.cli", "Serve pipelines with a REST API, Prometheus metrics and a web dashboard"),
    "cluster": ("vistream.cluster.cli", "Run deepstream-app configs over a Ray cluster"),
    "eval-mot": ("vistream.track.evaluate", "Score trackers on MOTChallenge detections and ground truth"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        parser = argparse.ArgumentParser(prog="vistream", description="Real-time video analytics pipelines.")
        sub = parser.add_subparsers(title="commands", metavar="<command>")
        for name, (_, help_text) in COMMANDS.items():
            sub.add_parser(name, help=help_text)
        parser.add_argument("--version", action="store_true", help="print the version")
        parser.print_help()
        return 0
    if argv[0] == "--version":
        from vistream import __version__

        print(f"vistream {__version__}")
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print(f"vistream: unknown command {name!r} (commands: {', '.join(COMMANDS)})", file=sys.stderr)
        return 2
    import importlib

    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
