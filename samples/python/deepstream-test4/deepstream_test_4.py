#!/usr/bin/env python3
# ruff: noqa: UP031, UP032 - written in the style of the DeepStream Python apps it mirrors
"""deepstream-test4 in the DeepStream Python apps style (``Gst``, ``GLib``, ``pyds`` from vistream.compat).

file -> h264parse -> decoder -> nvstreammux -> nvinfer (YOLOX) -> nvvideoconvert -> nvdsosd -> tee, then
queue -> nvmsgconv -> nvmsgbroker and queue -> sink. Every ``--frame-interval`` frames a probe attaches an event
message (``NvDsEventMsgMeta`` with a vehicle or person extension) for the first car and the first person of the
frame; nvmsgconv turns them into DeepStream-schema JSON and nvmsgbroker sends them::

    python samples/python/deepstream-test4/deepstream_test_4.py -i samples/videos/traffic_overhead_640x360.h264 \
        -p mqtt --conn-str "localhost;1883" -t vistream-test4
"""

import argparse
import sys
from pathlib import Path

from vistream.compat import GLib, Gst, pyds

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
MAX_TIME_STAMP_LEN = 32
PGIE_CLASS_ID_PERSON = 0
PGIE_CLASS_ID_VEHICLE = 2  # COCO "car"
frame_interval = [30]


def fill_vehicle(data, label):
    vehicle = pyds.NvDsVehicleObject.cast(data)
    vehicle.type = label  # what the detector saw; make, model and plate need other models
    vehicle.color = "unknown"
    vehicle.make = "unknown"
    vehicle.model = "unknown"
    vehicle.license = ""
    vehicle.region = ""
    return vehicle


def fill_person(data):
    person = pyds.NvDsPersonObject.cast(data)
    person.age = 0
    person.gender = "unknown"
    person.hair = "unknown"
    person.cap = "unknown"
    person.apparel = "unknown"
    return person


def make_event(data, obj_meta):
    event = pyds.NvDsEventMsgMeta.cast(data)
    event.sensorId = 0  # [sensor0], [place0] and [analytics0] of the msgconv config
    event.placeId = 0
    event.moduleId = 0
    event.sensorStr = "sensor-0"
    event.ts = pyds.alloc_buffer(MAX_TIME_STAMP_LEN + 1)
    pyds.generate_ts_rfc3339(event.ts, MAX_TIME_STAMP_LEN)
    event.objClassId = obj_meta.class_id
    if obj_meta.class_id == PGIE_CLASS_ID_VEHICLE:
        event.type = pyds.NvDsEventType.NVDS_EVENT_MOVING
        event.objType = pyds.NvDsObjectType.NVDS_OBJECT_TYPE_VEHICLE
        event.extMsg = fill_vehicle(pyds.alloc_nvds_vehicle_object(), obj_meta.obj_label)
        event.extMsgSize = sys.getsizeof(pyds.NvDsVehicleObject)
    else:
        event.type = pyds.NvDsEventType.NVDS_EVENT_ENTRY
        event.objType = pyds.NvDsObjectType.NVDS_OBJECT_TYPE_PERSON
        event.extMsg = fill_person(pyds.alloc_nvds_person_object())
        event.extMsgSize = sys.getsizeof(pyds.NvDsPersonObject)
    return event


def osd_sink_pad_buffer_probe(pad, info, u_data):
    gst_buffer = info.get_buffer()
    if gst_buffer is None:
        return Gst.PadProbeReturn.OK
    batch_meta = pyds.gst_buffer_get_nvds_batch_meta(hash(gst_buffer))
    l_frame = batch_meta.frame_meta_list
    while l_frame is not None:
        frame_meta = pyds.NvDsFrameMeta.cast(l_frame.data)
        frame_number = frame_meta.frame_num
        is_first_object = {PGIE_CLASS_ID_VEHICLE: True, PGIE_CLASS_ID_PERSON: True}
        l_obj = frame_meta.obj_meta_list
        while l_obj is not None:
            obj_meta = pyds.NvDsObjectMeta.cast(l_obj.data)
            # attach an event for the first car and the first person of every frame_interval-th frame
            if frame_number % frame_interval[0] == 0 and is_first_object.get(obj_meta.class_id):
                is_first_object[obj_meta.class_id] = False
                user_event_meta = pyds.nvds_acquire_user_meta_from_pool(batch_meta)
                if user_event_meta is not None:
                    msg_meta = pyds.alloc_nvds_event_msg_meta(user_event_meta)
                    msg_meta.bbox.top = obj_meta.rect_params.top
                    msg_meta.bbox.left = obj_meta.rect_params.left
                    msg_meta.bbox.width = obj_meta.rect_params.width
                    msg_meta.bbox.height = obj_meta.rect_params.height
                    msg_meta.frameId = frame_number
                    msg_meta.trackingId = obj_meta.object_id
                    msg_meta.confidence = obj_meta.confidence
                    msg_meta = make_event(msg_meta, obj_meta)
                    user_event_meta.user_meta_data = msg_meta
                    user_event_meta.base_meta.meta_type = pyds.NvDsMetaType.NVDS_EVENT_MSG_META
                    pyds.nvds_add_user_meta_to_frame(frame_meta, user_event_meta)
                    print("Frame Number={} event for {} at ({:.0f},{:.0f},{:.0f},{:.0f})".format(
                        frame_number, obj_meta.obj_label, obj_meta.rect_params.left, obj_meta.rect_params.top,
                        obj_meta.rect_params.width, obj_meta.rect_params.height))
            l_obj = l_obj.next
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


