#!/usr/bin/env python3
"""deepstream-imagedata-multistream with vistream's own API: the same pipeline, crops and output as
``deepstream_imagedata-multistream.py``; the probe reads the pixels as ``buffer.data[frame_meta.batch_id]``.

    python samples/python/deepstream-imagedata-multistream/deepstream_imagedata_multistream_native.py \
        samples/videos/traffic_overhead_640x360.mp4 out/crops
"""

import sys
from pathlib import Path

import cv2

import vistream
from vistream import PadProbeReturn, PadProbeType

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SAVE_EVERY = 10
MIN_CONFIDENCE = 0.5


def save_crops(pad, info, state):
    buffer = info.get_buffer()
    for frame_meta in buffer.batch_meta.frame_meta_list:
        if frame_meta.frame_num % SAVE_EVERY:
            continue
        frame = cv2.cvtColor(buffer.data[frame_meta.batch_id], cv2.COLOR_RGBA2BGR)  # a copy, before the OSD draws
        objs = [o for o in frame_meta.obj_meta_list if o.confidence >= MIN_CONFIDENCE]
        k = 0
        for obj in objs:
            r = obj.rect_params
            x0, y0 = max(0, int(r.left)), max(0, int(r.top))
            x1, y1 = min(frame.shape[1], int(r.left + r.width)), min(frame.shape[0], int(r.top + r.height))
            if x1 <= x0 or y1 <= y0:
                continue
            path = state["folder"] / f"stream_{frame_meta.pad_index}" / f"frame_{frame_meta.frame_num}_obj_{k}_{obj.obj_label}.jpg"
            cv2.imwrite(str(path), frame[y0:y1, x0:x1])
            print(f"Frame Number={frame_meta.frame_num} Source={frame_meta.pad_index} saved {path} ({x1 - x0}x{y1 - y0})")
            state["total"] += 1
            k += 1
    return PadProbeReturn.OK


def main(args):
    if len(args) < 3:
        sys.stderr.write(f"usage: {args[0]} <uri1> [uri2] ... [uriN] <folder to save crops>\n")
        return 1
    folder = Path(args[-1])
    uris = [a if "://" in a else Path(a).resolve().as_uri() for a in args[1:-1]]
    n = len(uris)
    for i in range(n):
        (folder / f"stream_{i}").mkdir(parents=True, exist_ok=True)
    sources = " ".join(f'uridecodebin uri="{uri}" ! m.sink_{i}' for i, uri in enumerate(uris))
    pipeline = vistream.parse_launch(
        f"{sources} nvstreammux name=m batch-size={n} width=1280 height=720 batched-push-timeout=4000000 ! "
        f'nvinfer batch-size={n} config-file-path="{CONFIGS / "config_infer_primary_yoloX.txt"}" ! '
        "nvvideoconvert ! video/x-raw(memory:NVMM),format=RGBA ! "
        f"nvmultistreamtiler name=tiler rows=1 columns={n} width=1280 height=720 ! nvvideoconvert ! nvdsosd ! "
        "nveglglessink")
    state = {"folder": folder, "total": 0}
    pipeline.get_by_name("tiler").get_static_pad("sink").add_probe(PadProbeType.BUFFER, save_crops, state)
    try:
        pipeline.run()
    except vistream.PipelineError as e:
        sys.stderr.write(f"Error: {e}\n")
        return 1
    print("End-of-stream")
    print(f"Saved {state['total']} crops to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
