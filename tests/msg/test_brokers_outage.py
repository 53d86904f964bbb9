"""At-least-once through a broker outage: every protocol's broker is stopped mid-stream for >= 10 s while
the pipeline keeps publishing; after the restart every message arrives (ids checked, duplicates counted)."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from tests.msg.collectors import COLLECTORS, PROTOCOLS
from vistream.msg import MsgBroker

OUTAGE_S = 10.0
RATE_HZ = 100


class Publisher(threading.Thread):
    """Publishes ``{"seq": i}`` at RATE_HZ, as a pipeline would, and records how long each publish took."""

    def __init__(self, broker: MsgBroker) -> None:
        super().__init__(daemon=True)
        self.broker, self.n, self.max_call_s, self.max_pending = broker, 0, 0.0, 0
        self.stop, self.hold = threading.Event(), threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            if not self.hold.is_set():
                t = time.perf_counter()
                self.broker.publish(json.dumps({"seq": self.n, "pad": "x" * 200}))
                self.max_call_s = max(self.max_call_s, time.perf_counter() - t)
                self.n += 1
                self.max_pending = max(self.max_pending, self.broker.stats.pending)
            time.sleep(1 / RATE_HZ)


def run_outage(protocol: str, server, tmp_path, report: dict) -> None:
    topic = f"outage-{protocol}-{uuid.uuid4().hex[:6]}"
    collector = COLLECTORS[protocol](server.port, topic).start()
    broker = MsgBroker(protocol, f"127.0.0.1;{server.port}", topic=topic, spool_path=tmp_path / f"{protocol}.db",
                       retry_max_ms=1000, send_timeout=3.0)
    pub = Publisher(broker)
    try:
        pub.start()
        time.sleep(1.5)
        if protocol == "kafka":
            # the Tansu broker keeps its log in memory only: a restart empties it, so everything acknowledged
            # before the outage must have reached the consumer first (publishing pauses for that moment)
            pub.hold.set()
            assert broker.flush(10)
            acked = pub.n
            assert collector.wait_for(lambda c: len({json.loads(p)["seq"] for p in c.payloads}) >= acked, 15)
        server.stop()
        t0 = time.monotonic()  # from the moment the broker is gone
        pub.hold.clear()
        # a broker that boots slowly (RabbitMQ, ~10 s) is unreachable while it boots: start it early enough
        # that the outage still lasts OUTAGE_S, not OUTAGE_S plus its boot time
        time.sleep(max(3.0, OUTAGE_S + 0.2 - 0.3 * server.boot_s))
        during = dict(broker.stats.as_dict())
        server.start()
        downtime = time.monotonic() - t0
        time.sleep(1.0)
        pub.stop.set()
        pub.join()
        assert broker.flush(40), f"{protocol}: spool not drained: {broker.stats}"
        n = pub.n
        assert collector.wait_for(lambda c: len({json.loads(p)["seq"] for p in c.payloads}) >= n, 30), \
            f"{protocol}: got {len({json.loads(p)['seq'] for p in collector.payloads})}/{n}"
    finally:
        pub.stop.set()
        broker.close()
        collector.close()
    seqs = [json.loads(p)["seq"] for p in collector.payloads]
    report.update(published=n, received=len(seqs), unique=len(set(seqs)), duplicates=len(seqs) - len(set(seqs)),
                  downtime_s=round(downtime, 1), max_publish_ms=round(pub.max_call_s * 1000, 1),
                  max_pending=pub.max_pending, during=during, stats=broker.stats.as_dict())
    assert set(seqs) == set(range(n)), f"{protocol}: missing {sorted(set(range(n)) - set(seqs))[:20]}"
    assert downtime >= OUTAGE_S
    assert not during["connected"] and during["last_error"], f"{protocol}: the outage went unnoticed: {during}"
    assert pub.max_pending >= RATE_HZ * OUTAGE_S * 0.5, f"{protocol}: messages were not spooled during the outage"
    assert pub.max_call_s < 0.5, f"{protocol}: publish() blocked for {pub.max_call_s:.3f} s"
    assert broker.stats.sent >= n and broker.stats.dropped == 0
    assert broker.stats.reconnects >= 2


@pytest.mark.server
@pytest.mark.slow
def test_outage_every_protocol(broker_pool, tmp_path):
    """All four outages run at once (each in its own thread) to keep the test near 30 s."""
    servers = {p: broker_pool.get(p) for p in PROTOCOLS}
    reports: dict[str, dict] = {p: {} for p in PROTOCOLS}
    errors: dict[str, BaseException] = {}

    def work(p):
        try:
            run_outage(p, servers[p], tmp_path, reports[p])
        except BaseException as e:  # noqa: BLE001 - collected and reported below
            errors[p] = e

    threads = [threading.Thread(target=work, args=(p,)) for p in PROTOCOLS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(150)
    for p in PROTOCOLS:
        r = reports[p]
        print(f"{p:6s} published={r.get('published')} received={r.get('received')} duplicates={r.get('duplicates')}"
              f" downtime={r.get('downtime_s')}s max_publish={r.get('max_publish_ms')}ms"
              f" max_pending={r.get('max_pending')} retries={r.get('stats', {}).get('retries')}")
    assert not errors, "; ".join(f"{p}: {e}" for p, e in errors.items())
