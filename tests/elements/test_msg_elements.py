"""nvmsgconv ! nvmsgbroker in a real pipeline, delivering DeepStream-schema events to a real Redis."""

from __future__ import annotations

import json

import pytest
import redis

from tests.servers.brokers import RedisServer
from vistream import PadProbeReturn, PadProbeType, parse_launch
from vistream.meta import EventMsgMeta, EventType, ObjectType, attach_event_msg, get_batch_meta
from vistream.msg.schema import validate

pytestmark = pytest.mark.server


def test_probe_events_reach_redis_in_the_full_schema(traffic_clip, configs, tmp_path):
    with RedisServer() as server:
        p = parse_launch(
            f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder ! m.sink_0 nvstreammux name=m batch-size=1 ! "
            f"nvinfer name=pgie config-file-path={configs}/config_infer_primary_yoloX.txt ! "
            f"nvtracker ll-config-file={configs}/tracker/config_tracker_IOU.yml ! "
            f"nvmsgconv config={configs}/msgconv/msgconv_config.txt payload-type=0 ! "
            f"nvmsgbroker proto-lib=libnvds_redis_proto.so conn-str=127.0.0.1;{server.port};ds-events "
            f"spool-path={tmp_path}/spool.db")
        sent = []

        def add_events(pad, info, _):
            # deepstream-test4 style: one event for the first object of every 10th frame
            for fm in get_batch_meta(info.get_buffer()).frame_meta_list:
                if fm.frame_num % 10 or not fm.obj_meta_list:
                    continue
                obj = fm.obj_meta_list[0]
                ev = EventMsgMeta(type=EventType.ENTRY, objType=ObjectType.VEHICLE, objClassId=obj.class_id,
                                  sensorId=0, frameId=fm.frame_num, confidence=obj.confidence,
                                  trackingId=obj.object_id, objectId=str(obj.object_id))
                ev.bbox.top, ev.bbox.left = obj.rect_params.top, obj.rect_params.left
                ev.bbox.width, ev.bbox.height = obj.rect_params.width, obj.rect_params.height
                attach_event_msg(fm, ev)
                sent.append((fm.frame_num, obj.object_id))
            return PadProbeReturn.OK

        p.get_by_name("pgie").get_static_pad("src").add_probe(PadProbeType.BUFFER, add_events)
        # the tracker runs after the probe: object ids come from the tracker in the next frames, so record
        # what was attached rather than assume
        p.run(timeout=120)
        client = redis.Redis(port=server.port)
        entries = client.xrange("ds-events")
        assert len(sent) == 5 and len(entries) == len(sent)
        payloads = [json.loads(next(v for k, v in fields.items() if k != b"key" and v.startswith(b"{")))
                    for _, fields in entries]
        for payload in payloads:
            validate(payload, "full")
            assert payload["event"]["type"] == "entry"
            assert payload["sensor"]["id"]
        boxes = [payload["object"]["bbox"] for payload in payloads]
        assert all(b["bottomrightx"] > b["topleftx"] and b["bottomrighty"] > b["toplefty"] for b in boxes)
