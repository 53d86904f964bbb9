#!/usr/bin/env python3
# ruff: noqa: UP031, UP032 - written in the style of the DeepStream Python apps it mirrors
"""deepstream-test1 in the DeepStream Python apps style (``Gst``, ``GLib``, ``pyds`` from vistream.compat).

file -> h264parse -> nvv4l2decoder -> nvstreammux -> nvinfer (YOLOX, COCO) -> nvvideoconvert -> nvdsosd -> sink.
A probe on the OSD's sink pad counts the objects of each class in every frame, colours their boxes, writes the
counts on the frame and prints them::

    python samples/python/deepstream-test1/deepstream_test_1.py samples/videos/traffic_overhead_640x360.h264
"""

import sys
from pathlib import Path

from vistream.compat import GLib, Gst, pyds

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
MUXER_BATCH_TIMEOUT_USEC = 33000


def osd_sink_pad_buffer_probe(pad, info, u_data):
    gst_buffer = info.get_buffer()
    if gst_buffer is None:
        return Gst.PadProbeReturn.OK
    batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(gst_buffer))
    l_frame = batch_meta.frame_meta_list
    while l_frame is not None:
        frame_meta = pyds.NvDsFrameMeta.cast(l_frame.data)
        counts = {}
        l_obj = frame_meta.obj_meta_list
        while l_obj is not None:
            obj_meta = pyds.NvDsObjectMeta.cast(l_obj.data)
            counts[obj_meta.obj_label] = counts.get(obj_meta.obj_label, 0) + 1
            obj_meta.rect_params.border_color.set(0.0, 0.0, 1.0, 0.8)
            l_obj = l_obj.next

        display_meta = pyds.nvds_acquire_display_meta_from_pool(batch_meta)
        display_meta.num_labels = 1
        py_nvosd_text_params = display_meta.text_params[0]
        per_class = " ".join(f"{label}={n}" for label, n in sorted(counts.items()))
        py_nvosd_text_params.display_text = "Frame Number={} Number of Objects={} {}".format(
            frame_meta.frame_num, frame_meta.num_obj_meta, per_class).rstrip()
        py_nvosd_text_params.x_offset = 10
        py_nvosd_text_params.y_offset = 12
        py_nvosd_text_params.font_params.font_name = "Serif"
        py_nvosd_text_params.font_params.font_size = 10
        py_nvosd_text_params.font_params.font_color.set(1.0, 1.0, 1.0, 1.0)
        py_nvosd_text_params.set_bg_clr = 1
        py_nvosd_text_params.text_bg_clr.set(0.0, 0.0, 0.0, 1.0)
        print(pyds.get_string(py_nvosd_text_params.display_text))
        pyds.nvds_add_display_meta_to_frame(frame_meta, display_meta)
        l_frame = l_frame.next
    return Gst.PadProbeReturn.OK


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
    if len(args) != 2:
        sys.stderr.write("usage: %s <H264 elementary stream or MP4 file>\n" % args[0])
        return 1
    Gst.init(None)

    pipeline = Gst.Pipeline()
    source = Gst.ElementFactory.make("filesrc", "file-source")
    demux = Gst.ElementFactory.make("qtdemux", "demux") if args[1].endswith((".mp4", ".mov")) else None
    h264parser = Gst.ElementFactory.make("h264parse", "h264-parser")
    decoder = Gst.ElementFactory.make("nvv4l2decoder", "nvv4l2-decoder")
    streammux = Gst.ElementFactory.make("nvstreammux", "Stream-muxer")
    pgie = Gst.ElementFactory.make("nvinfer", "primary-inference")
    nvvidconv = Gst.ElementFactory.make("nvvideoconvert", "convertor")
    nvosd = Gst.ElementFactory.make("nvdsosd", "onscreendisplay")
    sink = Gst.ElementFactory.make("nveglglessink", "nvvideo-renderer")
    for element in (source, h264parser, decoder, streammux, pgie, nvvidconv, nvosd, sink):
        if not element:
            sys.stderr.write("could not make every element\n")
            return 1

    print("Reading %s" % args[1])
    source.set_property("location", args[1])
    streammux.set_property("width", 1280)
    streammux.set_property("height", 720)
    streammux.set_property("batch-size", 1)
    streammux.set_property("batched-push-timeout", MUXER_BATCH_TIMEOUT_USEC)
    pgie.set_property("config-file-path", str(CONFIGS / "config_infer_primary_yoloX.txt"))

    for element in (source, demux, h264parser, decoder, streammux, pgie, nvvidconv, nvosd, sink):
        if element is not None:
            pipeline.add(element)

    if demux is not None:
        source.link(demux)
        demux.link(h264parser)
    else:
        source.link(h264parser)
    h264parser.link(decoder)
    sinkpad = streammux.request_pad_simple("sink_0")
    if not sinkpad:
        sys.stderr.write("the muxer gave no sink_0 pad\n")
        return 1
    srcpad = decoder.get_static_pad("src")
    srcpad.link(sinkpad)
    streammux.link(pgie)
    pgie.link(nvvidconv)
    nvvidconv.link(nvosd)
    nvosd.link(sink)

    loop = GLib.MainLoop()
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", bus_call, loop)

    osdsinkpad = nvosd.get_static_pad("sink")
    osdsinkpad.add_probe(Gst.PadProbeType.BUFFER, osd_sink_pad_buffer_probe, 0)

    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    pipeline.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
