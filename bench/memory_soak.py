"""Memory stays flat over a long run: the full pipeline with file-loop for N minutes, RSS sampled every 10 s.

Usage: ``python bench/memory_soak.py [--minutes 10] [--streams 1]``. Prints the RSS series and the growth
between the first minute (after warm-up) and the end; the goal is < 5 %.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vistream import State, parse_launch  # noqa: E402
from vistream.core.buffer import Event  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--streams", type=int, default=1)
    ap.add_argument("--clip", default=str(ROOT / "samples" / "videos" / "traffic_overhead_640x360.mp4"))
    args = ap.parse_args()
    cfg = ROOT / "samples" / "configs"
    srcs = " ".join(f"nvurisrcbin uri=file://{args.clip} file-loop=true ! m.sink_{i}" for i in range(args.streams))
    p = parse_launch(f"{srcs} nvstreammux name=m batch-size={args.streams} ! "
                     f"nvinfer config-file-path={cfg}/config_infer_primary_yoloX.txt ! "
                     f"nvtracker ll-config-file={cfg}/tracker/config_tracker_IOU.yml ! nvvideoconvert ! nvdsosd ! "
                     "nvvideoconvert ! x264enc speed-preset=ultrafast ! matroskamux ! filesink location=/dev/null")
    samples: list[tuple[float, float, int]] = []
    p.set_state(State.PLAYING)
    t0 = time.monotonic()
    end = t0 + args.minutes * 60
    mux = p.get_by_name("m")
    while time.monotonic() < end:
        time.sleep(10)
        frames = sum(s["frames"] for s in mux.source_stats().values())
        samples.append((time.monotonic() - t0, rss_mb(), frames))
        print(f"{samples[-1][0]:7.0f} s  RSS {samples[-1][1]:7.1f} MB  frames {frames}", flush=True)
    p.send_event(Event.eos())
    p.set_state(State.NULL)
    base = next((r for t, r, _ in samples if t >= 60), samples[0][1])
    peak = max(r for _, r, _ in samples)
    growth = (samples[-1][1] - base) / base * 100
    print(f"\nRSS after warm-up {base:.1f} MB, at the end {samples[-1][1]:.1f} MB (growth {growth:+.1f}%), "
          f"peak {peak:.1f} MB, {samples[-1][2]} frames")
    return 0 if growth < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
