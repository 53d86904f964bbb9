"""The ``vistream`` command line: launch, inspect, demo, bench."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import av
import pytest

from vistream.cli import main


def _run(*args, timeout=120, env=None):
    return subprocess.run([sys.executable, "-m", "vistream.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_launch_seed_pipeline_writes_playable_mp4(traffic_clip, tmp_path):
    out = tmp_path / "out.mp4"
    res = _run("launch", f"filesrc location={traffic_clip} ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_0 "
               "nvstreammux name=m batch-size=1 width=1280 height=720 ! nvvideoconvert ! nvdsosd ! "
               f"nvvideoconvert ! x264enc ! mp4mux ! filesink location={out}")
    assert res.returncode == 0, res.stderr
    assert "Got EOS from element" in res.stdout
    assert "**PERF: stream 0: 48 frames" in res.stdout
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 48 and (frames[0].width, frames[0].height) == (1280, 720)


@pytest.mark.parametrize("sink", ["autovideosink", "nv3dsink", "nveglglessink"])
def test_display_sinks_without_display_run_to_eos_with_one_notice(sink, traffic_clip):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    res = _run("launch", f"filesrc location={traffic_clip} ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_0 "
               f"nvstreammux name=m batch-size=1 width=1280 height=720 ! nvvideoconvert ! nvdsosd ! {sink}", env=env)
    assert res.returncode == 0, res.stderr
    notices = [ln for ln in res.stderr.splitlines() if "no display" in ln]
    assert len(notices) == 1
    assert "48 frames" in res.stdout


def test_launch_verbose_prints_caps_and_properties(traffic_clip):
    res = _run("launch", "-v", f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder ! "
               "nvvideoconvert ! video/x-raw,format=RGBA,width=320,height=180 ! fakesink")
    assert res.returncode == 0, res.stderr
    assert f"/GstPipeline:pipeline0/FileSrc:filesrc0: location = {traffic_clip}" in res.stdout
    assert "caps = video/x-raw, format=(string)RGBA, width=(int)320, height=(int)180" in res.stdout


def test_launch_errors_exit_non_zero_with_the_token():
    res = _run("launch", "videotestsrc ! nvstreamux ! fakesink")
    assert res.returncode == 1
    assert 'no element "nvstreamux"' in res.stderr and "^^^^^^^^^^" in res.stderr


def test_launch_reports_runtime_errors_with_element_path(tmp_path):
    res = _run("launch", f"filesrc location={tmp_path}/missing.mp4 ! qtdemux ! fakesink")
    assert res.returncode == 1
    assert "ERROR: from element /GstPipeline:pipeline0/FileSrc:filesrc0" in res.stderr
    assert "missing.mp4" in res.stderr


def test_eos_on_shutdown_finalises_the_file(tmp_path):
    out = tmp_path / "live.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "vistream.cli", "launch", "-e",
                             "videotestsrc is-live=true pattern=ball ! video/x-raw,width=160,height=120 ! "
                             f"x264enc speed-preset=ultrafast ! mp4mux ! filesink location={out}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert "Forcing EOS" in stdout
    with av.open(str(out)) as c:
        n = sum(1 for _ in c.decode(video=0))
    assert n >= 10  # a finalised, playable file


def test_inspect_lists_every_element_and_describes_one(capsys):
    assert main(["inspect"]) == 0
    listing = capsys.readouterr().out
    for name in ("nvstreammux", "nvinfer", "nvtracker", "nvdsosd", "nvv4l2decoder", "mp4mux", "appsink"):
        assert f"\n{name}" in listing or listing.startswith(name)
    assert main(["inspect", "nvstreammux"]) == 0
    text = capsys.readouterr().out
    assert "SINK template: 'sink_%u'" in text and "Availability: On request" in text
    assert "batch-size" in text and "Unsigned Integer. Range: 1 - 1024 Default: 1" in text
    assert "batched-push-timeout" in text
    assert main(["inspect", "nvstreamux"]) == 1
    assert 'did you mean "nvstreammux"' in capsys.readouterr().err


def test_inspect_enum_values(capsys):
    assert main(["inspect", "queue"]) == 0
    text = capsys.readouterr().out
    assert '(2): downstream' in text and 'Enum. Default: 0, "no"' in text


def test_bench_json_reports_fps_latency_and_elements(traffic_clip):
    res = _run("bench", "--launch", f"filesrc location={traffic_clip} ! qtdemux ! nvv4l2decoder ! m.sink_0 "
               "nvstreammux name=m batch-size=1 ! fakesink", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["frames"] == {"0": 48}
    assert data["total_fps"] > 0 and data["latency_ms_p99"] >= data["latency_ms_p50"] >= 0
    names = {e["factory"] for e in data["elements"]}
    assert {"nvv4l2decoder", "nvstreammux", "fakesink"} <= names
    dec = next(e for e in data["elements"] if e["factory"] == "nvv4l2decoder")
    assert dec["buffers"] == 48 and dec["busy_s"] > 0
    assert data["startup_s"] > 0  # reported apart: the clock starts once the pipeline is ready
    if sys.platform.startswith("linux"):  # CPU per thread comes from /proc
        threads = {t["name"]: t for t in data["threads"]}
        assert threads["vistream:nvv4l2decoder0"]["cpu_s"] > 0
        assert all(t["cpu_s"] > 0 and t["threads"] >= 1 for t in data["threads"])


def test_demo_writes_annotated_video(tmp_path, traffic_clip):
    out = tmp_path / "demo.mp4"
    res = _run("demo", "--clip", str(traffic_clip), "-o", str(out), timeout=300)
    assert res.returncode == 0, res.stderr
    assert "**PERF: stream 0: 48 frames" in res.stdout
    assert "objects drawn:" in res.stdout and "distinct track ids:" in res.stdout
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 48


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert "vistream 0.1.0" in capsys.readouterr().out
    assert main([]) == 0
    assert "launch" in capsys.readouterr().out
