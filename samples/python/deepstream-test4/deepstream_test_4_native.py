#!/usr/bin/env python3
"""deepstream-test4 with vistream's own API: the same pipeline, events and output as ``deepstream_test_4.py``.

    python samples/python/deepstream-test4/deepstream_test_4_native.py -i samples/videos/traffic_overhead_640x360.h264 \
        -p mqtt --conn-str "localhost;1883" -t vistream-test4
"""

import argparse
import sys
from pathlib import Path

import vistream
from vistream import PadProbeReturn, PadProbeType
from vistream.meta import get_batch_meta
from vistream.meta.event import (
    EventMsgMeta,
    EventType,
    ObjectType,
    PersonObject,
    VehicleObject,
    attach_event_msg,
)

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
PGIE_CLASS_ID_PERSON = 0
PGIE_CLASS_ID_VEHICLE = 2  # COCO "car"


def event_for(obj, frame_num: int) -> EventMsgMeta:
    ev = EventMsgMeta(sensorId=0, placeId=0, moduleId=0, sensorStr="sensor-0", frameId=frame_num,
                      trackingId=obj.object_id, confidence=obj.confidence, objClassId=obj.class_id)
    r = obj.rect_params
    ev.bbox.top, ev.bbox.left, ev.bbox.width, ev.bbox.height = r.top, r.left, r.width, r.height
    if obj.class_id == PGIE_CLASS_ID_VEHICLE:
        ev.type, ev.objType = EventType.MOVING, ObjectType.VEHICLE
        ev.extMsg = VehicleObject(type=obj.obj_label, color="unknown", make="unknown", model="unknown")
    else:
        ev.type, ev.objType = EventType.ENTRY, ObjectType.PERSON
        ev.extMsg = PersonObject(gender="unknown", hair="unknown", cap="unknown", apparel="unknown")
    return ev


def attach_events(pad, info, interval):
    for frame_meta in get_batch_meta(info.get_buffer()).frame_meta_list:
        if frame_meta.frame_num % interval:
            continue
        for class_id in (PGIE_CLASS_ID_VEHICLE, PGIE_CLASS_ID_PERSON):
            first = next((o for o in frame_meta.obj_meta_list if o.class_id == class_id), None)
            if first is None:
                continue
            attach_event_msg(frame_meta, event_for(first, frame_meta.frame_num))  # ts: now (or the frame's NTP time)
            r = first.rect_params
            print(f"Frame Number={frame_meta.frame_num} event for {first.obj_label} at "
                  f"({r.left:.0f},{r.top:.0f},{r.width:.0f},{r.height:.0f})")
    return PadProbeReturn.OK


def main(args):
    parser = argparse.ArgumentParser(prog=args[0], description="deepstream-test4: event messages to a broker")
    parser.add_argument("-i", "--input", required=True, help="H.264 elementary stream (or MP4 file)")
    parser.add_argument("-p", "--proto-lib", required=True, help="kafka, mqtt, amqp, redis, or module:Class")
    parser.add_argument("--conn-str", required=True, help='connection string "host;port[;topic]"')
    parser.add_argument("-t", "--topic", default=None, help="topic to publish to")
    parser.add_argument("-c", "--cfg-file", default=None, help="adapter configuration file")
    parser.add_argument("-s", "--schema-type", type=int, default=0, help="0: full DeepStream schema, 1: minimal")
    parser.add_argument("--frame-interval", type=int, default=30, help="attach events every N frames")
    opts = parser.parse_args(args[1:])
    demux = "qtdemux ! " if opts.input.endswith((".mp4", ".mov")) else ""
    broker = f'proto-lib="{opts.proto_lib}" conn-str="{opts.conn_str}"'
    broker += f' topic="{opts.topic}"' if opts.topic else ""
    broker += f' config="{opts.cfg_file}"' if opts.cfg_file else ""
    pipeline = vistream.parse_launch(
        f'filesrc location="{opts.input}" ! {demux}h264parse ! nvv4l2decoder ! '
        "m.sink_0 nvstreammux name=m batch-size=1 width=1280 height=720 batched-push-timeout=4000000 ! "
        f'nvinfer config-file-path="{CONFIGS / "config_infer_primary_yoloX.txt"}" ! nvvideoconvert ! '
        "nvdsosd name=osd ! tee name=t "
        f't. ! queue ! nvmsgconv config="{CONFIGS / "msgconv" / "msgconv_config.txt"}" '
        f"payload-type={opts.schema_type} ! nvmsgbroker {broker} sync=0 "
        "t. ! queue ! fakesink")
    pipeline["osd"].get_static_pad("sink").add_probe(PadProbeType.BUFFER, attach_events, opts.frame_interval)
    try:
        pipeline.run()
    except vistream.PipelineError as e:
        sys.stderr.write(f"Error: {e}\n")
        return 1
    print("End-of-stream")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
