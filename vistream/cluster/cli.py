"""``vistream cluster``: run a deepstream-app config's sources on a Ray cluster.

::

    vistream cluster run -c app.txt --address 127.0.0.1:6379 [--workers-per-node 1] [--num-cpus 1]
                         [--num-gpus 0] [--spool-dir DIR] [--max-fps 0] [--timeout S] [--metrics-file F]

Prints where each stream ran and how many frames it recorded; exit status 0 when every stream finished.
"""

from __future__ import annotations

import argparse
import sys

from vistream.cluster.manager import run_app_on_ray


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="vistream cluster", description="Scale vistream pipelines out on Ray.")
    sub = ap.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a deepstream-app config's sources on Ray pipeline workers")
    run.add_argument("-c", "--cfg-file", required=True, help="deepstream-app config file")
    run.add_argument("--address", default="auto", help="Ray cluster address (auto, or host:port of the head)")
    run.add_argument("--workers-per-node", type=int, default=1, help="pipeline workers per Ray node (default 1)")
    run.add_argument("--num-cpus", type=float, default=1.0, help="CPUs one worker reserves (default 1)")
    run.add_argument("--num-gpus", type=float, default=0.0, help="GPUs one worker reserves (default 0)")
    run.add_argument("--spool-dir", default=None,
                     help="directory for the workers' frame records; must be shared storage on several machines")
    run.add_argument("--max-fps", type=float, default=0.0, help="pace each source to at most this frame rate")
    run.add_argument("--timeout", type=float, default=None, help="fail after this many seconds")
    run.add_argument("--metrics-file", default=None, help="write the final Prometheus metrics here")
    args = ap.parse_args(argv)
    try:
        return run_app_on_ray(args.cfg_file, args.address, timeout=args.timeout,
                              workers_per_node=args.workers_per_node, num_cpus=args.num_cpus,
                              num_gpus=args.num_gpus, spool_dir=args.spool_dir, max_fps=args.max_fps,
                              metrics_file=args.metrics_file)
    except (ValueError, RuntimeError, OSError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
