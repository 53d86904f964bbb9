"""``vistream demo``: detection, tracking and on-screen display on a sample clip into an annotated MP4."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from vistream.core.errors import VistreamError
from vistream.core.launch import parse_launch
from vistream.core.pad import PadProbeReturn, PadProbeType
from vistream.meta import get_batch_meta
from vistream.tools.perf import format_fps, stream_fps


def find_samples() -> Path:
    """The ``samples/`` folder of a source checkout (current directory first, then beside the package)."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (base / "samples" / "configs").is_dir():
            return base / "samples"
    raise VistreamError("cannot find the samples/ folder: run the demo from a vistream checkout, or pass "
                        "--clip, --infer-config and --tracker-config")


def build_description(clips: list[str], output: str, infer_config: str, tracker_config: str,
                      width: int = 0, height: int = 0) -> str:
    n = len(clips)
    sources = " ".join(f"uridecodebin uri=file://{Path(c).resolve()} ! m.sink_{i}" for i, c in enumerate(clips))
    size = f"width={width} height={height}" if width and height else ""
    tiler = ""
    if n > 1:
        cols = int(n ** 0.5 + 0.999)
        rows = (n + cols - 1) // cols
        tiler = f"nvmultistreamtiler rows={rows} columns={cols} width={width or 1280} height={height or 720} ! "
    return (f"{sources} nvstreammux name=m batch-size={n} {size} ! "
            f"nvinfer name=pgie config-file-path={infer_config} batch-size={n} ! "
            f"nvtracker name=tracker ll-config-file={tracker_config} ! {tiler}"
            f"nvvideoconvert ! nvdsosd name=osd ! nvvideoconvert ! x264enc speed-preset=ultrafast ! "
            f"mp4mux ! filesink location={output}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vistream demo", description=__doc__)
    parser.add_argument("--clip", action="append", help="input video (repeat for several streams)")
    parser.add_argument("--streams", type=int, default=1, help="number of streams (copies of the clip)")
    parser.add_argument("--output", "-o", default="out/demo.mp4", help="annotated MP4 to write")
    parser.add_argument("--infer-config", help="nvinfer config (default: the YOLOX-Nano COCO detector)")
    parser.add_argument("--tracker-config", help="tracker YAML (default: the IOU tracker config)")
    parser.add_argument("--width", type=int, default=0, help="muxer width (default: the clip's own)")
    parser.add_argument("--height", type=int, default=0, help="muxer height (default: the clip's own)")
    args = parser.parse_args(argv)
    try:
        samples = None if (args.clip and args.infer_config and args.tracker_config) else find_samples()
    except VistreamError as e:
        print(f"vistream demo: {e}", file=sys.stderr)
        return 1
    clips = args.clip or [str(samples / "videos" / "traffic_overhead_640x360.mp4")]
    clips = (clips * args.streams)[: max(args.streams, len(clips))]
    infer = args.infer_config or str(samples / "configs" / "config_infer_primary_yoloX.txt")
    tracker = args.tracker_config or str(samples / "configs" / "tracker" / "config_tracker_IOU.yml")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    pipeline = parse_launch(build_description(clips, args.output, infer, tracker, args.width, args.height))
    counts: Counter[str] = Counter()
    ids: set[int] = set()

    def count_objects(pad, info, _):
        for fm in get_batch_meta(info.get_buffer()).frame_meta_list:
            for obj in fm.obj_meta_list:
                counts[obj.obj_label] += 1
                ids.add(obj.object_id)
        return PadProbeReturn.OK

    pipeline.get_by_name("tracker").get_static_pad("src").add_probe(PadProbeType.BUFFER, count_objects)
    print(f"vistream demo: {len(clips)} stream(s) -> detector -> tracker -> OSD -> {args.output}", flush=True)
    t0 = time.monotonic()
    try:
        pipeline.run()
    except VistreamError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - t0
    print(format_fps(stream_fps(pipeline, elapsed)))
    top = ", ".join(f"{label}: {n}" for label, n in counts.most_common(5))
    print(f"objects drawn: {sum(counts.values())} ({top}); distinct track ids: {len(ids)}")
    print(f"wrote {args.output}")
    return 0
