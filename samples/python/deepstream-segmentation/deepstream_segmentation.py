#!/usr/bin/env python3
# ruff: noqa: UP031, UP032 - written in the style of the DeepStream Python apps it mirrors
"""deepstream-segmentation in the DeepStream Python apps style (``Gst``, ``GLib``, ``pyds`` from vistream.compat).

file -> qtdemux -> h264parse -> decoder -> nvstreammux -> nvinfer (DeepLabV3, PASCAL VOC, network-type=2) ->
fakesink. A probe reads each frame's segmentation meta (``pyds.NvDsInferSegmentationMeta``), prints the share of
every class in the mask and saves the mask in colour as ``<folder>/<frame>.png``::

    python samples/python/deepstream-segmentation/deepstream_segmentation.py \
        samples/videos/people_walkway_800x450.mp4 out/masks
"""

import os
import sys
from pathlib import Path

import cv2
import numpy as np

from vistream.compat import GLib, Gst, pyds

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
LABELS = (CONFIGS.parent / "models" / "voc21_labels.txt").read_text().split()
# one BGR colour per class (PASCAL VOC's palette)
PALETTE = np.array([[(c >> 0 & 1) << 7 | (c >> 3 & 1) << 6, (c >> 1 & 1) << 7 | (c >> 4 & 1) << 6,
                     (c >> 2 & 1) << 7] for c in range(len(LABELS))], np.uint8)[:, ::-1]
folder_name = "out_masks"


def map_mask_as_display_bgr(mask):
    """A BGR picture of a class map (pixels below the threshold, -1, are black)."""
    image = np.zeros(mask.shape + (3,), np.uint8)
    valid = mask >= 0
    image[valid] = PALETTE[mask[valid]]
    return image


def seg_src_pad_buffer_probe(pad, info, u_data):
    gst_buffer = info.get_buffer()
    if gst_buffer is None:
        return Gst.PadProbeReturn.OK
    batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(gst_buffer))
    l_frame = batch_meta.frame_meta_list
    while l_frame is not None:
        frame_meta = pyds.NvDsFrameMeta.cast(l_frame.data)
        l_user = frame_meta.frame_user_meta_list
        while l_user is not None:
            seg_user_meta = pyds.NvDsUserMeta.cast(l_user.data)
            if seg_user_meta and seg_user_meta.base_meta.meta_type == pyds.NVDSINFER_SEGMENTATION_META:
                segmeta = pyds.NvDsInferSegmentationMeta.cast(seg_user_meta.user_meta_data)
                masks = pyds.get_segmentation_masks(segmeta)
                masks = np.array(masks, copy=True, order="C")
                counts = np.bincount(masks[masks >= 0].ravel(), minlength=segmeta.classes)
                shares = " ".join("%s=%.1f%%" % (LABELS[c], 100.0 * counts[c] / masks.size)
                                  for c in np.argsort(-counts) if counts[c])
                print("Frame Number={} mask {}x{} {}".format(frame_meta.frame_num, segmeta.width, segmeta.height,
                                                             shares))
                cv2.imwrite(os.path.join(folder_name, "%d.png" % frame_meta.frame_num),
                            map_mask_as_display_bgr(masks))
            l_user = l_user.next
        l_frame = l_frame.next
    return Gst.PadProbeReturn.OK


def bus_call(bus, message, loop):
    t = message.type
    if t == Gst.MessageType.EOS:
        sys.stdout.write("End-of-stream\n")
        loop.quit()
    elif t == Gst.MessageType.ERROR:
        err, debug = message.parse_error()
        sys.stderr.write("Error: %s: %s\n" % (err, debug))
        loop.quit()
    return True


def main(args):
    global folder_name
    if len(args) != 3:
        sys.stderr.write("usage: %s <MP4 file> <folder to save masks>\n" % args[0])
        return 1
    folder_name = args[2]
    os.makedirs(folder_name, exist_ok=True)
    Gst.init(None)
    pipeline = Gst.Pipeline()
    source = Gst.ElementFactory.make("filesrc", "file-source")
    demux = Gst.ElementFactory.make("qtdemux", "demux")
    parser = Gst.ElementFactory.make("h264parse", "h264-parser")
    decoder = Gst.ElementFactory.make("nvv4l2decoder", "nvv4l2-decoder")
    streammux = Gst.ElementFactory.make("nvstreammux", "Stream-muxer")
    seg = Gst.ElementFactory.make("nvinfer", "primary-nvinference-engine")
    sink = Gst.ElementFactory.make("fakesink", "fakesink")
    source.set_property("location", args[1])
    streammux.set_property("width", 1280)
    streammux.set_property("height", 720)
    streammux.set_property("batch-size", 1)
    streammux.set_property("batched-push-timeout", 4000000)
    seg.set_property("config-file-path", str(CONFIGS / "config_infer_segmentation.txt"))
    for element in (source, demux, parser, decoder, streammux, seg, sink):
        pipeline.add(element)
    source.link(demux)
    demux.link(parser)
    parser.link(decoder)
    decoder.get_static_pad("src").link(streammux.request_pad_simple("sink_0"))
    streammux.link(seg)
    seg.link(sink)

    loop = GLib.MainLoop()
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", bus_call, loop)
    seg.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, seg_src_pad_buffer_probe, 0)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    pipeline.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
