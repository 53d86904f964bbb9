#!/usr/bin/env python3
"""deepstream-test1 with vistream's own API: the same pipeline and output as ``deepstream_test_1.py``.

    python samples/python/deepstream-test1/deepstream_test_1_native.py samples/videos/traffic_overhead_640x360.h264
"""

import sys
from collections import Counter
from pathlib import Path

import vistream
from vistream import PadProbeReturn, PadProbeType
from vistream.meta import ColorParams, DisplayMeta, FontParams, TextParams, get_batch_meta

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def count_objects(pad, info, user_data):
    """Count the objects of each class, colour their boxes blue and write the counts on the frame."""
    for frame_meta in get_batch_meta(info.get_buffer()).frame_meta_list:
        counts = Counter(obj.obj_label for obj in frame_meta.obj_meta_list)
        for obj in frame_meta.obj_meta_list:
            obj.rect_params.border_color.set(0.0, 0.0, 1.0, 0.8)
        per_class = " ".join(f"{label}={n}" for label, n in sorted(counts.items()))
        text = f"Frame Number={frame_meta.frame_num} Number of Objects={frame_meta.num_obj_meta} {per_class}".rstrip()
        frame_meta.add_display_meta(DisplayMeta(text_params=[TextParams(
            text, 10, 12, FontParams("Serif", 10, ColorParams(1.0, 1.0, 1.0, 1.0)), 1, ColorParams(0.0, 0.0, 0.0, 1.0))]))
        print(text)
    return PadProbeReturn.OK


def main(args):
    if len(args) != 2:
        sys.stderr.write(f"usage: {args[0]} <H264 elementary stream or MP4 file>\n")
        return 1
    demux = "qtdemux ! " if args[1].endswith((".mp4", ".mov")) else ""
    pipeline = vistream.parse_launch(
        f'filesrc location="{args[1]}" ! {demux}h264parse ! nvv4l2decoder ! '
        "m.sink_0 nvstreammux name=m batch-size=1 width=1280 height=720 batched-push-timeout=33000 ! "
        f'nvinfer config-file-path="{CONFIGS / "config_infer_primary_yoloX.txt"}" ! '
        "nvvideoconvert ! nvdsosd name=osd ! nveglglessink")
    pipeline.get_by_name("osd").get_static_pad("sink").add_probe(PadProbeType.BUFFER, count_objects, None)
    try:
        pipeline.run()  # blocks until EOS; raises PipelineError naming the element on an error
    except vistream.PipelineError as e:
        sys.stderr.write(f"Error: {e}\n")
        return 1
    print("End-of-stream")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
