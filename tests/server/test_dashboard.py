"""The web dashboard in headless Chromium (Playwright): live view, FPS chart, streams, events, add/remove form.
Screenshots are checked for content (the video picture, the chart's lines), not just for HTTP 200."""

from __future__ import annotations

import os
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from tests.server.server_helpers import TOKEN, LiveServer, make_manager, wait_for
from vistream.server.app import create_app

pytestmark = [pytest.mark.server, pytest.mark.slow]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _ensure_browser() -> str:
    """Debian's Chromium (installed on demand, as root) and Playwright without its own browser download."""
    global CHROMIUM
    if CHROMIUM is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        cmd = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
        if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True)
            subprocess.run(cmd, env=env, capture_output=True, check=True)
        CHROMIUM = shutil.which("chromium")
    if CHROMIUM is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium)")
    return CHROMIUM


def _png(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def _clip_distance(tile: np.ndarray, clip) -> float:
    """Mean absolute difference between a screenshot tile and the closest frame of ``clip`` (BGR, scaled)."""
    import av

    h, w = tile.shape[:2]
    with av.open(str(clip)) as c:
        frames = [cv2.resize(f.to_ndarray(format="bgr24"), (w, h), interpolation=cv2.INTER_AREA)
                  for f in c.decode(video=0)]
    return min(float(np.abs(f.astype(np.int16) - tile.astype(np.int16)).mean()) for f in frames)


def test_dashboard_shows_live_view_chart_events_and_adds_and_removes_streams(clips, tmp_path_factory):
    tmp_path = tmp_path_factory.getbasetemp()
    from playwright.sync_api import sync_playwright

    exe = _ensure_browser()
    mgr = make_manager(max_streams=2).start()
    try:
        with LiveServer(create_app(mgr, token=TOKEN)) as srv, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=exe, args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(srv.url + "/")
            page.wait_for_selector("#streams tr[data-source-id='0']", timeout=15000)
            page.wait_for_function("document.getElementById('view').naturalWidth > 0", timeout=15000)
            page.wait_for_timeout(3000)  # a few chart points
            assert page.text_content("#state").startswith("pipeline playing")

            # live view: the picture of the traffic clip in the top-left tile of a 2x1 grid, not a blank image
            view = _png(page.locator("#view").screenshot(path=str(tmp_path / "view.png")))
            h, w = view.shape[:2]
            assert w > 400 and abs(w / h - 16 / 9) < 0.05
            left = view[:, : w // 2 - 2]
            # the picture is the traffic clip, not anything else
            assert _clip_distance(left, clips["traffic"]) < 15 < _clip_distance(left, clips["people"])
            assert view[:, w // 2 + 5:].max() < 40  # the second tile is empty (black)
            chart = _png(page.locator("#fps").screenshot(path=str(tmp_path / "chart.png")))
            # the chart drew stream 0's line (#4fc3f7) at the right edge, in its top quarter (~24 of 25 FPS)
            ch, cw = chart.shape[:2]
            plot = chart[: ch - 16].astype(int)  # above the legend
            bluish = (plot[..., 0] > 150) & (plot[..., 2] < 150) & (plot[..., 0] - plot[..., 2] > 60)
            ys, xs = np.nonzero(bluish)
            assert len(xs) > 15 and xs.min() > cw * 0.6
            assert ys.mean() < (ch - 16) * 0.3
            cells = page.locator("#streams tr[data-source-id='0'] td").all_text_contents()
            assert cells[2] == "playing" and 15 < float(cells[3]) < 30

            # add a stream through the form: without the token it is refused with a clear message
            page.fill("#uri", str(clips["people"]))
            page.click("#add-btn")
            page.wait_for_function("document.getElementById('msg').textContent.length > 0")
            assert "bearer token" in page.text_content("#msg")
            page.fill("#token", TOKEN)
            page.dispatch_event("#token", "change")
            page.click("#add-btn")
            page.wait_for_selector("#streams tr[data-source-id='1']", timeout=10000)
            assert page.text_content("#msg") == "added stream 1"
            assert wait_for(lambda: mgr.stats()["streams"][1]["frames"] > 20, 10)
            page.wait_for_timeout(1500)
            view = _png(page.locator("#view").screenshot())
            right = view[:, w // 2 + 2:]  # the second tile now shows the walkway clip
            assert _clip_distance(right, clips["people"]) < 15 < _clip_distance(right, clips["traffic"])
            page.screenshot(path=str(tmp_path / "dashboard.png"))
            events = page.locator("#events li").all_text_contents()
            assert any("stream-added [stream 1]" in e for e in events)

            page.click("#streams tr[data-source-id='1'] button.remove")
            page.wait_for_selector("#streams tr[data-source-id='1']", state="detached", timeout=10000)
            assert [s["source_id"] for s in mgr.stats()["streams"]] == [0]
            page.wait_for_function(
                "[...document.querySelectorAll('#events li')].some(li => li.textContent.includes('stream-removed'))",
                timeout=5000)
            browser.close()
    finally:
        mgr.stop()
