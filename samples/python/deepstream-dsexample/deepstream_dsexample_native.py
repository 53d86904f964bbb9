#!/usr/bin/env python3
"""dsexample, the custom element, with vistream's own API: the same pipeline and output as ``deepstream_dsexample.py``.

    python samples/python/deepstream-dsexample/deepstream_dsexample_native.py samples/videos/traffic_overhead_640x360.mp4

How to write such an element yourself: ``samples/python/dsexample_element.py``.
"""

import sys
from pathlib import Path

import vistream
from vistream import PadProbeReturn, PadProbeType

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DSEXAMPLE_UNIQUE_ID = 15


def print_colours(pad, info, user_data):
    for frame_meta in info.get_buffer().batch_meta.frame_meta_list:
        for obj in frame_meta.obj_meta_list:
            for cm in obj.classifier_meta_list:
                if cm.unique_component_id == DSEXAMPLE_UNIQUE_ID:
                    li = cm.label_info_list[0]
                    print(f"Frame Number={frame_meta.frame_num} {obj.obj_label} at ({obj.rect_params.left:.0f},"
                          f"{obj.rect_params.top:.0f}): colour={li.result_label} ({li.result_prob:.2f})")
    return PadProbeReturn.OK


def main(args):
    if len(args) != 2:
        sys.stderr.write(f"usage: {args[0]} <MP4 file>\n")
        return 1
    pipeline = vistream.parse_launch(
        f'filesrc location="{args[1]}" ! qtdemux ! h264parse ! nvv4l2decoder ! '
        "m.sink_0 nvstreammux name=m batch-size=1 width=1280 height=720 ! "
        f'nvinfer config-file-path="{CONFIGS / "config_infer_primary_yoloX.txt"}" ! '
        f"dsexample full-frame=0 processing-width=64 processing-height=64 unique-id={DSEXAMPLE_UNIQUE_ID} ! "
        "nvvideoconvert ! nvdsosd name=osd ! fakesink")
    pipeline.get_by_name("osd").get_static_pad("sink").add_probe(PadProbeType.BUFFER, print_colours, None)
    try:
        pipeline.run()
    except vistream.PipelineError as e:
        sys.stderr.write(f"Error: {e}\n")
        return 1
    print("End-of-stream")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
