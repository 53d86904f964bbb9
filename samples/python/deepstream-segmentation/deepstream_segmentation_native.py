#!/usr/bin/env python3
"""deepstream-segmentation with vistream's own API: the same pipeline, masks and output as
``deepstream_segmentation.py``.

    python samples/python/deepstream-segmentation/deepstream_segmentation_native.py \
        samples/videos/people_walkway_800x450.mp4 out/masks
"""

import sys
from pathlib import Path

import cv2
import numpy as np

import vistream
from vistream import PadProbeReturn, PadProbeType
from vistream.meta import MetaType, get_batch_meta

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
LABELS = (CONFIGS.parent / "models" / "voc21_labels.txt").read_text().split()
# one BGR colour per class (PASCAL VOC's palette)
PALETTE = np.array([[(c >> 0 & 1) << 7 | (c >> 3 & 1) << 6, (c >> 1 & 1) << 7 | (c >> 4 & 1) << 6,
                     (c >> 2 & 1) << 7] for c in range(len(LABELS))], np.uint8)[:, ::-1]


def save_masks(pad, info, folder):
    for frame_meta in get_batch_meta(info.get_buffer()).frame_meta_list:
        for um in frame_meta.user_meta_of_type(MetaType.SEGMENTATION):
            seg = um.user_meta_data
            mask = seg.class_map
            counts = np.bincount(mask[mask >= 0].ravel(), minlength=seg.classes)
            shares = " ".join(f"{LABELS[c]}={100.0 * counts[c] / mask.size:.1f}%" for c in np.argsort(-counts)
                              if counts[c])
            print(f"Frame Number={frame_meta.frame_num} mask {seg.width}x{seg.height} {shares}")
            image = np.zeros(mask.shape + (3,), np.uint8)
            image[mask >= 0] = PALETTE[mask[mask >= 0]]
            cv2.imwrite(str(folder / f"{frame_meta.frame_num}.png"), image)
    return PadProbeReturn.OK


def main(args):
    if len(args) != 3:
        sys.stderr.write(f"usage: {args[0]} <MP4 file> <folder to save masks>\n")
        return 1
    folder = Path(args[2])
    folder.mkdir(parents=True, exist_ok=True)
    pipeline = vistream.parse_launch(
        f'filesrc location="{args[1]}" ! qtdemux ! h264parse ! nvv4l2decoder ! '
        "m.sink_0 nvstreammux name=m batch-size=1 width=1280 height=720 batched-push-timeout=4000000 ! "
        f'nvinfer name=seg config-file-path="{CONFIGS / "config_infer_segmentation.txt"}" ! fakesink')
    pipeline["seg"].get_static_pad("src").add_probe(PadProbeType.BUFFER, save_masks, folder)
    try:
        pipeline.run()
    except vistream.PipelineError as e:
        sys.stderr.write(f"Error: {e}\n")
        return 1
    print("End-of-stream")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
