#!/usr/bin/env python3
# ruff: noqa: UP031, UP032 - written in the style of the DeepStream Python apps it mirrors
"""dsexample, the custom element, in the DeepStream Python apps style (``Gst``, ``GLib``, ``pyds`` from vistream.compat).

file -> qtdemux -> h264parse -> decoder -> nvstreammux -> nvinfer (YOLOX) -> dsexample (full-frame=0: dominant
colour of each object) -> nvvideoconvert -> nvdsosd -> sink. A probe prints, per frame, each object's colour as
dsexample attached it (a classifier meta whose ``unique_component_id`` is dsexample's ``unique-id``)::

    python samples/python/deepstream-dsexample/deepstream_dsexample.py samples/videos/traffic_overhead_640x360.mp4

How to write such an element yourself: ``samples/python/dsexample_element.py``.
"""

import sys
from pathlib import Path

from vistream.compat import GLib, Gst, pyds

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DSEXAMPLE_UNIQUE_ID = 15


def osd_sink_pad_buffer_probe(pad, info, u_data):
    batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(info.get_buffer()))
    l_frame = batch_meta.frame_meta_list
    while l_frame is not None:
        frame_meta = pyds.NvDsFrameMeta.cast(l_frame.data)
        l_obj = frame_meta.obj_meta_list
        while l_obj is not None:
            obj_meta = pyds.NvDsObjectMeta.cast(l_obj.data)
            l_class = obj_meta.classifier_meta_list
            while l_class is not None:
                class_meta = pyds.NvDsClassifierMeta.cast(l_class.data)
                if class_meta.unique_component_id == DSEXAMPLE_UNIQUE_ID:
                    label_info = pyds.NvDsLabelInfo.cast(class_meta.label_info_list.data)
                    print("Frame Number={} {} at ({:.0f},{:.0f}): colour={} ({:.2f})".format(
                        frame_meta.frame_num, obj_meta.obj_label, obj_meta.rect_params.left, obj_meta.rect_params.top,
                        label_info.result_label, label_info.result_prob))
                l_class = l_class.next
            l_obj = l_obj.next
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
    if len(args) != 2:
        sys.stderr.write("usage: %s <MP4 file>\n" % args[0])
        return 1
    Gst.init(None)
    pipeline = Gst.Pipeline()
    names = ["filesrc", "qtdemux", "h264parse", "nvv4l2decoder", "nvstreammux", "nvinfer", "dsexample",
             "nvvideoconvert", "nvdsosd", "fakesink"]
    elements = [Gst.ElementFactory.make(name, name) for name in names]
    if not all(elements):
        sys.stderr.write("could not make every element\n")
        return 1
    source, _, _, decoder, streammux, pgie, dsexample, _, nvosd, _ = elements
    source.set_property("location", args[1])
    streammux.set_property("width", 1280)
    streammux.set_property("height", 720)
    streammux.set_property("batch-size", 1)
    pgie.set_property("config-file-path", str(CONFIGS / "config_infer_primary_yoloX.txt"))
    dsexample.set_property("full-frame", 0)
    dsexample.set_property("processing-width", 64)
    dsexample.set_property("processing-height", 64)
    dsexample.set_property("unique-id", DSEXAMPLE_UNIQUE_ID)
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
    nvosd.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, osd_sink_pad_buffer_probe, 0)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    pipeline.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
