"""Messages per second that MsgBroker sustains to each broker, acknowledged (at-least-once path).

Starts a private instance of each installed broker (Mosquitto, RabbitMQ, Redis, Tansu for Kafka) on a free
127.0.0.1 port, unless ``--conn proto=host;port`` names an existing one, and for each:

* ``spool/s``: how fast the pipeline side can hand messages over one by one (``publish()``: one SQLite
  transaction each);
* ``batch/s``: the same with ``publish_many()`` 30 at a time (what ``process()`` does for a frame's payloads);
* ``acked/s``: messages the broker acknowledged per second, from the first publish to an empty spool;
* ``consumed``: messages an independent consumer received (a check that acked ones really arrived).

Usage: python bench/msgbroker_rate.py [-n 5000] [--size 1000] [--proto mqtt,amqp,redis,kafka]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.msg.collectors import COLLECTORS  # noqa: E402
from tests.servers.brokers import SERVERS  # noqa: E402
from vistream.meta.event import EventMsgMeta, EventType, ObjectType, VehicleObject  # noqa: E402
from vistream.msg import MsgBroker  # noqa: E402
from vistream.msg.config import MsgConvConfig  # noqa: E402
from vistream.msg.schema import dumps, full_from_event  # noqa: E402


def payloads(n: int, size: int) -> list[bytes]:
    cfg = MsgConvConfig.load(ROOT / "samples/configs/msgconv/msgconv_config.txt")
    out = []
    for i in range(n):
        ev = EventMsgMeta(type=EventType.MOVING, objType=ObjectType.VEHICLE, trackingId=i, ts="2024-01-01T00:00:00.000Z",
                          extMsg=VehicleObject(type="sedan", color="blue"))
        ev.videoPath = "x" * max(0, size - 900)  # pad the ~900-byte full-schema message to the asked size
        out.append(dumps(full_from_event(ev, cfg)))
    return out


def run(proto: str, host: str, port: int, msgs: list[bytes], workdir: Path) -> dict:
    topic = f"bench-{proto}-{uuid.uuid4().hex[:6]}"
    collector = COLLECTORS[proto](port, topic).start()
    broker = MsgBroker(proto, f"{host};{port}", topic=topic, spool_path=workdir / f"{proto}.db", send_batch=500)
    try:
        time.sleep(0.2)
        t0 = time.perf_counter()
        for m in msgs:
            broker.publish(m)
        t_spool = time.perf_counter() - t0
        ok = broker.flush(300)
        t_all = time.perf_counter() - t0
        # pipeline-side cost of batched hand-over, measured with the sender paused (nothing competes)
        paused = MsgBroker(proto, f"{host};{port}", topic=topic + "-batch", spool_path=workdir / f"{proto}-b.db",
                           start=False)
        t1 = time.perf_counter()
        for i in range(0, len(msgs), 30):
            paused.publish_many(msgs[i:i + 30])
        t_batch = time.perf_counter() - t1
        paused.close(timeout=0)
        collector.wait_for(lambda c: c.count() >= len(msgs), 30)
        return {"proto": proto, "n": len(msgs), "spool_rate": len(msgs) / t_spool, "acked_rate": len(msgs) / t_all,
                "batch_rate": len(msgs) / t_batch,
                "drained": ok, "consumed": len({json.loads(p)["object"]["id"] for p in collector.payloads}),
                "retries": broker.stats.retries}
    finally:
        broker.close()
        collector.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=5000, help="messages per broker")
    ap.add_argument("--size", type=int, default=1000, help="approximate message size in bytes")
    ap.add_argument("--proto", default="mqtt,amqp,redis,kafka")
    ap.add_argument("--conn", action="append", default=[], help="proto=host;port of an existing broker")
    args = ap.parse_args()
    conns = dict(c.split("=", 1) for c in args.conn)
    msgs = payloads(args.n, args.size)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for proto in args.proto.split(","):
            server = None
            if proto in conns:
                host, port = conns[proto].split(";")[:2]
            else:
                if not SERVERS[proto].available():
                    print(f"{proto}: server not installed (run .ci/services.sh start)", file=sys.stderr)
                    continue
                server = SERVERS[proto]().start()
                host, port = "127.0.0.1", server.port
            try:
                rows.append(run(proto, host, int(port), msgs, Path(tmp)))
            finally:
                if server is not None:
                    server.close()
    print(f"\n{len(msgs[0])}-byte full-schema messages, {args.n} per broker\n")
    print(f"{'broker':8s} {'spool/s':>10s} {'batch/s':>10s} {'acked/s':>10s} {'consumed':>9s} {'retries':>8s}")
    for r in rows:
        print(f"{r['proto']:8s} {r['spool_rate']:10.0f} {r['batch_rate']:10.0f} {r['acked_rate']:10.0f}"
              f" {r['consumed']:>9d} {r['retries']:8d}"
              + ("" if r["drained"] else "  (not drained)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
