"""Shared by element tests: run buffers through ``appsrc ! elements... [! capsfilter] ! appsink``."""

from __future__ import annotations

from vistream import Buffer, Caps, Pipeline, State, make_element


def run_through(elements, buffers, caps: str | Caps | None = None) -> list[Buffer]:
    """``appsrc ! elements... [! capsfilter caps=caps] ! appsink``, played to the end; the output buffers."""
    p = Pipeline()
    chain = [make_element("appsrc"), *elements]
    if caps:
        chain.append(make_element("capsfilter", caps=caps))
    chain.append(make_element("appsink"))
    p.add(*chain)
    for a, b in zip(chain, chain[1:], strict=False):
        a.link(b)
    p.set_state(State.PLAYING)
    for buf in buffers:
        chain[0].push_buffer(buf)
    chain[0].end_of_stream()
    p.run(timeout=30)
    out = []
    while (s := chain[-1].pull_sample(timeout=0)) is not None:
        out.append(s.get_buffer())
    return out
