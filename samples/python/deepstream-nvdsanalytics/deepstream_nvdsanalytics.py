#!/usr/bin/env python3
# ruff: noqa: UP031, UP032 - written in the style of the DeepStream Python apps it mirrors
"""deepstream-nvdsanalytics in the DeepStream Python apps style (``Gst``, ``GLib``, ``pyds`` from vistream.compat).

nvurisrcbin per URI (pad-added links it to the muxer) -> nvstreammux -> nvinfer (YOLOX) -> nvtracker (IOU) ->
nvdsanalytics (ROI filtering, overcrowding, line crossing, direction) -> nvmultistreamtiler -> nvvideoconvert ->
nvdsosd -> sink. The rules in samples/configs/analytics/config_nvdsanalytics.txt are written for the walkway
clip as stream 0 and the traffic clip as stream 1. Per frame it prints the frame-level analytics counts, and
each object's direction, line crossings, overcrowding and ROI status::

    python samples/python/deepstream-nvdsanalytics/deepstream_nvdsanalytics.py \
        samples/videos/people_walkway_800x450.mp4 samples/videos/traffic_overhead_640x360.mp4
"""

import math
import sys
from pathlib import Path

from vistream.compat import GLib, Gst, pyds

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
# a batch waits this long for every source (a file source never stalls, so batches are always complete)
MUXER_BATCH_TIMEOUT_USEC = 4000000


def nvanalytics_src_pad_buffer_probe(pad, info, u_data):
    gst_buffer = info.get_buffer()
    if gst_buffer is None:
        return Gst.PadProbeReturn.OK
    batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(gst_buffer))
    l_frame = batch_meta.frame_meta_list
    while l_frame:
        frame_meta = pyds.NvDsFrameMeta.cast(l_frame.data)
        print("Frame Number={} stream id={} Number of Objects={}".format(
            frame_meta.frame_num, frame_meta.pad_index, frame_meta.num_obj_meta))
        l_obj = frame_meta.obj_meta_list
        while l_obj:
            obj_meta = pyds.NvDsObjectMeta.cast(l_obj.data)
            l_user_meta = obj_meta.obj_user_meta_list
            while l_user_meta:
                user_meta = pyds.NvDsUserMeta.cast(l_user_meta.data)
                if user_meta.base_meta.meta_type == pyds.nvds_get_user_meta_type("NVIDIA.DSANALYTICSOBJ.USER_META"):
                    user_meta_data = pyds.NvDsAnalyticsObjInfo.cast(user_meta.user_meta_data)
                    if user_meta_data.dirStatus:
                        print("  Object {} moving in direction: {}".format(obj_meta.object_id, user_meta_data.dirStatus))
                    if user_meta_data.lcStatus:
                        print("  Object {} line crossing status: {}".format(obj_meta.object_id, user_meta_data.lcStatus))
                    if user_meta_data.ocStatus:
                        print("  Object {} overcrowding status: {}".format(obj_meta.object_id, user_meta_data.ocStatus))
                    if user_meta_data.roiStatus:
                        print("  Object {} roi status: {}".format(obj_meta.object_id, user_meta_data.roiStatus))
                l_user_meta = l_user_meta.next
            l_obj = l_obj.next

        l_user = frame_meta.frame_user_meta_list
        while l_user:
            user_meta = pyds.NvDsUserMeta.cast(l_user.data)
            if user_meta.base_meta.meta_type == pyds.nvds_get_user_meta_type("NVIDIA.DSANALYTICSFRAME.USER_META"):
                user_meta_data = pyds.NvDsAnalyticsFrameMeta.cast(user_meta.user_meta_data)
                if user_meta_data.objInROIcnt:
                    print("  Objs in ROI: {}".format(user_meta_data.objInROIcnt))
                if user_meta_data.objLCCumCnt:
                    print("  Linecrossing Cumulative: {}".format(user_meta_data.objLCCumCnt))
                if user_meta_data.objLCCurrCnt:
                    print("  Linecrossing Current Frame: {}".format(user_meta_data.objLCCurrCnt))
                if user_meta_data.ocStatus:
                    print("  Overcrowding status: {}".format(user_meta_data.ocStatus))
            l_user = l_user.next
        l_frame = l_frame.next
    return Gst.PadProbeReturn.OK


def cb_newpad(decodebin, decoder_src_pad, sinkpad):
    if decoder_src_pad.query_caps().get_structure(0).get_name().startswith("video"):
        if decoder_src_pad.link(sinkpad) != Gst.PadLinkReturn.OK:
            sys.stderr.write("Failed to link %s to the muxer\n" % decodebin.get_name())


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
    if len(args) < 2:
        sys.stderr.write("usage: %s <uri1> [uri2] ... [uriN]\n" % args[0])
        return 1
    uris = [a if "://" in a else Path(a).resolve().as_uri() for a in args[1:]]
    number_sources = len(uris)
    Gst.init(None)
    pipeline = Gst.Pipeline()
    streammux = Gst.ElementFactory.make("nvstreammux", "Stream-muxer")
    pipeline.add(streammux)
    for i, uri in enumerate(uris):
        source = Gst.ElementFactory.make("nvurisrcbin", "uri-source-%d" % i)
        source.set_property("uri", uri)
        pipeline.add(source)
        source.connect("pad-added", cb_newpad, streammux.request_pad_simple("sink_%u" % i))

    pgie = Gst.ElementFactory.make("nvinfer", "primary-inference")
    tracker = Gst.ElementFactory.make("nvtracker", "tracker")
    nvanalytics = Gst.ElementFactory.make("nvdsanalytics", "analytics")
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
    tracker.set_property("ll-config-file", str(CONFIGS / "tracker" / "config_tracker_IOU.yml"))
    nvanalytics.set_property("config-file", str(CONFIGS / "analytics" / "config_nvdsanalytics.txt"))
    rows = int(math.sqrt(number_sources))
    tiler.set_property("rows", rows)
    tiler.set_property("columns", int(math.ceil(number_sources / rows)))
    tiler.set_property("width", 1280)
    tiler.set_property("height", 720)

    for element in (pgie, tracker, nvanalytics, tiler, nvvidconv, nvosd, sink):
        pipeline.add(element)
    streammux.link(pgie)
    pgie.link(tracker)
    tracker.link(nvanalytics)
    nvanalytics.link(tiler)
    tiler.link(nvvidconv)
    nvvidconv.link(nvosd)
    nvosd.link(sink)

    loop = GLib.MainLoop()
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", bus_call, loop)
    nvanalytics.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, nvanalytics_src_pad_buffer_probe, 0)

    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    pipeline.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
