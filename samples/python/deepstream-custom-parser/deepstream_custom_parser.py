#!/usr/bin/env python3
# ruff: noqa: UP031, UP032 - written in the style of the DeepStream Python apps it mirrors
"""Parsing a detector's raw output in Python (the deepstream-ssd-parser pattern) with vistream.compat's ``pyds``.

file -> qtdemux -> h264parse -> decoder -> nvstreammux -> nvinfer (YOLOX-Nano, ``network-type=100``,
``output-tensor-meta=1``: no built-in parsing) -> nvvideoconvert -> nvdsosd -> sink. A probe on nvinfer's src pad
reads the raw ``[3549, 85]`` tensor through ``pyds.get_nvds_LayerInfo`` and ctypes, decodes the YOLOX grid, runs
class-wise NMS, maps the boxes back to the frame and adds them with ``pyds.nvds_acquire_obj_meta_from_pool``, so
the OSD draws them. Per frame it prints the object counts per class::

    python samples/python/deepstream-custom-parser/deepstream_custom_parser.py samples/videos/traffic_overhead_640x360.mp4
"""

import ctypes
import sys
from pathlib import Path

import cv2
import numpy as np

from vistream.compat import GLib, Gst, pyds

HERE = Path(__file__).resolve().parent
LABELS = (HERE.parents[1] / "models" / "coco80_labels.txt").read_text().splitlines()
NET_SIZE = 416  # square network input, letterboxed at the top-left corner
STRIDES = (8, 16, 32)
SCORE_THRESHOLD = 0.3
NMS_THRESHOLD = 0.45
TOP_K = 300
MUXER_WIDTH, MUXER_HEIGHT = 1280, 720
# grid cell and stride of every one of the 3549 outputs (x varies fastest)
GRID = np.concatenate([np.stack(np.meshgrid(np.arange(NET_SIZE // s), np.arange(NET_SIZE // s)), -1).reshape(-1, 2)
                       for s in STRIDES]).astype(np.float32)
GRID_STRIDE = np.concatenate([np.full((NET_SIZE // s) ** 2, s) for s in STRIDES]).astype(np.float32)[:, None]


def decode_yolox(out, frame_width, frame_height):
    """Boxes (left, top, width, height in frame pixels), scores and class ids from the raw YOLOX output."""
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
    scale = min(NET_SIZE / frame_width, NET_SIZE / frame_height)
    boxes = xyxy[picked] / scale
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, frame_width)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, frame_height)
    return boxes, score[picked], cls[picked]


def pgie_src_pad_buffer_probe(pad, info, u_data):
    gst_buffer = info.get_buffer()
    if gst_buffer is None:
        return Gst.PadProbeReturn.OK
    batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(gst_buffer))
    l_frame = batch_meta.frame_meta_list
    while l_frame is not None:
        frame_meta = pyds.NvDsFrameMeta.cast(l_frame.data)
        l_user = frame_meta.frame_user_meta_list
        while l_user is not None:
            user_meta = pyds.NvDsUserMeta.cast(l_user.data)
            if user_meta.base_meta.meta_type == pyds.NvDsMetaType.NVDSINFER_TENSOR_OUTPUT_META:
                tensor_meta = pyds.NvDsInferTensorMeta.cast(user_meta.user_meta_data)
                layer = pyds.get_nvds_LayerInfo(tensor_meta, 0)
                ptr = ctypes.cast(pyds.get_ptr(layer.buffer), ctypes.POINTER(ctypes.c_float))
                out = np.ctypeslib.as_array(ptr, shape=layer.dims)
                boxes, scores, classes = decode_yolox(out, frame_meta.source_frame_width,
                                                      frame_meta.source_frame_height)
                counts = {}
                for (x0, y0, x1, y1), score, class_id in zip(boxes, scores, classes, strict=True):
                    obj_meta = pyds.nvds_acquire_obj_meta_from_pool(batch_meta)
                    obj_meta.unique_component_id = tensor_meta.unique_id
                    obj_meta.class_id = int(class_id)
                    obj_meta.confidence = float(score)
                    obj_meta.obj_label = LABELS[class_id]
                    rect = obj_meta.rect_params
                    rect.left, rect.top, rect.width, rect.height = float(x0), float(y0), float(x1 - x0), float(y1 - y0)
                    rect.border_width = 2
                    rect.border_color.set(0.0, 1.0, 0.0, 1.0)
                    obj_meta.text_params.display_text = "%s %.2f" % (LABELS[class_id], score)
                    obj_meta.text_params.x_offset = int(x0)
                    obj_meta.text_params.y_offset = max(0, int(y0) - 12)
                    pyds.nvds_add_obj_meta_to_frame(frame_meta, obj_meta, None)
                    counts[LABELS[class_id]] = counts.get(LABELS[class_id], 0) + 1
                per_class = " ".join("%s=%d" % kv for kv in sorted(counts.items()))
                print("Frame Number={} Number of Objects={} {}".format(
                    frame_meta.frame_num, len(boxes), per_class).rstrip())
            l_user = l_user.next
        l_frame = l_frame.next
    return Gst.PadProbeReturn.OK


def bus_call(bus, message, loop):
    if message.type == Gst.MessageType.EOS:
        sys.stdout.write("End-of-stream\n")
        loop.quit()
    elif message.type == Gst.MessageType.ERROR:
        err, debug = message.parse_error()
        sys.stderr.write("Error: %s: %s\n" % (err, debug))
        loop.quit()
    return True


def main(args):
    if len(args) != 2:
        sys.stderr.write("usage: %s <MP4 file>\n" % args[0])
        return 1
    Gst.init(None)
    pipeline = Gst.Pipeline()
    names = ["filesrc", "qtdemux", "h264parse", "nvv4l2decoder", "nvstreammux", "nvinfer", "nvvideoconvert",
             "nvdsosd", "nveglglessink"]
    elements = [Gst.ElementFactory.make(name, name) for name in names]
    if not all(elements):
        sys.stderr.write("could not make every element\n")
        return 1
    source, _, _, decoder, streammux, pgie, _, _, _ = elements
    source.set_property("location", args[1])
    streammux.set_property("width", MUXER_WIDTH)
    streammux.set_property("height", MUXER_HEIGHT)
    streammux.set_property("batch-size", 1)
    pgie.set_property("config-file-path", str(HERE / "config_infer_yolox_tensor.txt"))
    for element in elements:
        pipeline.add(element)
    for up, down in zip(elements[:3], elements[1:4], strict=True):
        up.link(down)
    decoder.get_static_pad("src").link(streammux.request_pad_simple("sink_0"))
    for up, down in zip(elements[4:-1], elements[5:], strict=True):
        up.link(down)

    loop = GLib.MainLoop()
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", bus_call, loop)
    pgie.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, pgie_src_pad_buffer_probe, 0)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    pipeline.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
