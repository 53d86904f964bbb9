"""Fixtures of the compat tests: the samples as importable modules, an H.264 elementary stream."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import av
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "python"


def load_sample(relpath: str):
    """Import a sample script (file names may contain dashes) as a module."""
    path = SAMPLES / relpath
    name = "sample_" + relpath.replace("/", "_").replace("-", "_").removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def traffic_h264(short_clips, tmp_path_factory) -> Path:
    """The short traffic clip as an H.264 elementary stream (Annex B), as deepstream-test1 reads."""
    out = tmp_path_factory.mktemp("h264") / "traffic.h264"
    with av.open(str(short_clips[0])) as inp, open(out, "wb") as f:
        stream = inp.streams.video[0]
        bsf = av.bitstream.BitStreamFilterContext("h264_mp4toannexb", stream)
        for packet in inp.demux(stream):
            for p in bsf.filter(packet if packet.size else None):
                f.write(bytes(p))
    return out


SHORT_FRAMES = 25  # an I frame and six groups of P + 3 B frames: every frame decodes


@pytest.fixture(scope="session")
def short_clips(tmp_path_factory) -> tuple[Path, Path]:
    """The first 25 frames of traffic_48.mp4 and people_48.mp4 (stream copy), for the multi-stream samples."""
    folder = tmp_path_factory.mktemp("short")
    out = []
    for name in ("traffic", "people"):
        dst = folder / f"{name}_{SHORT_FRAMES}.mp4"
        with av.open(str(ROOT / "tests" / "data" / f"{name}_48.mp4")) as inp, av.open(str(dst), "w") as outp:
            src = inp.streams.video[0]
            stream = outp.add_stream_from_template(src)
            for i, packet in enumerate(inp.demux(src)):
                if i >= SHORT_FRAMES or packet.size == 0:
                    break
                packet.stream = stream
                outp.mux(packet)
        out.append(dst)
    with av.open(str(out[0])) as c:
        assert sum(1 for _ in c.decode(video=0)) == SHORT_FRAMES
    return out[0], out[1]
