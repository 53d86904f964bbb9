#!/usr/bin/env python3
# ruff: noqa: UP031, UP032 - written in the style of the DeepStream Python apps it mirrors
"""deepstream-imagedata-multistream in the DeepStream Python apps style (vistream.compat's ``Gst``, ``GLib``, ``pyds``).

URIs -> nvstreammux -> nvinfer (YOLOX) -> nvvideoconvert -> capsfilter (RGBA) -> nvmultistreamtiler ->
nvvideoconvert -> nvdsosd -> sink. A probe on the tiler's sink pad reads the frame pixels with
``pyds.get_nvds_buf_surface`` and, every ``SAVE_EVERY`` frames, saves a JPEG crop of each object with
confidence >= ``MIN_CONFIDENCE`` as ``<folder>/stream_<id>/frame_<n>_obj_<k>_<label>.jpg``::

    python samples/python/deepstream-imagedata-multistream/deepstream_imagedata-multistream.py \
        samples/videos/traffic_overhead_640x360.mp4 out/crops
"""

import os
import sys
from pathlib import Path

import cv2
import numpy as np

from vistream.compat import GLib, Gst, pyds

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
MUXER_BATCH_TIMEOUT_USEC = 4000000
SAVE_EVERY = 10
MIN_CONFIDENCE = 0.5
folder_name = "out_crops"
saved_count = {"total": 0}


def tiler_sink_pad_buffer_probe(pad, info, u_data):
    gst_buffer = info.get_buffer()
    if gst_buffer is None:
        return Gst.PadProbeReturn.OK
    batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(gst_buffer))
    l_frame = batch_meta.frame_meta_list
    while l_frame is not None:
        frame_meta = pyds.NvDsFrameMeta.cast(l_frame.data)
        if frame_meta.frame_num % SAVE_EVERY == 0:
            # the frame itself, (H, W, 4) RGBA; copy it before the OSD draws on it
            n_frame = pyds.get_nvds_buf_surface(hash(gst_buffer), frame_meta.batch_id)
            frame_copy = np.array(n_frame, copy=True, order="C")
            frame_copy = cv2.cvtColor(frame_copy, cv2.COLOR_RGBA2BGR)
            k = 0
            l_obj = frame_meta.obj_meta_list
            while l_obj is not None:
                obj_meta = pyds.NvDsObjectMeta.cast(l_obj.data)
                if obj_meta.confidence >= MIN_CONFIDENCE:
                    rect = obj_meta.rect_params
                    x0, y0 = max(0, int(rect.left)), max(0, int(rect.top))
                    x1 = min(frame_copy.shape[1], int(rect.left + rect.width))
                    y1 = min(frame_copy.shape[0], int(rect.top + rect.height))
                    if x1 > x0 and y1 > y0:
                        path = os.path.join(folder_name, "stream_%d" % frame_meta.pad_index,
                                            "frame_%d_obj_%d_%s.jpg" % (frame_meta.frame_num, k, obj_meta.obj_label))
                        cv2.imwrite(path, frame_copy[y0:y1, x0:x1])
                        print("Frame Number={} Source={} saved {} ({}x{})".format(
                            frame_meta.frame_num, frame_meta.pad_index, path, x1 - x0, y1 - y0))
                        saved_count["total"] += 1
                        k += 1
                l_obj = l_obj.next
        l_frame = l_frame.next
    return Gst.PadProbeReturn.OK


def cb_newpad(decodebin, decoder_src_pad, sinkpad):
    if decoder_src_pad.query_caps().get_structure(0).get_name().startswith("video"):
        decoder_src_pad.link(sinkpad)


def bus_call(bus, message, loop):
    t = message.type
    if t == Gst.MessageType.EOS:
        sys.stdout.write("End-of-stream\n")
        loop.quit()
    elif t == Gst.MessageType.WARNING:
        err, debug = message.parse_warning()
        sys.stderr.write("Warning: %s: %s\n" % (err, debug))
    elif t == Gst.MessageType.ERROR:
        err, debug = message.parse_error()
        sys.stderr.write("Error: %s: %s\n" % (err, debug))
        loop.quit()
    return True


def main(args):
    global folder_name
    if len(args) < 3:
        sys.stderr.write("usage: %s <uri1> [uri2] ... [uriN] <folder to save crops>\n" % args[0])
        return 1
    folder_name = args[-1]
    uris = [a if "://" in a else Path(a).resolve().as_uri() for a in args[1:-1]]
    number_sources = len(uris)
    for i in range(number_sources):
        os.makedirs(os.path.join(folder_name, "stream_%d" % i), exist_ok=True)
    saved_count["total"] = 0

    Gst.init(None)
    pipeline = Gst.Pipeline()
    streammux = Gst.ElementFactory.make("nvstreammux", "Stream-muxer")
    pipeline.add(streammux)
    for i, uri in enumerate(uris):
        source = Gst.ElementFactory.make("uridecodebin", "uri-decode-bin-%d" % i)
        source.set_property("uri", uri)
        pipeline.add(source)
        source.connect("pad-added", cb_newpad, streammux.request_pad_simple("sink_%u" % i))

    pgie = Gst.ElementFactory.make("nvinfer", "primary-inference")
    nvvidconv1 = Gst.ElementFactory.make("nvvideoconvert", "convertor1")
    filter1 = Gst.ElementFactory.make("capsfilter", "filter1")
    tiler = Gst.ElementFactory.make("nvmultistreamtiler", "nvtiler")
    nvvidconv = Gst.ElementFactory.make("nvvideoconvert", "convertor")
    nvosd = Gst.ElementFactory.make("nvdsosd", "onscreendisplay")
    sink = Gst.ElementFactory.make("nveglglessink", "nvvideo-renderer")

    streammux.set_property("width", 1280)
    streammux.set_property("height", 720)
    streammux.set_property("batch-size", number_sources)
    streammux.set_property("batched-push-timeout", MUXER_BATCH_TIMEOUT_USEC)
    pgie.set_property("config-file-path", str(CONFIGS / "config_infer_primary_yoloX.txt"))
    pgie.set_property("batch-size", number_sources)
    # get_nvds_buf_surface needs RGBA frames, as in DeepStream
    filter1.set_property("caps", Gst.Caps.from_string("video/x-raw(memory:NVMM), format=RGBA"))
    tiler.set_property("rows", 1)
    tiler.set_property("columns", number_sources)
    tiler.set_property("width", 1280)
    tiler.set_property("height", 720)

    for element in (pgie, nvvidconv1, filter1, tiler, nvvidconv, nvosd, sink):
        pipeline.add(element)
    streammux.link(pgie)
    pgie.link(nvvidconv1)
    nvvidconv1.link(filter1)
    filter1.link(tiler)
    tiler.link(nvvidconv)
    nvvidconv.link(nvosd)
    nvosd.link(sink)

    loop = GLib.MainLoop()
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", bus_call, loop)
    tiler.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, tiler_sink_pad_buffer_probe, 0)

    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    pipeline.set_state(Gst.State.NULL)
    print("Saved {} crops to {}".format(saved_count["total"], folder_name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
