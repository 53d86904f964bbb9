"""Per-stream frame counts and FPS of a finished (or running) pipeline."""

from __future__ import annotations

import time

from vistream.core.pipeline import Pipeline


def stream_fps(pipeline: Pipeline, elapsed: float | None = None) -> dict[int, tuple[int, float]]:
    """``{source_id: (frames, fps)}`` measured at the stream muxers (or at the sinks without a muxer)."""
    if elapsed is None:
        start = pipeline.start_time or time.monotonic()
        elapsed = (pipeline.end_time or time.monotonic()) - start
    elapsed = max(elapsed, 1e-9)
    out: dict[int, tuple[int, float]] = {}
    muxes = [e for e in pipeline.elements if e.FACTORY == "nvstreammux"]
    if muxes:
        for mux in muxes:
            for sid, st in mux.source_stats().items():
                out[sid] = (st["frames"], st["frames"] / elapsed)
        return out
    for i, sink in enumerate(e for e in pipeline.elements if e.is_sink):
        n = getattr(sink, "rendered", 0)
        out[i] = (n, n / elapsed)
    return out


def format_fps(stats: dict[int, tuple[int, float]]) -> str:
    parts = [f"stream {sid}: {n} frames, {fps:.1f} FPS" for sid, (n, fps) in sorted(stats.items())]
    total = sum(fps for _, fps in stats.values())
    return "**PERF: " + "; ".join(parts) + (f"; total {total:.1f} FPS" if len(stats) > 1 else "")
