#!/usr/bin/env python3
"""deepstream-test3 with vistream's own API: the same pipeline and output as ``deepstream_test_3.py``.

    python samples/python/deepstream-test3/deepstream_test_3_native.py clip1.mp4 rtsp://camera/stream
"""

import math
import sys
from collections import Counter
from pathlib import Path

import vistream
from vistream import PadProbeReturn, PadProbeType
from vistream.meta import get_batch_meta

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def print_counts(pad, info, user_data):
    for frame_meta in get_batch_meta(info.get_buffer()).frame_meta_list:
        counts = Counter(obj.obj_label for obj in frame_meta.obj_meta_list)
        per_class = " ".join(f"{label}={n}" for label, n in sorted(counts.items()))
        print(f"Frame Number={frame_meta.frame_num} Source={frame_meta.pad_index} "
              f"Number of Objects={frame_meta.num_obj_meta} {per_class}".rstrip())
    return PadProbeReturn.OK


def main(args):
    if len(args) < 2:
        sys.stderr.write(f"usage: {args[0]} <uri1> [uri2] ... [uriN]\n")
        return 1
    uris = [a if "://" in a else Path(a).resolve().as_uri() for a in args[1:]]
    n = len(uris)
    rows = int(math.sqrt(n))
    columns = int(math.ceil(n / rows))
    sources = " ".join(f'uridecodebin uri="{uri}" ! m.sink_{i}' for i, uri in enumerate(uris))
    pipeline = vistream.parse_launch(
        f"{sources} nvstreammux name=m batch-size={n} width=1280 height=720 batched-push-timeout=4000000 ! queue ! "
        f'nvinfer name=pgie batch-size={n} config-file-path="{CONFIGS / "config_infer_primary_yoloX.txt"}" ! '
        f"nvmultistreamtiler rows={rows} columns={columns} width=1280 height=720 ! nvvideoconvert ! "
        "nvdsosd process-mode=0 ! nveglglessink qos=0")
    pipeline.get_by_name("pgie").get_static_pad("src").add_probe(PadProbeType.BUFFER, print_counts, None)
    for i, uri in enumerate(uris):
        print(i, ": ", uri)
    try:
        pipeline.run()
    except vistream.PipelineError as e:
        sys.stderr.write(f"Error: {e}\n")
        return 1
    print("End-of-stream")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
