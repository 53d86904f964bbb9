"""uridecodebin's threaded NVDEC path (FileDecoder) with a stand-in decoder: timestamps, frame numbers, drop,
errors and clean-up. No GPU needed; tests/gpu/test_elements.py runs the real decoder."""

from __future__ import annotations

import sys
import types
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vistream.core.errors import ElementError

CLIP = Path(__file__).resolve().parents[1] / "data" / "traffic_48.mp4"
av = pytest.importorskip("av", reason="the media elements need PyAV")


class _FakeFileDecoder:
    """Yields ``(nv12, pts)`` like FileDecoder: 6 frames 512 ticks apart (1/15360 s time base = 30 FPS)."""

    instances: list[_FakeFileDecoder] = []
    fail_after: int | None = None

    def __init__(self, path, gpu_id=0, drop_frame_interval=0):
        self.path, self.drop, self.closed = path, max(1, drop_frame_interval), False
        _FakeFileDecoder.instances.append(self)

    def __iter__(self):
        for k in range(0, 6, self.drop):
            if self.fail_after is not None and k >= self.fail_after:
                raise RuntimeError("cuvidDecodePicture failed")
            yield np.zeros((540, 640), np.uint8), k * 512

    def close(self):
        self.closed = True


@pytest.fixture
def fake_nvdec(monkeypatch):
    mod = types.ModuleType("vistream.gpu.nvdec")
    mod.FileDecoder = _FakeFileDecoder
    monkeypatch.setitem(sys.modules, "vistream.gpu.nvdec", mod)
    _FakeFileDecoder.instances.clear()
    _FakeFileDecoder.fail_after = None
    return _FakeFileDecoder


def _caps():
    from vistream.elements.media import encoded_caps, open_video

    container, stream = open_video(str(CLIP), "src")
    try:
        return encoded_caps(stream)
    finally:
        container.close()


def _source(**props):
    """A uridecodebin as its streaming thread sees it (not stopping, no EOS asked)."""
    from vistream import make_element

    src = make_element("uridecodebin", "src", uri=f"file://{CLIP}", **props)
    src._eos_requested = src._stopping = False
    return src


def test_threaded_file_buffers_carry_ns_timestamps_and_frame_numbers(fake_nvdec):
    src = _source()
    out = list(src._nvdec_file_buffers(str(CLIP), _caps(), Fraction(1, 15360), 1_000_000_000, 10))
    # pts ticks of 1/15360 s -> ns, after the loop offset
    assert [b.pts for b in out] == [1_000_000_000 + int(Fraction(k * 512, 15360) * 10**9) for k in range(6)]
    assert [b.frame_num for b in out] == list(range(10, 16))
    assert all(b.caps.get("format") == "NV12" and "memory:NVMM" in str(b.caps) for b in out)
    assert out[0].data.shape == (1, 540, 640) and fake_nvdec.instances[-1].closed


def test_threaded_file_buffers_drop_frames_and_name_the_file_on_errors(fake_nvdec):
    src = _source(**{"drop-frame-interval": 2})
    caps = _caps()
    out = list(src._nvdec_file_buffers(str(CLIP), caps, Fraction(1, 15360), 0, 0))
    # every 2nd frame kept: twice the frame duration, pts of frames 0, 2, 4
    assert len(out) == 3 and out[1].duration == int(1e9 / (Fraction(caps.get("framerate")) / 2))
    assert [b.pts for b in out] == [int(Fraction(k * 512, 15360) * 10**9) for k in (0, 2, 4)]
    fake_nvdec.fail_after = 2
    gen = src._nvdec_file_buffers(str(CLIP), _caps(), Fraction(1, 15360), 0, 0)
    with pytest.raises(ElementError, match=f'src: NVDEC failed decoding "{CLIP}": cuvidDecodePicture failed'):
        list(gen)
    assert fake_nvdec.instances[-1].closed
