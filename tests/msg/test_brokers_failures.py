"""Failures against real brokers: refused credentials, nothing listening, a process restart with a full spool,
and commands received by MsgConsumer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.msg.collectors import COLLECTORS, PROTOCOLS
from tests.servers.brokers import MosquittoServer, RedisServer, free_port
from vistream.msg import ConfigError, MsgBroker, MsgConsumer

ROOT = Path(__file__).resolve().parents[2]


def wait(pred, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def adapter_cfg(tmp_path, text: str) -> Path:
    p = tmp_path / f"cfg-{uuid.uuid4().hex[:6]}.txt"
    p.write_text("[message-broker]\n" + text)
    return p


@pytest.mark.server
@pytest.mark.parametrize("protocol", ["mqtt", "amqp", "redis"])
def test_auth_failure_reported_and_spooled_then_delivered(protocol, broker_pool, tmp_path):
    """Wrong credentials: a clear error naming the broker, nothing lost; the same spool file delivers every
    message once a broker with the right credentials opens it (a restart with a corrected config)."""
    own = None
    if protocol == "mqtt":
        own = MosquittoServer(users={"ds": "secret"}).start()
        port, bad, good = own.port, "username=ds\npassword=wrong\n", "username=ds\npassword=secret\n"
    elif protocol == "redis":
        own = RedisServer(password="secret").start()
        port, bad, good = own.port, "password=wrong\n", "password=secret\n"
    else:
        port, bad, good = broker_pool.get("amqp").port, "username=guest\npassword=wrong\n", ""
    topic = f"auth-{protocol}-{uuid.uuid4().hex[:6]}"
    spool = tmp_path / "spool.db"
    try:
        broker = MsgBroker(protocol, f"127.0.0.1;{port}", topic=topic, config=adapter_cfg(tmp_path, bad),
                           spool_path=spool, retry_max_ms=300)
        for i in range(30):
            broker.publish(json.dumps({"seq": i}))
        assert wait(lambda: broker.stats.auth_failed, 10), broker.stats
        st = broker.stats
        assert not st.connected and st.sent == 0 and st.pending == 30 and st.spooled == 30
        assert f"127.0.0.1:{port}" in st.last_error and protocol in st.last_error
        assert any(w in st.last_error.lower() for w in ("auth", "password", "not authori", "wrongpass")), st.last_error
        broker.close(timeout=0.2)

        collector = COLLECTORS[protocol](port, topic)
        if protocol == "mqtt":  # the collector also needs the credentials
            collector = _AuthMqttCollector(port, topic)
        if protocol == "redis":
            collector = _AuthRedisCollector(port, topic)
        collector.start()
        fixed = MsgBroker(protocol, f"127.0.0.1;{port}", topic=topic, config=adapter_cfg(tmp_path, good) if good else None,
                          spool_path=spool)
        assert fixed.stats.pending == 30
        assert fixed.flush(15), fixed.stats
        assert collector.wait_for(lambda c: c.count() >= 30, 10)
        fixed.close()
        collector.close()
        assert sorted(json.loads(p)["seq"] for p in collector.payloads) == list(range(30))
    finally:
        if own is not None:
            own.close()


class _AuthMqttCollector(COLLECTORS["mqtt"]):
    def _consume(self) -> None:
        import paho.mqtt.client as mqtt

        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        c.username_pw_set("ds", "secret")
        c.on_connect = lambda client, *a: client.subscribe(self.topic, qos=1)
        c.on_subscribe = lambda *a: self.ready.set()
        c.on_message = lambda client, u, msg: self._add(msg.payload)
        c.connect("127.0.0.1", self.port)
        c.loop_start()
        try:
            self._stop.wait()
        finally:
            c.disconnect()
            c.loop_stop()


class _AuthRedisCollector(COLLECTORS["redis"]):
    def _consume(self) -> None:
        import redis

        r = redis.Redis("127.0.0.1", self.port, password="secret")
        self.ready.set()
        while not self._stop.is_set():
            for _s, items in r.xread({self.topic: self.last}, count=500, block=100) or []:
                for entry_id, fields in items:
                    self._add(fields[b"metadata"])
                    self.last = entry_id
        r.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_nothing_listening_keeps_spooling(protocol, tmp_path):
    port = free_port()
    broker = MsgBroker(protocol, f"127.0.0.1;{port}", topic="t", spool_path=tmp_path / "s.db", retry_max_ms=200,
                       send_timeout=1.0)
    try:
        t = time.perf_counter()
        for i in range(100):
            broker.publish(b'{"i": %d}' % i)
        assert time.perf_counter() - t < 2.0  # publishing never waits for the broker
        assert wait(lambda: broker.stats.last_error != "", 10)
        st = broker.stats
        assert f"127.0.0.1:{port}" in st.last_error and not st.connected and not st.auth_failed
        assert "refused" in st.last_error.lower() or "transport" in st.last_error.lower(), st.last_error
        assert st.pending == 100 and st.sent == 0
    finally:
        broker.close(timeout=0.1)


@pytest.mark.parametrize("conn_str, msg", [
    ("localhost", "expected 'host;port'"), ("localhost;port", "is not a number"), ("h;99999", "out of range"),
    ("a;1;b;c", "expected 'host;port'"),
])
def test_bad_conn_str_is_a_clear_error(conn_str, msg, tmp_path):
    with pytest.raises(ConfigError, match="conn-str") as e:
        MsgBroker("mqtt", conn_str, topic="t", spool_path=tmp_path / "s.db")
    assert msg in str(e.value)


CHILD = """
import os, signal, sys
sys.path.insert(0, {root!r})
from vistream.msg import MsgBroker
b = MsgBroker("redis", "127.0.0.1;{port}", topic="{topic}", spool_path={spool!r}, start=False)
for i in range(40):
    b.publish(b'{{"seq": %d}}' % i)
