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
def traffic_h264_48(tmp_path_factory) -> Path:
    """tests/data/traffic_48.mp4 as an H.264 elementary stream (Annex B), as deepstream-test1 reads."""
    out = tmp_path_factory.mktemp("h264") / "traffic_48.h264"
    with av.open(str(ROOT / "tests" / "data" / "traffic_48.mp4")) as inp, open(out, "wb") as f:
        stream = inp.streams.video[0]
        bsf = av.bitstream.BitStreamFilterContext("h264_mp4toannexb", stream)
        for packet in inp.demux(stream):
            for p in bsf.filter(packet if packet.size else None):
                f.write(bytes(p))
    return out
