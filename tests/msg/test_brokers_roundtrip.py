"""Round trips through real brokers: N messages published by MsgBroker, N consumed by an independent client."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.msg.collectors import COLLECTORS, PROTOCOLS
from vistream.meta import BatchMeta, new_frame_meta
from vistream.meta.event import (
    EventMsgMeta,
    EventRect,
    EventType,
    ObjectType,
    VehicleObject,
    attach_event_msg,
)
from vistream.msg import MsgBroker, MsgConverter, validate

MSGCONV_CONFIG = Path(__file__).resolve().parents[2] / "samples/configs/msgconv/msgconv_config.txt"

DS_LIB = {"mqtt": "libnvds_mqtt_proto.so", "amqp": "/opt/nvidia/deepstream/deepstream/lib/libnvds_amqp_proto.so",
          "redis": "libnvds_redis_proto.so", "kafka": "libnvds_kafka_proto.so"}
SENSOR_A, SENSOR_B = "HWY_20_AND_LOCUST__EBA__4", "HWY_20_AND_LOCUST__WBA__4"


def event_batches(n_frames: int, per_frame: int, sensors: int = 2):
    """Batches of one frame each carrying ``per_frame`` vehicle events; tracking ids 0..n-1 in order."""
    tid = 0
    for f in range(n_frames):
        batch = BatchMeta()
        frame = new_frame_meta(f % sensors, f, f * 33_000_000, 1280, 720)
        batch.frame_meta_list.append(frame)
        for _ in range(per_frame):
            ev = EventMsgMeta(type=EventType.MOVING, objType=ObjectType.VEHICLE, sensorId=frame.source_id,
                              placeId=frame.source_id, moduleId=frame.source_id,
                              trackingId=tid, confidence=0.5, bbox=EventRect(top=10, left=tid, width=50, height=40),
                              extMsg=VehicleObject(type="sedan", color="red", license=f"L{tid}"))
            attach_event_msg(frame, ev)
            tid += 1
        yield batch


@pytest.mark.server
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_round_trip(protocol, server, tmp_path):
    topic = f"rt-{protocol}-{uuid.uuid4().hex[:6]}"
    collector = COLLECTORS[protocol](server.port, topic).start()
    conv = MsgConverter(config=MSGCONV_CONFIG, payload_type=0)
    broker = MsgBroker(DS_LIB[protocol], f"127.0.0.1;{server.port}", topic=topic, spool_path=tmp_path / "spool.db")
    try:
        n = 0
        for batch in event_batches(50, 4):
            conv.process(batch)
            n += broker.process(batch)
        assert n == 200
        assert broker.flush(20), broker.stats
        assert collector.wait_for(lambda c: c.count() >= 200, 20), (collector.count(), broker.stats)
    finally:
        broker.close()
        collector.close()
    msgs = [json.loads(p) for p in collector.payloads]
    ids = sorted(int(m["object"]["id"]) for m in msgs)
    assert ids == list(range(200)), "every event exactly once in a clean run"
    for m in msgs:
        validate(m, "full")
    assert {m["sensor"]["id"][:25] for m in msgs} == {SENSOR_A, SENSOR_B}
    assert broker.stats.sent == 200 and broker.stats.dropped == 0 and broker.stats.spooled == 200
    if protocol == "kafka":
        # Kafka semantics: the partition key (sensor.id) pins each sensor's messages to one partition
        assert {k.decode()[:25] for k in collector.partitions} == {SENSOR_A, SENSOR_B}
        assert all(len(parts) == 1 for parts in collector.partitions.values()), collector.partitions
        # ... the partition Kafka's Java producer would choose: murmur2(key) % partitions (4 here)
        for key, parts in collector.partitions.items():
            assert parts == {(murmur2(key) & 0x7FFFFFFF) % 4}, (key, parts)


def murmur2(data: bytes) -> int:
    """Kafka's ``Utils.murmur2`` (seed 0x9747b28c), as a signed 32-bit int."""
    m, r, length = 0x5BD1E995, 24, len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest = length % 4
    tail = data[length - rest:]
    if rest == 3:
        h ^= tail[2] << 16
    if rest >= 2:
        h ^= tail[1] << 8
    if rest >= 1:
        h ^= tail[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h
