"""Display sinks: one clear notice and fakesink behaviour without a display; what a window is given when there
is one (through a recording stand-in for the window backend); nvegltransform passes through."""

from __future__ import annotations

import time

import numpy as np
import pytest

import vistream.elements.display as display
from vistream import Buffer, Caps, PipelineError, make_element, parse_launch
from vistream.meta import BatchMeta, FrameMeta

SINKS = ["autovideosink", "nveglglessink", "nv3dsink", "xvimagesink", "ximagesink", "glimagesink"]


@pytest.fixture
def headless(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(display.sys, "platform", "linux")


@pytest.mark.parametrize("factory", SINKS)
def test_without_a_display_the_sink_prints_one_notice_and_runs_to_eos(factory, headless, capsys):
    # 30 frames at 10 fps would take 3 s with sync on; without a display the sink must not wait
    p = parse_launch(f"videotestsrc num-buffers=30 ! video/x-raw,width=64,height=48,framerate=10/1 ! "
                     f"nvegltransform ! {factory} name=sink")
    t0 = time.monotonic()
    p.run(timeout=30)
    elapsed = time.monotonic() - t0
    err = capsys.readouterr().err
    assert err.count("no display available") == 1
    assert "sink: no display available (DISPLAY is not set); running without a window, like fakesink" in err
    assert p["sink"].rendered == 30 and p["sink"].get_property("sync") is False
    assert elapsed < 2.0


def test_explicit_sync_is_kept_without_a_display(headless, capsys):
    p = parse_launch("videotestsrc num-buffers=5 ! video/x-raw,width=16,height=16,framerate=20/1 ! "
                     "autovideosink name=sink sync=true")
    t0 = time.monotonic()
    p.run(timeout=30)
    assert time.monotonic() - t0 >= 0.18  # 5 frames at 20 fps are paced: the last is due at 0.2 s
    assert p["sink"].rendered == 5


def test_display_detection():
    assert display.display_unavailable_reason({"DISPLAY": ":0"}) is None or display.sys.platform in ("win32", "darwin")
    assert display.display_unavailable_reason({"WAYLAND_DISPLAY": "wayland-0"}) is None
    if display.sys.platform not in ("win32", "darwin"):
        assert display.display_unavailable_reason({}) == "DISPLAY is not set"
    assert isinstance(display.opencv_has_gui(), bool)


class RecordingWindow:
    """Stands in for the Tk window: records what the sink shows."""

    instances: list[RecordingWindow] = []

    def __init__(self, title, x, y, fullscreen):
        self.title, self.x, self.y, self.fullscreen = title, x, y, fullscreen
        self.shown: list[np.ndarray] = []
        self.closed = False
        self.was_closed = False
        RecordingWindow.instances.append(self)

    def show(self, rgb):
        self.shown.append(rgb)
        if len(self.shown) == 3 and self.title == "closer":
            self.closed = True  # the user closes the window after three frames

    def close(self):
        self.was_closed = True


@pytest.fixture
def fake_window(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(display, "opencv_has_gui", lambda: False)
    monkeypatch.setattr(display, "_TkWindow", RecordingWindow)
    RecordingWindow.instances = []
    return RecordingWindow


def test_window_gets_rgb_pictures_scaled_to_the_window_size(fake_window, capsys):
    p = parse_launch("videotestsrc num-buffers=4 pattern=blue ! video/x-raw,format=BGRx,width=64,height=48,"
                     "framerate=100/1 ! xvimagesink name=view window-x=10 window-y=20 window-width=128 fullscreen=true")
    p.run(timeout=30)
    (win,) = fake_window.instances
    assert (win.title, win.x, win.y, win.fullscreen, win.was_closed) == ("view", 10, 20, True, True)
    assert len(win.shown) == 4
    assert win.shown[0].shape == (96, 128, 3)  # height follows the aspect ratio
    assert win.shown[0][10, 10].tolist() == [0, 0, 255]  # blue, converted from BGRx to RGB
    assert "no display" not in capsys.readouterr().err
    assert p["view"].get_property("sync") is True  # a window plays at the stream's speed by default


def test_closing_the_window_is_an_error(fake_window):
    p = parse_launch("videotestsrc num-buffers=10 ! video/x-raw,framerate=1000/1 ! autovideosink name=closer")
    with pytest.raises(PipelineError, match="closer: Output window was closed"):
        p.run(timeout=30)


def test_a_batch_is_shown_as_a_grid():
    frames = np.stack([np.full((10, 20, 3), v, np.uint8) for v in (10, 20, 30)])
    metas = [FrameMeta(source_id=i, batch_id=i) for i in range(3)]
    buf = Buffer(frames, caps=Caps("video/x-raw", format="RGB", width=20, height=10), batch_meta=BatchMeta(3, metas))
    pic = display.to_rgb_picture(buf)
    assert pic.shape == (20, 40, 3)  # 2 x 2 grid of 20x10 tiles
    assert pic[0, 0, 0] == 10 and pic[0, 20, 0] == 20 and pic[10, 0, 0] == 30 and pic[10, 20, 0] == 0


def test_ppm_bytes_for_tk():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    data = display.ppm_bytes(rgb)
    assert data.startswith(b"P6 3 2 255\n") and data[len(b"P6 3 2 255\n"):] == rgb.tobytes()


def test_nvegltransform_is_a_pass_through():
    el = make_element("nvegltransform")
    assert el.TRANSPARENT and el.find_property("bufapi-version") is not None
