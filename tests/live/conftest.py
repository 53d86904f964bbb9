"""Fixtures for live sources and outputs: a local RTSP camera fed from a sample clip."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # for tests.servers when run from anywhere

from tests.servers.rtsp import RtspCamera  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def rtsp_camera():
    """A camera at ``rtsp_camera.url`` playing the 48-frame traffic clip (640x360, 30 fps) in a loop."""
    cam = RtspCamera(DATA / "traffic_48.mp4").start()
    try:
        yield cam
    finally:
        cam.stop()
