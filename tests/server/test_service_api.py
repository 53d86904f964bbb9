"""REST API: reads, auth, runtime add/remove of streams, validation, metrics, CORS, MJPEG, smart record."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.server.server_helpers import SAMPLES, TOKEN, make_manager, wait_for
from vistream.server.app import BOUNDARY, create_app

pytestmark = pytest.mark.server
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _stream(client, sid):
    return next((s for s in client.get("/api/v1/streams").json() if s["source_id"] == sid), None)


def test_reads_describe_the_running_pipeline(client):
    assert wait_for(lambda: (_stream(client, 0) or {}).get("frames", 0) >= 10)
    h = client.get("/api/v1/health").json()
    assert h == {"status": "ok", "pipeline": "playing", "streams": 1}
    assert client.get("/api/v1/health/get-dsready-state").json()["reason"] == "DS_READY"
    (p,) = client.get("/api/v1/pipelines").json()
    factories = {e["factory"] for e in p["elements"]}
    assert {"nvstreammux", "nvurisrcbin", "tee", "nvmultistreamtiler", "nvdsosd", "appsink"} <= factories
    st = _stream(client, 0)
    assert st["uri"].endswith("traffic_48.mp4") and st["state"] == "playing"
    info = client.get("/api/v1/stream/get-stream-info").json()["stream-info"]
    assert info["stream-count"] == 1 and info["stream-info"][0]["camera_id"] == "0"
    assert "/api/v1/stream/add" in client.get("/openapi.json").json()["paths"]


def test_mutating_endpoints_need_the_bearer_token(client, clips):
    body = {"uri": str(clips["people"])}
    r = client.post("/api/v1/stream/add", json=body)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = client.post("/api/v1/stream/add", json=body, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert client.post("/api/v1/stream/remove", json={"source_id": 0}).status_code == 401
    assert len(client.get("/api/v1/streams").json()) == 1  # nothing changed


def test_add_and_remove_streams_at_run_time_without_dropping_frames_of_the_others(client, manager, clips):
    frames0: list[int] = []
    from vistream import PadProbeReturn, PadProbeType
    from vistream.meta import get_batch_meta

    batch_sources: list[set[int]] = []

    def probe(pad, info, _):
        bm = get_batch_meta(info.get_buffer())
        batch_sources.append({fm.source_id for fm in bm.frame_meta_list})
        frames0.extend(fm.frame_num for fm in bm.frame_meta_list if fm.source_id == 0)
        return PadProbeReturn.OK

    manager.pipeline.get_by_name("sink").get_static_pad("sink").add_probe(PadProbeType.BUFFER, probe)
    assert wait_for(lambda: len(frames0) >= 10)
    r = client.post("/api/v1/stream/add", json={"uri": f"file://{clips['people']}"}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["source_id"] == 1
    # DeepStream's body shape works too
    r = client.post("/api/v1/stream/add", headers=AUTH, json={
        "key": "sensor", "value": {"camera_id": "cam-2", "camera_name": "walkway", "camera_url": str(clips["people"]),
                                   "change": "camera_add"}})
    assert r.status_code == 200 and r.json()["source_id"] == 2
    assert wait_for(lambda: any(s >= {0, 1, 2} for s in batch_sources[-20:]), 10), "no batch with all three"
    assert wait_for(lambda: all((_stream(client, i) or {}).get("frames", 0) > 10 for i in (1, 2)))
    r = client.post("/api/v1/stream/remove", headers=AUTH, json={"value": {"camera_id": "walkway"}})
    assert r.status_code == 200 and r.json()["source_id"] == 2
    assert client.post("/api/v1/stream/remove", headers=AUTH, json={"source_id": 1}).status_code == 200
    n = len(batch_sources)
    assert wait_for(lambda: len(batch_sources) > n + 10)
    assert batch_sources[-1] == {0}
    assert [s["source_id"] for s in client.get("/api/v1/streams").json()] == [0]
    # stream 0 went on through both changes: every frame number, in order, none dropped by the muxer
    assert frames0 == list(range(len(frames0)))
    assert _stream(client, 0)["dropped"] == 0
    types = [e["type"] for e in client.get("/api/v1/events").json()]
    assert types.count("stream-added") == 3 and types.count("stream-removed") == 2


@pytest.mark.parametrize(("body", "status", "text"), [
    ({"uri": "ftp://example.com/x.mp4"}, 400, 'unsupported uri scheme "ftp"'),
    ({"uri": "/no/such/clip.mp4"}, 404, "no such file"),
    ({"uri": "rtsp:///nohost"}, 400, "has no host"),
    ({"uri": "file:///etc/hosts bad"}, 400, "whitespace"),
    ({}, 422, "uri"),
    ({"uri": 5}, 422, "string"),
    ({"uri": "x.mp4", "source_id": -1}, 422, "greater than or equal to 0"),
    ({"uri": "{traffic}", "source_id": 0}, 409, "already in use"),
    ({"uri": "{traffic}", "source_id": 7}, 400, "out of range 0..2"),
])
def test_bad_requests_get_clear_4xx(client, clips, body, status, text):
    if isinstance(body.get("uri"), str):
        body = dict(body, uri=body["uri"].replace("{traffic}", str(clips["traffic"])))
    r = client.post("/api/v1/stream/add", json=body, headers=AUTH)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert text in (detail if isinstance(detail, str) else str(detail))


def test_remove_unknown_and_full_house(client, clips):
    r = client.post("/api/v1/stream/remove", json={"source_id": 2}, headers=AUTH)
    assert r.status_code == 404 and "no stream with source id 2" in r.json()["detail"]
    for _ in range(2):
        assert client.post("/api/v1/stream/add", json={"uri": str(clips["people"])}, headers=AUTH).status_code == 200
    r = client.post("/api/v1/stream/add", json={"uri": str(clips["people"])}, headers=AUTH)
    assert r.status_code == 409 and "all 3 stream slots are in use" in r.json()["detail"]


def test_prometheus_metrics(client):
    assert wait_for(lambda: (_stream(client, 0) or {}).get("frames", 0) > 30, 10)
    text = client.get("/metrics").text
    fps = float(re.search(r'vistream_stream_fps\{name="stream-0",source_id="0"\} ([\d.]+)', text).group(1))
    assert 15 < fps < 30  # the clip plays in real time at 23.98 fps
    frames = float(re.search(r'vistream_stream_frames_total\{name="stream-0",source_id="0"\} ([\d.]+)', text).group(1))
    assert frames > 10
    for name in ("vistream_stream_latency_seconds", "vistream_stream_dropped_frames_total",
                 "vistream_stream_reconnects_total", "vistream_queue_fill_ratio", "vistream_stream_queue_frames",
                 "vistream_batches_total", "vistream_streams 1.0"):
        assert name in text


def test_cors_is_off_by_default_and_on_when_configured(manager):
    with TestClient(create_app(manager, token=TOKEN)) as c:
        r = c.get("/api/v1/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in r.headers
    with TestClient(create_app(manager, token=TOKEN, cors_origins=["http://ok.example"])) as c:
        r = c.get("/api/v1/health", headers={"Origin": "http://ok.example"})
        assert r.headers["access-control-allow-origin"] == "http://ok.example"
        r = c.get("/api/v1/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in r.headers


def test_mjpeg_stream_delivers_annotated_frames(client):
    with client.stream("GET", "/api/v1/stream/mjpeg?frames=3") as r:
        assert r.headers["content-type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        body = b"".join(r.iter_bytes())
    parts = [p for p in body.split(f"--{BOUNDARY}".encode()) if p.strip()]
    assert len(parts) == 3
    for part in parts:
        jpg = part.split(b"\r\n\r\n", 1)[1]
        img = cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (360, 640, 3)
        # the 3-tile grid (2x2) puts stream 0 top-left: picture there, black where no stream is
        assert img[:180, :320].std() > 20 and img[180:, 320:].max() < 10
    r = client.get("/api/v1/stream/snapshot.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"


def test_set_interval_needs_nvinfer(client):
    r = client.post("/api/v1/infer/set-interval", json={"interval": 2}, headers=AUTH)
    assert r.status_code == 409 and "no nvinfer" in r.json()["detail"]
    r = client.post("/api/v1/infer/set-interval", json={"interval": -2}, headers=AUTH)
    assert r.status_code == 422


def test_smart_record_through_the_api(tmp_path):
    mgr = make_manager(smart_record=True, smart_rec_dir_path=str(tmp_path), smart_rec_cache=5, view=False).start()
    try:
        with TestClient(create_app(mgr, token=TOKEN)) as c:
            assert wait_for(lambda: (_stream(c, 0) or {}).get("frames", 0) >= 24)
            r = c.post("/api/v1/record/start", json={"source_id": 0, "start_time": 1, "duration": 1}, headers=AUTH)
            assert r.status_code == 200, r.text
            sid = r.json()["session_id"]
            assert wait_for(lambda: any(e["type"] == "recording-done" for e in c.get("/api/v1/events").json()), 10)
            done = next(e for e in c.get("/api/v1/events").json() if e["type"] == "recording-done")
            assert done["session_id"] == sid and done["source_id"] == 0
            assert (tmp_path / done["filename"]).is_file()
            assert done["width"] == 640 and done["height"] == 360
            # the clip's only keyframe is its first frame; it loops every 48 frames (2 s): 1 s before + 1 s
            assert 24 <= done["frames"] <= 100
            r = c.post("/api/v1/record/command", headers=AUTH,
                       json={"command": "start-recording", "sensor": {"id": "stream-0"}})
            assert r.status_code == 200
            r = c.post("/api/v1/record/stop", json={"source_id": 0}, headers=AUTH)
            assert r.status_code == 200
            r = c.post("/api/v1/record/stop", json={"source_id": 0, "session_id": 999}, headers=AUTH)
            assert r.status_code == 404
            r = c.post("/api/v1/record/command", headers=AUTH,
                       json={"command": "start-recording", "sensor": {"id": "nope"}})
            assert r.status_code == 404 and 'no stream "nope"' in r.json()["detail"]
    finally:
        mgr.stop()


@pytest.mark.slow
def test_set_interval_changes_how_often_nvinfer_runs():
    # no pacing, no live drops: the detector sets the pace
    mgr = make_manager(infer_config=str(SAMPLES / "configs/config_infer_primary_yoloX.txt"), live_source=False,
                       realtime_files=False, view=False, max_streams=1).start()
    try:
        with TestClient(create_app(mgr, token=TOKEN)) as c:
            assert wait_for(lambda: mgr.infer.frames_inferred >= 10, 20)
            f0, i0 = _stream(c, 0)["frames"], mgr.infer.frames_inferred
            assert i0 == pytest.approx(f0, abs=2)  # interval 0: every frame
            r = c.post("/api/v1/infer/set-interval", headers=AUTH, json={"stream": {"stream_id": "0", "interval": 4}})
            assert r.status_code == 200 and r.json()["interval"] == 4
            assert c.get("/api/v1/stats").json()["interval"] == 4
            # frames already in flight in nvinfer when the interval changed were inferred under the old one:
            # count from a few frames later
            assert wait_for(lambda: _stream(c, 0)["frames"] >= f0 + 10, 20)
            f0, i0 = _stream(c, 0)["frames"], mgr.infer.frames_inferred
            assert wait_for(lambda: _stream(c, 0)["frames"] >= f0 + 100, 20)
            f1, i1 = _stream(c, 0)["frames"], mgr.infer.frames_inferred
            assert (i1 - i0) == pytest.approx((f1 - f0) / 5, abs=3)  # one frame in five
    finally:
        mgr.stop()
