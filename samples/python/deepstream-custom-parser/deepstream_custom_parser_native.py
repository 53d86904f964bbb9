#!/usr/bin/env python3
"""Parsing a detector's raw output in Python with vistream's own API: the same pipeline, decoding and output as
``deepstream_custom_parser.py``; the tensor is ``InferTensorMeta.output_layers_info[0].buffer``, a NumPy array.

    python samples/python/deepstream-custom-parser/deepstream_custom_parser_native.py \
        samples/videos/traffic_overhead_640x360.mp4
"""

import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

import vistream
from vistream import PadProbeReturn, PadProbeType
from vistream.meta import ColorParams, MetaType, get_batch_meta, make_object

HERE = Path(__file__).resolve().parent
LABELS = (HERE.parents[1] / "models" / "coco80_labels.txt").read_text().splitlines()
NET_SIZE = 416  # square network input, letterboxed at the top-left corner
STRIDES = (8, 16, 32)
SCORE_THRESHOLD = 0.3
NMS_THRESHOLD = 0.45
TOP_K = 300
GRID = np.concatenate([np.stack(np.meshgrid(np.arange(NET_SIZE // s), np.arange(NET_SIZE // s)), -1).reshape(-1, 2)
                       for s in STRIDES]).astype(np.float32)
GRID_STRIDE = np.concatenate([np.full((NET_SIZE // s) ** 2, s) for s in STRIDES]).astype(np.float32)[:, None]


def decode_yolox(out: np.ndarray, frame_width: int, frame_height: int):
    """Boxes (x0, y0, x1, y1 in frame pixels), scores and class ids from the raw ``[3549, 85]`` YOLOX output."""
    cls = out[:, 5:].argmax(1)
    score = out[:, 4] * out[np.arange(len(out)), 5 + cls]
    keep = score >= SCORE_THRESHOLD
    out, cls, score, grid, stride = out[keep], cls[keep], score[keep], GRID[keep], GRID_STRIDE[keep]
    centre = (out[:, :2] + grid) * stride
    size = np.exp(out[:, 2:4]) * stride
    xyxy = np.concatenate([centre - size / 2, centre + size / 2], 1)
    picked = []
    for c in np.unique(cls):  # NMS class by class, best first, at most TOP_K per class
        idx = np.nonzero(cls == c)[0]
        ltwh = np.concatenate([xyxy[idx, :2], xyxy[idx, 2:] - xyxy[idx, :2]], 1)
        kept = np.asarray(cv2.dnn.NMSBoxes(ltwh.tolist(), score[idx].tolist(), 0.0, NMS_THRESHOLD), int).reshape(-1)
        picked.extend(idx[kept[np.argsort(-score[idx][kept], kind="stable")][:TOP_K]])
    picked = np.asarray(picked, int)
    boxes = xyxy[picked] / min(NET_SIZE / frame_width, NET_SIZE / frame_height)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, frame_width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, frame_height)
    return boxes, score[picked], cls[picked]


def parse_tensors(pad, info, user_data):
    for frame_meta in get_batch_meta(info.get_buffer()).frame_meta_list:
        for um in frame_meta.user_meta_of_type(MetaType.TENSOR_OUTPUT):
            tensors = um.user_meta_data
            boxes, scores, classes = decode_yolox(tensors.output_layers_info[0].buffer,
                                                  frame_meta.source_frame_width, frame_meta.source_frame_height)
            for (x0, y0, x1, y1), score, class_id in zip(boxes, scores, classes, strict=True):
                obj = make_object(x0, y0, x1 - x0, y1 - y0, class_id=class_id, confidence=score,
                                  label=LABELS[class_id], component_id=tensors.unique_id,
                                  border_color=ColorParams(0.0, 1.0, 0.0, 1.0))
                obj.rect_params.border_width = 2
                obj.text_params.display_text = f"{LABELS[class_id]} {score:.2f}"
                frame_meta.add_obj_meta(obj)
            counts = Counter(LABELS[c] for c in classes)
            per_class = " ".join(f"{label}={n}" for label, n in sorted(counts.items()))
            print(f"Frame Number={frame_meta.frame_num} Number of Objects={len(boxes)} {per_class}".rstrip())
    return PadProbeReturn.OK


def main(args):
    if len(args) != 2:
        sys.stderr.write(f"usage: {args[0]} <MP4 file>\n")
        return 1
    pipeline = vistream.parse_launch(
        f'filesrc location="{args[1]}" ! qtdemux ! h264parse ! nvv4l2decoder ! '
        "m.sink_0 nvstreammux name=m batch-size=1 width=1280 height=720 ! "
        f'nvinfer name=pgie config-file-path="{HERE / "config_infer_yolox_tensor.txt"}" ! '
        "nvvideoconvert ! nvdsosd ! nveglglessink")
    pipeline["pgie"].get_static_pad("src").add_probe(PadProbeType.BUFFER, parse_tensors, None)
    try:
        pipeline.run()
    except vistream.PipelineError as e:
        sys.stderr.write(f"Error: {e}\n")
        return 1
    print("End-of-stream")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
