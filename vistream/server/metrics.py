"""Prometheus metrics of a :class:`~vistream.live.manager.PipelineManager`, read at scrape time."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from vistream.live.manager import PipelineManager


class ManagerCollector:
    """Exposes ``manager.stats()`` as ``vistream_*`` metrics (per stream labelled ``source_id`` and ``name``)."""

    def __init__(self, manager: PipelineManager):
        self.manager = manager

    def collect(self):
        s = self.manager.stats()
        labels = ["source_id", "name"]
        fps = GaugeMetricFamily("vistream_stream_fps", "Frames per second over the last 5 s", labels=labels)
        frames = CounterMetricFamily("vistream_stream_frames", "Frames processed", labels=labels)
        latency = GaugeMetricFamily("vistream_stream_latency_seconds",
                                    "Time from decode to analysis output (smoothed)", labels=labels)
        dropped = CounterMetricFamily("vistream_stream_dropped_frames",
                                      "Frames dropped by the muxer (live sources falling behind)", labels=labels)
        reconnects = CounterMetricFamily("vistream_stream_reconnects", "Reconnections of the source", labels=labels)
        mux_q = GaugeMetricFamily("vistream_stream_queue_frames", "Frames waiting in the muxer", labels=labels)
        up = GaugeMetricFamily("vistream_stream_up", "1 while the stream delivers frames", labels=labels)
        for st in s["streams"]:
            lv = [str(st["source_id"]), st["name"]]
            fps.add_metric(lv, st["fps"])
            frames.add_metric(lv, st["frames"])
            latency.add_metric(lv, st["latency_ms"] / 1000.0)
            dropped.add_metric(lv, st["dropped"])
            reconnects.add_metric(lv, st["reconnects"])
            mux_q.add_metric(lv, st["mux_queue"])
            up.add_metric(lv, 1.0 if st["state"] == "playing" else 0.0)
        yield from (fps, frames, latency, dropped, reconnects, mux_q, up)
        qfill = GaugeMetricFamily("vistream_queue_fill_ratio", "Queue level / capacity", labels=["queue"])
        qlevel = GaugeMetricFamily("vistream_queue_buffers", "Buffers in the queue", labels=["queue"])
        for name, q in s["queues"].items():
            qlevel.add_metric([name], q["level"])
            qfill.add_metric([name], q["level"] / q["max"] if q["max"] else 0.0)
        yield from (qlevel, qfill)
        spooled = CounterMetricFamily("vistream_messages_spooled", "Messages accepted into the spool", labels=["broker"])
        sent = CounterMetricFamily("vistream_messages_sent", "Messages acknowledged by the broker", labels=["broker"])
        pending = GaugeMetricFamily("vistream_messages_pending", "Messages waiting in the spool", labels=["broker"])
        for name, b in s["brokers"].items():
            spooled.add_metric([name], b.get("spooled", 0))
            sent.add_metric([name], b.get("sent", 0))
            pending.add_metric([name], b.get("pending", 0))
        yield from (spooled, sent, pending)
        yield CounterMetricFamily("vistream_batches", "Batches formed by the muxer", value=s["batches"])
        yield GaugeMetricFamily("vistream_streams", "Streams in the pipeline", value=len(s["streams"]))


def metrics_registry(manager: PipelineManager) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ManagerCollector(manager))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
