"""RTSP input from a real RTSP server: frames, reconnection after the camera drops, live batching."""

from __future__ import annotations

import threading
import time

import pytest

import vistream
from vistream import PadProbeReturn, PadProbeType, State
from vistream.meta import get_batch_meta

pytestmark = pytest.mark.server


class FrameLog:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frames: list[tuple[int, int, int, int]] = []  # (source_id, frame_num, width, height)

    def probe(self, pad, info, _):
        bm = get_batch_meta(info.get_buffer())
        with self.lock:
            for fm in bm.frame_meta_list:
                self.frames.append((fm.source_id, fm.frame_num, fm.source_frame_width, fm.source_frame_height))
        return PadProbeReturn.OK

    def count(self, sid: int = 0) -> int:
        with self.lock:
            return sum(1 for f in self.frames if f[0] == sid)

    def wait(self, n: int, timeout: float, sid: int = 0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(sid) >= n:
                return True
            time.sleep(0.05)
        return False


def _pipeline(uri: str, log: FrameLog, **src_props):
    p = vistream.parse_launch(
        f"nvurisrcbin name=src uri={uri} select-rtp-protocol=tcp rtsp-reconnect-interval=1 ! "
        "m.sink_0 nvstreammux name=m batch-size=1 live-source=1 batched-push-timeout=40000 ! fakesink name=sink")
    for k, v in src_props.items():
        p.get_by_name("src").set_property(k, v)
    p.get_by_name("sink").get_static_pad("sink").add_probe(PadProbeType.BUFFER, log.probe, None)
    return p


def test_reads_rtsp_and_reconnects_after_the_camera_restarts(rtsp_camera):
    log = FrameLog()
    p = _pipeline(rtsp_camera.url, log)
    messages = []
    p.get_bus().add_watch(lambda bus, msg: messages.append(msg))
    assert p.set_state(State.PLAYING) == vistream.StateChangeReturn.SUCCESS
    try:
        assert log.wait(20, 15), f"only {log.count()} frames from {rtsp_camera.url}"
        assert {(w, h) for _, _, w, h in log.frames} == {(640, 360)}
        rtsp_camera.kill()
        time.sleep(1.5)
        before = log.count()
        rtsp_camera.start()  # same port and mount
        assert log.wait(before + 20, 20), f"no frames after the camera came back ({log.count()} in all)"
    finally:
        p.set_state(State.NULL)
    nums = [n for sid, n, _, _ in log.frames if sid == 0]
    assert nums == list(range(len(nums)))  # the frame counter continues without a gap or restart
    reconnects = [m for m in messages if m.type == vistream.MessageType.ELEMENT and m.has_name("reconnect")]
    assert reconnects and reconnects[0].src_name == "src"
    assert p.get_by_name("src").reconnects >= 1
    errors = [m for m in messages if m.type == vistream.MessageType.ERROR]
    assert not errors


def test_unreachable_camera_is_an_error_naming_the_source_when_reconnect_is_off():
    from tests.servers.brokers import free_port

    log = FrameLog()
    url = f"rtsp://127.0.0.1:{free_port()}/nothing"
    p = vistream.parse_launch(f"nvurisrcbin name=src uri={url} ! m.sink_0 nvstreammux name=m batch-size=1 ! fakesink")
    with pytest.raises(vistream.PipelineError) as ei:
        p.run(timeout=30)
    assert ei.value.element == "src"
    assert url in str(ei.value)
    assert log.count() == 0


def test_rtspsrc_depay_parse_decode_and_reconnect(rtsp_camera):
    import vistream.elements.rtsp  # noqa: F401  (registers rtspsrc, rtph264depay, v4l2src)

    log = FrameLog()
    p = vistream.parse_launch(
        f"rtspsrc name=src location={rtsp_camera.url} protocols=tcp latency=200 rtsp-reconnect-interval=1 ! "
        "rtph264depay ! h264parse ! nvv4l2decoder ! m.sink_0 nvstreammux name=m batch-size=1 live-source=1 ! "
        "fakesink name=sink")
    p.get_by_name("sink").get_static_pad("sink").add_probe(PadProbeType.BUFFER, log.probe, None)
    pts: list[int] = []
    assert p.set_state(State.PLAYING) == vistream.StateChangeReturn.SUCCESS
    p.get_by_name("src").get_static_pad("stream_0").add_probe(
        PadProbeType.BUFFER, lambda pad, info, _: (pts.append(info.get_buffer().pts), PadProbeReturn.OK)[1])
    try:
        assert log.wait(20, 15)
        rtsp_camera.kill()
        time.sleep(1.0)
        before = log.count()
        rtsp_camera.start()
        assert log.wait(before + 20, 20)
    finally:
        p.set_state(State.NULL)
    assert {(w, h) for _, _, w, h in log.frames} == {(640, 360)}
    nums = [n for _, n, _, _ in log.frames]
    assert nums == list(range(len(nums)))
    assert p.get_by_name("src").reconnects >= 1
    good = [t for t in pts if t >= 0]
    assert max(good) > 1_000_000_000  # timestamps did not restart at the reconnection: they keep increasing
    assert all(b >= a - 500_000_000 for a, b in zip(good, good[1:], strict=False))


def test_rtspsrc_and_v4l2src_errors_name_the_element():
    import vistream.elements.rtsp  # noqa: F401

    p = vistream.parse_launch("rtspsrc name=cam location=http://x/y ! rtph264depay ! fakesink")
    with pytest.raises(vistream.PipelineError, match='cam.*not an rtsp:// URL'):
        p.run(timeout=10)
    p = vistream.parse_launch("v4l2src name=usb device=/dev/video97 ! fakesink")
    with pytest.raises(vistream.PipelineError, match='usb.*Cannot identify device "/dev/video97"') as ei:
        p.run(timeout=10)
    assert ei.value.element == "usb"
