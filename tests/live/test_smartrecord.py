"""Smart record: rolling cache, files of cache-before + duration-after, stream copy (bit-exact packets)."""

from __future__ import annotations

import time

import av
import pytest

import vistream
import vistream.elements.smartrecord  # noqa: F401  (registers smartrecord and the smart-record nvurisrcbin)
from vistream import PadProbeReturn, PadProbeType, State
from vistream.live.smartrecord import SmartRecorder, SmartRecordError


def _packets(path) -> list[tuple[bytes, float, bool]]:
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        return [(bytes(p), float(p.pts * st.time_base), p.is_keyframe) for p in c.demux(st) if p.size]


def test_recording_starts_at_the_keyframe_before_the_cache_window_and_copies_packets(traffic_full, tmp_path):
    # the clip (480 frames, 23.976 fps) has keyframes at packets 0 and 250 (10.43 s)
    src = _packets(traffic_full)
    p = vistream.parse_launch(
        f"filesrc location={traffic_full} ! qtdemux ! h264parse ! smartrecord name=sr smart-record=2 "
        f"smart-rec-dir-path={tmp_path} smart-rec-file-prefix=cam smart-rec-cache=5 source-id=3 ! fakesink")
    sr = p.get_by_name("sr")
    done, sessions = [], []
    sr.connect("sr-done", lambda el, info, ctx: done.append(info))
    count = [0]

    def trigger(pad, info, _):
        count[0] += 1
        if count[0] == 300:  # at 12.5 s: 1 s before (-> keyframe at 10.43 s) + 4 s after
            sessions.append(sr.emit("start-sr", 1, 4, None))
        return PadProbeReturn.OK

    sr.get_static_pad("src").add_probe(PadProbeType.BUFFER, trigger)
    p.run(timeout=60)
    assert len(done) == 1
    info = done[0]
    assert info.session_id == sessions[0] and info.source_id == 3
    assert info.filename.startswith(f"cam_3_{sessions[0]}_") and info.filename.endswith(".mp4")
    out = _packets(tmp_path / info.filename)
    n = len(out)
    # stream copy: exactly the source packets from the keyframe at 250 on
    assert [d for d, _, _ in out] == [d for d, _, _ in src[250:250 + n]]
    assert out[0][2]
    # trigger packet 300 at 12.51 s + 4 s -> packets up to ~16.5 s (index ~395)
    last_pts = max(t for _, t, _ in src[250:250 + n])
    assert 16.3 < last_pts < 16.6
    assert info.frames == n and info.width == 640 and info.height == 360
    assert 5900 < info.duration < 6200  # ms: 10.43 s .. 16.5 s
    with av.open(str(tmp_path / info.filename)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == n and (frames[0].width, frames[0].height) == (640, 360)


def test_stop_before_duration_and_eos_close_open_recordings(traffic_full, tmp_path):
    p = vistream.parse_launch(
        f"filesrc location={traffic_full} ! qtdemux ! h264parse ! smartrecord name=sr smart-record=1 "
        f"smart-rec-dir-path={tmp_path} smart-rec-container=mkv ! fakesink")
    sr = p.get_by_name("sr")
    done = []
    sr.connect("sr-done", lambda el, info, ctx: done.append(info))
    count = [0]
    ids = {}

    def trigger(pad, info, _):
        count[0] += 1
        if count[0] == 1:
            ids["a"] = sr.emit("start-sr", 0, 100, None)  # longer than the clip: closed at EOS
            ids["b"] = sr.emit("start-sr", 0, 100, None)
        if count[0] == 49:
            sr.emit("stop-sr", ids["b"])
        return PadProbeReturn.OK

    sr.get_static_pad("src").add_probe(PadProbeType.BUFFER, trigger)
    p.run(timeout=60)
    by_id = {i.session_id: i for i in done}
    assert set(by_id) == {ids["a"], ids["b"]}
    # start-sr came with packet 0 (a keyframe): both start there; the stop came with packet 48
    assert by_id[ids["b"]].frames == 49
    assert by_id[ids["a"]].frames == 480  # to the end of the clip
    assert by_id[ids["b"]].filename.endswith(".mkv")
    with av.open(str(tmp_path / by_id[ids["b"]].filename)) as c:
        assert c.format.name.startswith("matroska")
        assert sum(1 for _ in c.decode(video=0)) == 49


def test_errors_are_clear(tmp_path, traffic_clip):
    with pytest.raises(SmartRecordError, match="container"):
        SmartRecorder(tmp_path, container=7)
    rec = SmartRecorder(tmp_path)
    with pytest.raises(SmartRecordError, match="no smart record session 999"):
        rec.stop(999)
    with pytest.raises(SmartRecordError, match="start_time"):
        rec.start(-1)
    el = vistream.make_element("smartrecord", "sr")
    el.start()
    with pytest.raises(vistream.ElementError, match='sr.*smart record is disabled'):
        el.emit("start-sr", 0, 5, None)


@pytest.mark.server
def test_nvurisrcbin_records_a_live_rtsp_camera(rtsp_camera, tmp_path):
    p = vistream.parse_launch(
        f"nvurisrcbin name=src uri={rtsp_camera.url} select-rtp-protocol=tcp source-id=1 smart-record=2 "
        f"smart-rec-dir-path={tmp_path} smart-rec-cache=5 smart-rec-default-duration=1 ! "
        "m.sink_0 nvstreammux name=m batch-size=1 live-source=1 ! fakesink")
    src = p.get_by_name("src")
    done = []
    src.connect("sr-done", lambda el, info, ctx: done.append(info))
    msgs = []
    p.get_bus().add_watch(lambda bus, m: msgs.append(m))
    assert p.set_state(State.PLAYING) == vistream.StateChangeReturn.SUCCESS
    try:
        time.sleep(4)  # open the stream (~2 s) and fill the cache (the camera loops a clip with one keyframe every 48 frames = 2 s)
        sid = src.emit("start-sr", 2, 0, None)  # default duration: 1 s
        deadline = time.monotonic() + 10
        while not done and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        p.set_state(State.NULL)
    assert len(done) == 1 and done[0].session_id == sid and done[0].source_id == 1
    with av.open(str(tmp_path / done[0].filename)) as c:
        frames = list(c.decode(video=0))
    # from the keyframe at or before 2 s ago (2-4 s of the looping clip) plus 1 s after the trigger
    assert 70 <= len(frames) <= 130
    assert (frames[0].width, frames[0].height) == (640, 360)
    assert any(m.type == vistream.MessageType.ELEMENT and m.has_name("sr-done") for m in msgs)