os.kill(os.getpid(), signal.SIGKILL)  # a crash: no close, no flush
"""


@pytest.mark.server
@pytest.mark.parametrize("protocol", ["redis"])
def test_spool_survives_process_crash(protocol, server, tmp_path):
    topic = f"crash-{uuid.uuid4().hex[:6]}"
    spool = str(tmp_path / "spool.db")
    code = CHILD.format(root=str(ROOT), port=server.port, topic=topic, spool=spool)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, env=dict(os.environ))
    assert r.returncode == -9, r.stderr.decode()
    collector = COLLECTORS["redis"](server.port, topic).start()
    broker = MsgBroker("redis", f"127.0.0.1;{server.port}", topic=topic, spool_path=spool)
    try:
        assert broker.stats.pending == 40
        assert broker.flush(10)
        assert collector.wait_for(lambda c: c.count() >= 40, 10)
    finally:
        broker.close()
        collector.close()
    assert sorted(json.loads(p)["seq"] for p in collector.payloads) == list(range(40))


@pytest.mark.server
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_consumer_hands_commands_to_the_app(protocol, server, tmp_path):
    topic = f"cmd-{protocol}-{uuid.uuid4().hex[:6]}"
    if protocol == "kafka":
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{server.port}"})  # kept alive until done
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(10)
    got = []
    invalid = []
    consumer = MsgConsumer(protocol, f"127.0.0.1;{server.port}", subscribe_topic_list=f"{topic};other-{topic}",
                           callback=got.append, sensor_list_file=ROOT / "samples/configs/msgconv/msgconv_config.txt",
                           on_invalid=lambda t, p, e: invalid.append(str(e)))
    try:
        assert consumer.connected.wait(20), consumer.last_error
        sender = MsgBroker(protocol, f"127.0.0.1;{server.port}", topic=topic, spool_path=tmp_path / "s.db")
        sensor = "HWY_20_AND_LOCUST__WBA__4_11_2018_4_59_59_379_AM_UTC-07_00"
        sender.publish(json.dumps({"command": "start-recording", "start": "2020-05-18T20:02:00.051Z",
                                   "end": "2020-05-18T20:02:02.851Z", "sensor": {"id": sensor}}))
        sender.publish(b"not json")
        sender.publish(json.dumps({"command": "stop-recording", "sensor": {"id": "3"}}))
        assert sender.flush(10)
        sender.close()
        assert wait(lambda: len(got) == 2 and len(invalid) == 1, 15), (got, invalid)
    finally:
        consumer.close()
    start, stop = got
    assert (start.command, start.sensor_id, start.source_id) == ("start-recording", sensor, 1)
    assert (start.start, start.end, start.topic) == ("2020-05-18T20:02:00.051Z", "2020-05-18T20:02:02.851Z", topic)
    assert (stop.command, stop.source_id, stop.known) == ("stop-recording", 3, True)
    assert consumer.received == 2 and consumer.invalid == 1 and "not JSON" in invalid[0]


@pytest.mark.server
def test_mqtt_over_tls(tmp_path):
    """enable-tls with tls-cafile: delivered over TLS; a wrong CA is a clear certificate error."""
    import paho.mqtt.client as mqtt

    with MosquittoServer(tls=True) as srv:
        topic = "tls-events"
        got: list[bytes] = []
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        sub.tls_set(ca_certs=str(srv.ca_file))
        subscribed = threading.Event()
        sub.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
        sub.on_subscribe = lambda *a: subscribed.set()
        sub.on_message = lambda c, u, m: got.append(m.payload)
        sub.connect("127.0.0.1", srv.port)
        sub.loop_start()
        try:
            assert subscribed.wait(10)
            good = adapter_cfg(tmp_path, f"enable-tls=1\ntls-cafile={srv.ca_file}\n")
            broker = MsgBroker("mqtt", f"127.0.0.1;{srv.port}", topic=topic, config=good, spool_path=tmp_path / "a.db")
            for i in range(20):
                broker.publish(json.dumps({"seq": i}))
            assert broker.flush(10), broker.stats
            broker.close()
            assert wait(lambda: len(got) >= 20, 10)
            assert sorted(json.loads(p)["seq"] for p in got) == list(range(20))
        finally:
            sub.disconnect()
            sub.loop_stop()
        other_ca = MosquittoServer(tls=True)  # only for its (different) CA certificate
        other_ca._make_certs()
        bad = adapter_cfg(tmp_path, f"enable-tls=1\ntls-cafile={other_ca.ca_file}\n")
        broker = MsgBroker("mqtt", f"127.0.0.1;{srv.port}", topic=topic, config=bad, spool_path=tmp_path / "b.db",
                           retry_max_ms=300)
        broker.publish(b"{}")
        assert wait(lambda: broker.stats.last_error != "", 10)
        assert "certificate verify failed" in broker.stats.last_error and broker.stats.pending == 1
        broker.close(timeout=0)
        other_ca.close()


@pytest.mark.server
@pytest.mark.parametrize("server_cls, protocol", [(MosquittoServer, "mqtt"), (RedisServer, "redis")])
def test_consumer_resubscribes_after_broker_restart(server_cls, protocol, tmp_path):
    got = []
    with server_cls() as srv:
        consumer = MsgConsumer(protocol, f"127.0.0.1;{srv.port}", "cmds", got.append, retry_max_ms=300)
        try:
            assert consumer.connected.wait(10)
            srv.stop()
            assert wait(lambda: not consumer.connected.is_set(), 10)
            assert f"127.0.0.1:{srv.port}" in consumer.last_error
            srv.start()
            assert consumer.connected.wait(10), consumer.last_error
            sender = MsgBroker(protocol, f"127.0.0.1;{srv.port}", topic="cmds", spool_path=tmp_path / "s.db")
            sender.publish(b'{"command": "stop-recording", "sensor": {"id": "0"}}')
            assert sender.flush(10)
            sender.close()
            assert wait(lambda: len(got) == 1, 10)
        finally:
            consumer.close()
    assert got[0].command == "stop-recording" and got[0].source_id == 0
