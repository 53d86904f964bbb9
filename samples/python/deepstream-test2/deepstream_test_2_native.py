#!/usr/bin/env python3
"""deepstream-test2 with vistream's own API: the same pipeline and output as ``deepstream_test_2.py``.

    python samples/python/deepstream-test2/deepstream_test_2_native.py samples/videos/traffic_overhead_640x360.h264
"""

import sys
from collections import Counter
from pathlib import Path

import vistream
from vistream import PadProbeReturn, PadProbeType
from vistream.meta import ColorParams, DisplayMeta, FontParams, MetaType, TextParams, get_batch_meta

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def report(pad, info, user_data):
    batch_meta = get_batch_meta(info.get_buffer())
    for frame_meta in batch_meta.frame_meta_list:
        counts = Counter(obj.obj_label for obj in frame_meta.obj_meta_list)
        per_class = " ".join(f"{label}={n}" for label, n in sorted(counts.items()))
        text = f"Frame Number={frame_meta.frame_num} Number of Objects={frame_meta.num_obj_meta} {per_class}".rstrip()
        frame_meta.add_display_meta(DisplayMeta(text_params=[TextParams(
            text, 10, 12, FontParams("Serif", 10, ColorParams(1.0, 1.0, 1.0, 1.0)), 1, ColorParams(0.0, 0.0, 0.0, 1.0))]))
        print(text)
        for obj in frame_meta.obj_meta_list:
            for cm in obj.classifier_meta_list:
                for li in cm.label_info_list:
                    print(f"  Object {obj.object_id} {obj.obj_label}: {cm.classifier_type}={li.result_label} "
                          f"({li.result_prob:.2f})")
    for um in batch_meta.user_meta_of_type(MetaType.TRACKER_PAST_FRAME):
        for stream in um.user_meta_data.list:
            for track in stream.list:
                print(f"  Past frames streamId={stream.streamID} uniqueId={track.uniqueId} classId={track.classId} "
                      f"objLabel={track.objLabel} numobj={track.numObj} frameNum={[o.frameNum for o in track.list]}")
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
        f'nvtracker tracker-width=640 tracker-height=384 enable-past-frame=1 '
        f'll-config-file="{CONFIGS / "tracker" / "config_tracker_IOU.yml"}" ! '
        f'nvinfer config-file-path="{CONFIGS / "config_infer_secondary_vehicle_classifier.txt"}" ! '
        f'nvinfer config-file-path="{CONFIGS / "config_infer_secondary_facedetect.txt"}" ! '
        "nvvideoconvert ! nvdsosd name=osd ! nveglglessink")
    pipeline.get_by_name("osd").get_static_pad("sink").add_probe(PadProbeType.BUFFER, report, None)
    try:
        pipeline.run()
    except vistream.PipelineError as e:
        sys.stderr.write(f"Error: {e}\n")
        return 1
    print("End-of-stream")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
