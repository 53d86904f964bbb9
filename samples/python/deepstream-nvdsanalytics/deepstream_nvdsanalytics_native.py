#!/usr/bin/env python3
"""deepstream-nvdsanalytics with vistream's own API: the same pipeline and output as ``deepstream_nvdsanalytics.py``.

    python samples/python/deepstream-nvdsanalytics/deepstream_nvdsanalytics_native.py \
        samples/videos/people_walkway_800x450.mp4 samples/videos/traffic_overhead_640x360.mp4
"""

import math
import sys
from pathlib import Path

import vistream
from vistream import PadProbeReturn, PadProbeType
from vistream.analytics.meta import get_analytics_frame_meta, get_analytics_obj_info
from vistream.meta import get_batch_meta

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def print_analytics(pad, info, user_data):
    for frame_meta in get_batch_meta(info.get_buffer()).frame_meta_list:
        print(f"Frame Number={frame_meta.frame_num} stream id={frame_meta.pad_index} "
              f"Number of Objects={frame_meta.num_obj_meta}")
        for obj in frame_meta.obj_meta_list:
            oi = get_analytics_obj_info(obj)
            if oi is None:
                continue
            for what, value in (("moving in direction", oi.dirStatus), ("line crossing status", oi.lcStatus),
                                ("overcrowding status", oi.ocStatus), ("roi status", oi.roiStatus)):
                if value:
                    print(f"  Object {obj.object_id} {what}: {value}")
        fa = get_analytics_frame_meta(frame_meta)
        if fa is not None:
            for what, value in (("Objs in ROI", fa.objInROIcnt), ("Linecrossing Cumulative", fa.objLCCumCnt),
                                ("Linecrossing Current Frame", fa.objLCCurrCnt), ("Overcrowding status", fa.ocStatus)):
                if value:
                    print(f"  {what}: {value}")
    return PadProbeReturn.OK


def main(args):
    if len(args) < 2:
        sys.stderr.write(f"usage: {args[0]} <uri1> [uri2] ... [uriN]\n")
        return 1
    uris = [a if "://" in a else Path(a).resolve().as_uri() for a in args[1:]]
    n = len(uris)
    rows = int(math.sqrt(n))
    sources = " ".join(f'nvurisrcbin uri="{uri}" ! m.sink_{i}' for i, uri in enumerate(uris))
    pipeline = vistream.parse_launch(
        f"{sources} nvstreammux name=m batch-size={n} width=1280 height=720 batched-push-timeout=4000000 ! "
        f'nvinfer batch-size={n} config-file-path="{CONFIGS / "config_infer_primary_yoloX.txt"}" ! '
        f'nvtracker ll-config-file="{CONFIGS / "tracker" / "config_tracker_IOU.yml"}" ! '
        f'nvdsanalytics name=analytics config-file="{CONFIGS / "analytics" / "config_nvdsanalytics.txt"}" ! '
        f"nvmultistreamtiler rows={rows} columns={math.ceil(n / rows)} width=1280 height=720 ! nvvideoconvert ! "
        "nvdsosd ! nveglglessink")
    pipeline.get_by_name("analytics").get_static_pad("src").add_probe(PadProbeType.BUFFER, print_analytics, None)
    try:
        pipeline.run()
    except vistream.PipelineError as e:
        sys.stderr.write(f"Error: {e}\n")
        return 1
    print("End-of-stream")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