def parse_args(args):
    parser = argparse.ArgumentParser(prog=args[0], description="deepstream-test4: event messages to a broker")
    parser.add_argument("-i", "--input", required=True, help="H.264 elementary stream (or MP4 file)")
    parser.add_argument("-p", "--proto-lib", required=True, help="kafka, mqtt, amqp, redis, or module:Class")
    parser.add_argument("--conn-str", required=True, help='connection string "host;port[;topic]"')
    parser.add_argument("-t", "--topic", default=None, help="topic to publish to")
    parser.add_argument("-c", "--cfg-file", default=None, help="adapter configuration file")
    parser.add_argument("-s", "--schema-type", type=int, default=0, help="0: full DeepStream schema, 1: minimal")
    parser.add_argument("--frame-interval", type=int, default=30, help="attach events every N frames")
    return parser.parse_args(args[1:])


def main(args):
    opts = parse_args(args)
    frame_interval[0] = opts.frame_interval
    Gst.init(None)
    pipeline = Gst.Pipeline()
    source = Gst.ElementFactory.make("filesrc", "file-source")
    demux = Gst.ElementFactory.make("qtdemux", "demux") if opts.input.endswith((".mp4", ".mov")) else None
    h264parser = Gst.ElementFactory.make("h264parse", "h264-parser")
    decoder = Gst.ElementFactory.make("nvv4l2decoder", "nvv4l2-decoder")
    streammux = Gst.ElementFactory.make("nvstreammux", "Stream-muxer")
    pgie = Gst.ElementFactory.make("nvinfer", "primary-inference")
    nvvidconv = Gst.ElementFactory.make("nvvideoconvert", "convertor")
    nvosd = Gst.ElementFactory.make("nvdsosd", "onscreendisplay")
    msgconv = Gst.ElementFactory.make("nvmsgconv", "nvmsg-converter")
    msgbroker = Gst.ElementFactory.make("nvmsgbroker", "nvmsg-broker")
    tee = Gst.ElementFactory.make("tee", "nvsink-tee")
    queue1 = Gst.ElementFactory.make("queue", "nvtee-que1")
    queue2 = Gst.ElementFactory.make("queue", "nvtee-que2")
    sink = Gst.ElementFactory.make("fakesink", "fakesink")
    elements = [source, demux, h264parser, decoder, streammux, pgie, nvvidconv, nvosd, tee, queue1, queue2, msgconv,
                msgbroker, sink]
    if any(e is None for e in elements if e is not demux):
        sys.stderr.write("could not make every element\n")
        return 1

    source.set_property("location", opts.input)
    streammux.set_property("width", 1280)
    streammux.set_property("height", 720)
    streammux.set_property("batch-size", 1)
    streammux.set_property("batched-push-timeout", 4000000)
    pgie.set_property("config-file-path", str(CONFIGS / "config_infer_primary_yoloX.txt"))
    msgconv.set_property("config", str(CONFIGS / "msgconv" / "msgconv_config.txt"))
    msgconv.set_property("payload-type", opts.schema_type)
    msgbroker.set_property("proto-lib", opts.proto_lib)
    msgbroker.set_property("conn-str", opts.conn_str)
    if opts.cfg_file is not None:
        msgbroker.set_property("config", opts.cfg_file)
    if opts.topic is not None:
        msgbroker.set_property("topic", opts.topic)
    msgbroker.set_property("sync", False)

    for element in elements:
        if element is not None:
            pipeline.add(element)
    if demux is not None:
        source.link(demux)
        demux.link(h264parser)
    else:
        source.link(h264parser)
    h264parser.link(decoder)
    decoder.get_static_pad("src").link(streammux.request_pad_simple("sink_0"))
    streammux.link(pgie)
    pgie.link(nvvidconv)
    nvvidconv.link(nvosd)
    nvosd.link(tee)
    queue1.link(msgconv)
    msgconv.link(msgbroker)
    queue2.link(sink)
    tee.request_pad_simple("src_%u").link(queue1.get_static_pad("sink"))
    tee.request_pad_simple("src_%u").link(queue2.get_static_pad("sink"))

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
