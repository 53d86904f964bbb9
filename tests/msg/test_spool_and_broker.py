"""Spool bounds and durability, adapter registry, and MsgBroker's retry logic against a scripted adapter."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from vistream.meta import BatchMeta, new_frame_meta
from vistream.meta.event import EventMsgMeta, attach_event_msg
from vistream.msg import (
    ConfigError,
    MsgBroker,
    MsgConverter,
    Spool,
    parse_conn_str,
    register_adapter,
    resolve_adapter,
)
from vistream.msg.adapters import AdapterError, protocol_name
from vistream.msg.adapters.kafka import json_field


def test_spool_fifo_ack_and_reopen(tmp_path):
    path = tmp_path / "s.db"
    sp = Spool(path)
    ids = [sp.put("t", b"m%d" % i, key="k") for i in range(5)]
    assert len(sp) == 5 and [e.payload for e in sp.peek(3)] == [b"m0", b"m1", b"m2"]
    assert sp.ack(ids[:2] + [999]) == 2 and len(sp) == 3
    sp.mark_attempt([ids[2]])
    sp.close()
    sp = Spool(path)  # a new process would see the same
    entries = sp.peek(10)
    assert [e.payload for e in entries] == [b"m2", b"m3", b"m4"] and entries[0].attempts == 1
    assert entries[0].key == "k" and sp.not_empty.is_set()
    assert [e.id for e in sp.peek(10, after_id=entries[0].id)] == [entries[1].id, entries[2].id]


@pytest.mark.parametrize("policy, kept", [("drop-oldest", [b"2", b"3", b"4"]), ("drop-newest", [b"0", b"1", b"2"])])
def test_spool_overflow(tmp_path, policy, kept):
    sp = Spool(tmp_path / "s.db", max_messages=3, overflow=policy)
    results = [sp.put("t", str(i).encode()) for i in range(5)]
    assert [e.payload for e in sp.peek(10)] == kept and sp.dropped == 2 and sp.total_dropped() == 2
    assert (results[3:] == [None, None]) == (policy == "drop-newest")
    with pytest.raises(ValueError, match="spool-overflow"):
        Spool(overflow="block")
    # the same in one transaction
    sp2 = Spool(tmp_path / "s2.db", max_messages=3, overflow=policy)
    ids = sp2.put_many([("t", str(i).encode(), None) for i in range(5)])
    assert [e.payload for e in sp2.peek(10)] == kept and sp2.dropped == 2 and sp2.total_dropped() == 2
    assert (ids[3:] == [None, None]) == (policy == "drop-newest") and len(sp2) == 3


def test_proto_lib_names():
    assert protocol_name("/opt/nvidia/deepstream/deepstream/lib/libnvds_kafka_proto.so") == "kafka"
    assert protocol_name("libnvds_redis_proto.so") == "redis" and protocol_name("amqp") == "amqp"
    assert resolve_adapter("libnvds_mqtt_proto.so").__name__ == "MqttAdapter"
    with pytest.raises(ConfigError, match="Azure IoT adapters are not available"):
        resolve_adapter("/opt/nvidia/deepstream/deepstream/lib/libnvds_azure_edge_proto.so")
    with pytest.raises(ConfigError, match="not a known adapter"):
        resolve_adapter("libnvds_zeromq_proto.so")
    with pytest.raises(ConfigError, match="cannot import"):
        resolve_adapter("no.such.module:Adapter")
    assert resolve_adapter("vistream.msg.adapters.redis:RedisAdapter").protocol == "redis"
    with pytest.raises(TypeError, match="lacks"):
        register_adapter("broken", object)


def test_conn_str():
    c = parse_conn_str("broker.local;9092;events")
    assert (c.host, c.port, c.topic) == ("broker.local", 9092, "events")
    assert parse_conn_str("h:1883").port == 1883 and parse_conn_str("", "redis").port == 6379


def test_kafka_producer_settings(tmp_path):
    from vistream.msg.adapters.kafka import KafkaAdapter
    from vistream.msg.config import AdapterConfig

    cfg = tmp_path / "k.txt"
    cfg.write_text('[message-broker]\nproto-cfg = "retries=9;linger.ms=1"\npartition-key=sensor.id\n')
    c = KafkaAdapter(parse_conn_str("k;9092"), AdapterConfig.load(cfg, "kafka")).producer_config(3.0)
    assert (c["bootstrap.servers"], c["acks"], c["message.timeout.ms"]) == ("k:9092", "all", 3000)
    assert (c["retries"], c["linger.ms"], c["partitioner"]) == ("9", "1", "murmur2_random")


def test_kafka_partition_key_field():
    assert json_field(b'{"sensor": {"id": "cam-1"}}', "sensor.id") == "cam-1"
    assert json_field(b'{"sensor": {"id": 3}}', "sensor.id") == "3" and json_field(b"[]", "sensor.id") is None


class ScriptedAdapter:
    """An in-memory adapter: connect fails ``fail_connects`` times, then publish fails ``fail_publishes`` times
    (after acknowledging ``partial`` entries), then everything is acknowledged."""

    protocol = "scripted"
    instances: list[ScriptedAdapter] = []

    def __init__(self, conn, config):
        self.fail_connects, self.fail_publishes, self.partial = 2, 1, 1
        self.received: list[bytes] = []
        self.connects = 0
        self.lock = threading.Lock()
        ScriptedAdapter.instances.append(self)

    def connect(self, timeout):
        self.connects += 1
        if self.fail_connects:
            self.fail_connects -= 1
            raise AdapterError("scripted: refused", auth=self.connects == 1)

    def publish(self, entries, timeout):
        with self.lock:
            if self.fail_publishes:
                self.fail_publishes -= 1
                # the first entries reach the broker but the acks are lost: they will come again
                self.received += [e.payload for e in entries[:self.partial]]
                raise AdapterError("scripted: connection lost")
            self.received += [e.payload for e in entries]
            return [e.id for e in entries]

    def close(self):
        pass


def test_broker_retries_until_acknowledged(tmp_path):
    register_adapter("scripted", ScriptedAdapter)
    b = MsgBroker("scripted", "h;1", topic="t", spool_path=tmp_path / "s.db", retry_initial_ms=10,
                  retry_max_ms=40, send_batch=4)
    try:
        for i in range(10):
            b.publish(b"%d" % i)
        assert b.flush(5), b.stats
    finally:
        b.close()
    a = ScriptedAdapter.instances[-1]
    got = [int(x) for x in a.received]
    assert sorted(set(got)) == list(range(10)) and got.count(0) == 2  # message 0's ack was lost: resent
    st = b.stats
    assert (st.spooled, st.sent, st.pending, st.dropped) == (10, 10, 0, 0)
    assert st.retries == 4  # the whole first batch of 4 went out again
    assert a.connects == 4 and st.reconnects == 2 and st.connected and st.last_error == "scripted: connection lost"


def test_broker_sends_converter_payloads_by_comp_id(tmp_path):
    register_adapter("scripted", ScriptedAdapter)
    batch = BatchMeta(frame_meta_list=[new_frame_meta(0, 1, 0, 640, 480)])
    for comp in (1, 2, 2):
        attach_event_msg(batch.frame_meta_list[0], EventMsgMeta(componentId=comp))
    MsgConverter(comp_id=2).process(batch)
    MsgConverter(comp_id=1).process(batch)
    b = MsgBroker("scripted", "h;1", topic="t", comp_id=1, spool_path=tmp_path / "s.db", start=False)
    assert b.process(batch) == 1
    b2 = MsgBroker("scripted", "h;1", topic="t", spool_path=tmp_path / "s2.db", start=False)
    assert b2.process(batch) == 3
    b.close(), b2.close()


def test_broker_overflow_is_counted(tmp_path):
    register_adapter("scripted", ScriptedAdapter)
    b = MsgBroker("scripted", "h;1", topic="t", spool_path=tmp_path / "s.db", spool_max_messages=5,
                  spool_overflow="drop-newest", start=False)
    for i in range(8):
        b.publish(b"%d" % i)
    assert (b.stats.spooled, b.stats.dropped, b.stats.pending) == (5, 3, 5)
    b.close(timeout=0)


def test_broker_property_errors(tmp_path):
    with pytest.raises(ConfigError, match="no topic"):
        MsgBroker("mqtt", "h;1", spool_path=tmp_path / "s.db")
    cfg = tmp_path / "cfg.txt"
    cfg.write_text("[message-broker]\nspool-overflow=block\n")
    with pytest.raises(ConfigError, match=rf"{cfg}:2: spool-overflow"):
        MsgBroker("mqtt", "h;1", topic="t", config=cfg, spool_path=tmp_path / "s.db")
    cfg.write_text("[message-broker]\nproto-cfg=acks=1\n")
    from vistream.msg.adapters.kafka import KafkaAdapter
    from vistream.msg.config import AdapterConfig

    with pytest.raises(ConfigError, match="acks=1 would lose at-least-once"):
        KafkaAdapter(parse_conn_str("h;1"), AdapterConfig.load(cfg, "kafka")).producer_config(1.0)


def test_publish_does_not_wait_for_a_slow_broker(tmp_path):
    class Slow(ScriptedAdapter):
        def __init__(self, conn, config):
            super().__init__(conn, config)
            self.fail_connects = self.fail_publishes = 0

        def publish(self, entries, timeout):
            time.sleep(1.0)
            return super().publish(entries, timeout)

    register_adapter("slow", Slow)
    b = MsgBroker("slow", "h;1", topic="t", spool_path=tmp_path / "s.db")
    t = time.perf_counter()
    for i in range(200):
        b.publish(b"%d" % i)
    elapsed = time.perf_counter() - t
    assert elapsed < 0.9, elapsed  # less than one slow send: nothing waited for the broker
    assert b.flush(10)
    b.close()


def test_adapter_from_entry_point(tmp_path, monkeypatch):
    """An installed package can provide an adapter through the ``vistream.msg_adapters`` entry-point group."""
    (tmp_path / "fake_adapter_pkg.py").write_text(
        "class FakeAdapter:\n    protocol = 'fakeproto'\n"
        "    def __init__(self, conn, config): pass\n"
        "    def connect(self, timeout): pass\n"
        "    def publish(self, entries, timeout): return [e.id for e in entries]\n"
        "    def close(self): pass\n")
    dist = tmp_path / "fake_adapter_pkg-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-adapter-pkg\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[vistream.msg_adapters]\nfakeproto = fake_adapter_pkg:FakeAdapter\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cls = resolve_adapter("fakeproto")
    assert cls.__name__ == "FakeAdapter"
    b = MsgBroker("fakeproto", "h;1", topic="t", spool_path=tmp_path / "s.db")
    for i in range(5):
        b.publish(b"%d" % i)
    assert b.flush(5) and b.stats.sent == 5
    b.close()


def test_missing_client_library_named(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pika", None)  # as if pika were not installed
    with pytest.raises(ConfigError, match="proto-lib='libnvds_amqp_proto.so' needs the 'pika' package"):
        MsgBroker("libnvds_amqp_proto.so", "h;1", topic="t", spool_path=tmp_path / "s.db")


def test_one_sender_per_spool_file(tmp_path, monkeypatch):
    register_adapter("scripted", ScriptedAdapter)
    a = MsgBroker("scripted", "h;1", topic="t", spool_path=tmp_path / "s.db", start=False)
    with pytest.raises(ConfigError, match="spool-path: spool .* is in use by another sender"):
        MsgBroker("scripted", "h;1", topic="t", spool_path=tmp_path / "s.db", start=False)
    a.close(timeout=0)
    MsgBroker("scripted", "h;1", topic="t", spool_path=tmp_path / "s.db", start=False).close(timeout=0)
    # default paths: a second broker to the same destination gets the next free file
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    b1 = MsgBroker("scripted", "h;1", topic="t", start=False)
    b2 = MsgBroker("scripted", "h;1", topic="t", start=False)
    assert b1.spool.path != b2.spool.path and str(tmp_path / "state") in b1.spool.path
    b1.close(timeout=0), b2.close(timeout=0)
