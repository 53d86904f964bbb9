"""Shared by element tests: run buffers through ``appsrc ! elements... [! capsfilter] ! appsink``; a stand-in
for a GPU batch."""

from __future__ import annotations

import numpy as np

from vistream import Buffer, Caps, Pipeline, State, make_element


def play(elements, buffers, pipeline: Pipeline | None = None) -> Pipeline:
    """``appsrc ! elements...`` in ``pipeline`` (a new one by default), ``buffers`` pushed, played to the end."""
    p = pipeline or Pipeline()
    chain = [make_element("appsrc"), *elements]
    p.add(*chain)
    for a, b in zip(chain, chain[1:], strict=False):
        a.link(b)
    p.set_state(State.PLAYING)
    for buf in buffers:
        chain[0].push_buffer(buf)
    chain[0].end_of_stream()
    p.run(timeout=30)
    return p


def run_through(elements, buffers, caps: str | Caps | None = None) -> list[Buffer]:
    """``appsrc ! elements... [! capsfilter caps=caps] ! appsink``, played to the end; the output buffers."""
    sink = make_element("appsink")
    play([*elements, *([make_element("capsfilter", caps=caps)] if caps else []), sink], buffers)
    out = []
    while (s := sink.pull_sample(timeout=0)) is not None:
        out.append(s.get_buffer())
    return out


class DeviceBatch:
    """Stands in for a CUDA tensor batch where no GPU is present: what ``download_buffer`` and ``host_rgb_frames``
    read (``detach().cpu().numpy()``). Tests make ``vistream.elements.video.is_gpu_data`` recognise it."""

    def __init__(self, host: np.ndarray) -> None:
        self.host = host

    def detach(self) -> DeviceBatch:
        return self

    def cpu(self) -> DeviceBatch:
        return self

    def numpy(self) -> np.ndarray:
        return self.host.copy()

    def __len__(self) -> int:
        return len(self.host)
