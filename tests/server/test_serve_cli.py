"""``vistream serve`` as a process: plain options and a deepstream-app config, stopped with Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.server.server_helpers import DATA, TOKEN
from tests.servers.brokers import free_port

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _serve(args: list[str], port: int) -> subprocess.Popen:
    code = "import sys; from vistream.server.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, *args, "--port", str(port), "--token", TOKEN],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_health(port: int, proc: subprocess.Popen, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"vistream serve exited: {proc.stdout.read()}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).json()
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("vistream serve did not answer")


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"vistream serve did not stop on SIGINT: {out}") from None
    return out


def test_serve_with_options_runs_the_api_and_stops_cleanly():
    port = free_port()
    proc = _serve(["--uri", str(DATA / "traffic_48.mp4"), "--max-streams", "2", "--width", "640", "--height", "360"],
                  port)
    try:
        assert _wait_health(port, proc)["streams"] == 1
        base = f"http://127.0.0.1:{port}"
        r = httpx.post(base + "/api/v1/stream/add", json={"uri": str(DATA / "people_48.mp4")},
                       headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.json()["source_id"] == 1
        time.sleep(1.5)
        metrics = httpx.get(base + "/metrics").text
        assert 'vistream_stream_frames_total{name="stream-1",source_id="1"}' in metrics
        assert "<title>vistream</title>" in httpx.get(base + "/").text
        assert httpx.get(base + "/docs").status_code == 200
    finally:
        out = _stop(proc)
    assert proc.returncode == 0, out
    assert f"dashboard http://127.0.0.1:{port}/" in out


def test_serve_a_deepstream_app_config(tmp_path):
    cfg = tmp_path / "app.txt"
    cfg.write_text(f"""[application]
enable-perf-measurement=0

[tiled-display]
enable=1
rows=1
columns=1
width=640
height=360

[source0]
enable=1
type=3
uri=file://{DATA / 'traffic_48.mp4'}

[streammux]
batch-size=2
width=640
height=360
batched-push-timeout=40000

[osd]
enable=1

[sink0]
enable=1
type=1
sync=1

[tests]
file-loop=1
""")
    port = free_port()
    proc = _serve(["-c", str(cfg)], port)
    try:
        assert _wait_health(port, proc)["streams"] == 1
        time.sleep(1.0)
        (st,) = httpx.get(f"http://127.0.0.1:{port}/api/v1/streams").json()
        assert st["frames"] > 5 and st["uri"].endswith("traffic_48.mp4")
        r = httpx.get(f"http://127.0.0.1:{port}/api/v1/stream/snapshot.jpg", timeout=10)
        assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
    finally:
        out = _stop(proc)
    assert proc.returncode == 0, out


def test_bad_config_is_a_clear_error(tmp_path):
    cfg = tmp_path / "bad.txt"
    cfg.write_text("[source0]\nenable=1\ntype=3\nuri=file:///nonexistent.mp4\n[streammux]\nbatch-size=x\n")
    proc = _serve(["-c", str(cfg)], free_port())
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "bad.txt:6" in out
