#!/usr/bin/env python3
# ruff: noqa: UP031, UP032 - written in the style of the DeepStream Python apps it mirrors
"""deepstream-test5 equivalent in the DeepStream Python apps style (``Gst``, ``GLib``, ``pyds`` from vistream.compat).

nvurisrcbin per URI -> nvstreammux -> nvinfer (YOLOX) -> nvtracker (IOU) -> tee, then
queue -> nvmsgconv (msg2p-newapi: one message per tracked object, every --frame-interval frames of each source)
-> nvmsgbroker, and queue -> nvmultistreamtiler -> nvvideoconvert -> nvdsosd -> sink. A probe on the converter's
sink pad prints the objects of the frames that are sent::

    python samples/python/deepstream-test5/deepstream_test_5.py -p mqtt --conn-str "localhost;1883" -t test5 \
        samples/videos/traffic_overhead_640x360.mp4 samples/videos/people_walkway_800x450.mp4
"""

import argparse
import math
import sys
from pathlib import Path

from vistream.compat import GLib, Gst, pyds

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
MUXER_BATCH_TIMEOUT_USEC = 4000000
frame_interval = [30]


def msgconv_sink_pad_buffer_probe(pad, info, u_data):
    batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(info.get_buffer()))
    l_frame = batch_meta.frame_meta_list
    while l_frame is not None:
        frame_meta = pyds.NvDsFrameMeta.cast(l_frame.data)
        if frame_meta.frame_num % frame_interval[0] == 0:
            objects = []
            l_obj = frame_meta.obj_meta_list
            while l_obj is not None:
                obj_meta = pyds.NvDsObjectMeta.cast(l_obj.data)
                objects.append("%d:%s" % (obj_meta.object_id, obj_meta.obj_label))
                l_obj = l_obj.next
            print("Frame Number={} Source={} sent objects=[{}]".format(
                frame_meta.frame_num, frame_meta.source_id, ", ".join(objects)))
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


def parse_args(args):
    parser = argparse.ArgumentParser(prog=args[0], description="deepstream-test5: tracked objects to a broker")
    parser.add_argument("uris", nargs="+", help="files or URIs (file://, rtsp://, http://)")
    parser.add_argument("-p", "--proto-lib", required=True, help="kafka, mqtt, amqp, redis, or module:Class")
    parser.add_argument("--conn-str", required=True, help='connection string "host;port[;topic]"')
    parser.add_argument("-t", "--topic", default=None, help="topic to publish to")
    parser.add_argument("-c", "--cfg-file", default=None, help="adapter configuration file")
    parser.add_argument("-s", "--schema-type", type=int, default=0, help="0: full DeepStream schema, 1: minimal")
    parser.add_argument("--frame-interval", type=int, default=30, help="send every N frames of each source")
    return parser.parse_args(args[1:])


def main(args):
    opts = parse_args(args)
    frame_interval[0] = opts.frame_interval
    uris = [a if "://" in a else Path(a).resolve().as_uri() for a in opts.uris]
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
    tee = Gst.ElementFactory.make("tee", "nvsink-tee")
    queue1 = Gst.ElementFactory.make("queue", "nvtee-que1")
    queue2 = Gst.ElementFactory.make("queue", "nvtee-que2")
    msgconv = Gst.ElementFactory.make("nvmsgconv", "nvmsg-converter")
    msgbroker = Gst.ElementFactory.make("nvmsgbroker", "nvmsg-broker")
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
    msgconv.set_property("config", str(CONFIGS / "msgconv" / "msgconv_config.txt"))
    msgconv.set_property("payload-type", opts.schema_type)
    msgconv.set_property("msg2p-newapi", 1)
    msgconv.set_property("frame-interval", opts.frame_interval)
    msgbroker.set_property("proto-lib", opts.proto_lib)
    msgbroker.set_property("conn-str", opts.conn_str)
    if opts.topic is not None:
        msgbroker.set_property("topic", opts.topic)
    if opts.cfg_file is not None:
        msgbroker.set_property("config", opts.cfg_file)
    msgbroker.set_property("sync", False)
    rows = int(math.sqrt(number_sources))
    tiler.set_property("rows", rows)
    tiler.set_property("columns", int(math.ceil(number_sources / rows)))
    tiler.set_property("width", 1280)
    tiler.set_property("height", 720)

    for element in (pgie, tracker, tee, queue1, queue2, msgconv, msgbroker, tiler, nvvidconv, nvosd, sink):
        pipeline.add(element)
    streammux.link(pgie)
    pgie.link(tracker)
    tracker.link(tee)
    tee.request_pad_simple("src_%u").link(queue1.get_static_pad("sink"))
    tee.request_pad_simple("src_%u").link(queue2.get_static_pad("sink"))
    queue1.link(msgconv)
    msgconv.link(msgbroker)
    queue2.link(tiler)
    tiler.link(nvvidconv)
    nvvidconv.link(nvosd)
    nvosd.link(sink)

    loop = GLib.MainLoop()
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", bus_call, loop)
    msgconv.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, msgconv_sink_pad_buffer_probe, 0)

    pipeline.set_state(Gst.State.PLAYING)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    pipeline.set_state(Gst.State.NULL)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
