"""``vistream serve --ray``: the REST API over a real local Ray cluster puts new streams on the least-loaded
worker, says where each stream runs and aggregates metrics over all workers."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from tests.cluster.conftest import APP, CLIP_URI
from tests.servers.ray_cluster import RayCluster
from vistream.cluster import ClusterManager
from vistream.server.cluster_app import ClusterPoller, create_cluster_app

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_rest_api_places_streams_and_aggregates_metrics(tmp_path):
    with RayCluster(nodes=2, cpus_per_node=1) as cluster:
        cm = ClusterManager(str(APP), cluster.address, spool_dir=str(tmp_path / "spool"), max_fps=24.0,
                            sources=[CLIP_URI])
        with cm:
            poller = ClusterPoller(cm, interval=0.3).start()
            try:
                client = TestClient(create_cluster_app(cm, token="secret", poller=poller))
                auth = {"Authorization": "Bearer secret"}
                assert client.post("/api/v1/stream/add", json={"uri": CLIP_URI}).status_code == 401
                assert client.post("/api/v1/stream/add", json={"uri": "not a uri"}, headers=auth).status_code == 422
                res = client.post("/api/v1/stream/add", json={"uri": CLIP_URI, "key": "cam1"}, headers=auth)
                assert res.status_code == 200, res.text
                first = client.get("/api/v1/streams").json()["streams"]
                # the new stream went to the worker that had nothing: one stream per worker, on both nodes
                assert first["cam1"]["worker"] != first["source0"]["worker"]
                assert first["cam1"]["node_id"] != first["source0"]["node_id"]
                assert client.post("/api/v1/stream/add", json={"uri": CLIP_URI, "key": "cam1"},
                                   headers=auth).status_code == 409
                deadline = time.monotonic() + 60
                streams = first
                while time.monotonic() < deadline:
                    streams = client.get("/api/v1/streams").json()["streams"]
                    if all(s["frames"] == 48 for s in streams.values()):
                        break
                    time.sleep(0.5)
                assert {k: s["frames"] for k, s in streams.items()} == {"source0": 48, "cam1": 48}
                text = client.get("/metrics").text
                assert 'vistream_cluster_stream_frames_total{stream="cam1"' in text
                assert "vistream_cluster_workers_alive 2" in text and "vistream_cluster_nodes 2" in text
                assert client.get("/api/v1/health").json()["workers_alive"] == 2
                _dashboard_shows(create_cluster_app(cm, token="secret", poller=poller), streams)
                assert client.post("/api/v1/stream/remove", json={"key": "nope"}, headers=auth).status_code == 404
                assert client.post("/api/v1/stream/remove", json={"key": "cam1"}, headers=auth).json() == {
                    "removed": "cam1"}
                assert "cam1" not in client.get("/api/v1/streams").json()["streams"]
            finally:
                poller.stop()


def _dashboard_shows(app, streams: dict) -> None:
    """The cluster dashboard in headless Chromium lists every stream with its worker and node."""
    from playwright.sync_api import sync_playwright

    from tests.server.server_helpers import LiveServer
    from tests.server.test_dashboard import _ensure_browser

    exe = _ensure_browser()
    with LiveServer(app) as srv, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page()
            page.goto(srv.url + "/")
            page.wait_for_selector("#streams tbody tr[data-stream='cam1']", timeout=15000)
            assert "2 worker(s) alive on 2 node(s); 2 stream(s)" in page.inner_text("#summary")
            for key, st in streams.items():
                row = page.inner_text(f"#streams tbody tr[data-stream='{key}']")
                assert st["worker"] in row and (st["node_id"] or "")[:12] in row and "48" in row
            assert page.locator("#workers tbody tr").count() == 2
        finally:
            browser.close()
