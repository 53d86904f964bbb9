"""Shared test fixtures: paths of the real clips and models shipped in the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def traffic_clip() -> Path:
    """First 48 frames (stream copy, no re-encode) of the overhead traffic clip, 640x360."""
    return DATA / "traffic_48.mp4"


@pytest.fixture
def people_clip() -> Path:
    """First 48 frames (stream copy) of the walkway clip, 800x450."""
    return DATA / "people_48.mp4"


@pytest.fixture
def traffic_full() -> Path:
    return SAMPLES / "videos" / "traffic_overhead_640x360.mp4"


@pytest.fixture
def traffic_h264() -> Path:
    """The traffic clip as an H.264 elementary stream (480 frames), as DeepStream's samples use."""
    return SAMPLES / "videos" / "traffic_overhead_640x360.h264"


@pytest.fixture
def configs() -> Path:
    return SAMPLES / "configs"
