"""A camera that drops while another stream plays: the other stream keeps every frame, the camera's stream
comes back with the same source id, and the events and /metrics report the reconnection."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.server.server_helpers import wait_for
from vistream import PadProbeReturn, PadProbeType
from vistream.live.manager import ManagerOptions, PipelineManager
from vistream.meta import get_batch_meta
from vistream.server.app import create_app

pytestmark = pytest.mark.server
DATA = Path(__file__).resolve().parents[1] / "data"


def test_dropped_camera_reconnects_while_the_other_stream_goes_on(rtsp_camera):
    opts = ManagerOptions(uris=[str(DATA / "people_48.mp4"), rtsp_camera.url], max_streams=2, width=640,
                          height=360, view=False, rtsp_reconnect_interval=1)
    frames: dict[int, list[int]] = {0: [], 1: []}
    with PipelineManager(opts) as mgr:
        def probe(pad, info, _):
            for fm in get_batch_meta(info.get_buffer()).frame_meta_list:
                frames[fm.source_id].append(fm.frame_num)
            return PadProbeReturn.OK

        mgr.pipeline.get_by_name("sink").get_static_pad("sink").add_probe(PadProbeType.BUFFER, probe)
        assert wait_for(lambda: len(frames[1]) >= 20, 15), f"camera frames: {len(frames[1])}"
        rtsp_camera.kill()
        assert wait_for(lambda: mgr.streams[1].state == "reconnecting", 10)
        file_during = len(frames[0])
        time.sleep(1.5)
        assert len(frames[0]) > file_during + 20  # the file stream went on while the camera was away
        cam_before = len(frames[1])
        rtsp_camera.start()
        assert wait_for(lambda: len(frames[1]) >= cam_before + 20, 20)
        assert mgr.streams[1].state == "playing"
        dropped0 = next(s for s in mgr.stats()["streams"] if s["source_id"] == 0)["dropped"]
        with TestClient(create_app(mgr, token="t")) as c:
            metrics = c.get("/metrics").text
            events = c.get("/api/v1/events").json()
    assert frames[0] == list(range(len(frames[0])))  # no gap in the other stream
    assert dropped0 == 0  # and the muxer dropped none of its frames
    assert frames[1] == list(range(len(frames[1])))  # the camera's counter continues
    n = float(re.search(r'vistream_stream_reconnects_total\{name="stream-1",source_id="1"\} ([\d.]+)', metrics)[1])
    assert n >= 1
    assert re.search(r'vistream_stream_reconnects_total\{name="stream-0",source_id="0"\} 0\.0', metrics)
    assert any(e["type"] == "reconnect" and e["source_id"] == 1 for e in events)
    assert not any(e["type"] == "error" for e in events)
