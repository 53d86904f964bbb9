"""Sources of one pipeline split over worker processes on one machine (``vistream app --workers N``)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vistream.app.config import load_app_config
from vistream.app.workers import app_config_for_sources, build_launch, run_launch_workers, shard

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "samples" / "configs"
DATA = ROOT / "tests" / "data"
CLIP = f"file://{DATA / 'traffic_48.mp4'}"


def _config(tmp_path: Path, sources: int) -> Path:
    srcs = "".join(f"\n[source{i}]\nenable=1\ntype=3\nuri={CLIP}\nnum-sources=1\n" for i in range(sources))
    path = tmp_path / "app.txt"
    path.write_text(f"""[application]
enable-perf-measurement=1
perf-measurement-interval-sec=1
{srcs}
[streammux]
batched-push-timeout=40000
width=320
height=180

[primary-gie]
enable=1
gie-unique-id=1
config-file={CONFIGS}/config_infer_primary_yoloX.txt

[tracker]
enable=1
ll-lib-file=libnvds_nvmultiobjecttracker.so
ll-config-file={CONFIGS}/tracker/config_tracker_IOU.yml

[sink0]
enable=1
type=3
container=1
codec=1
output-file={tmp_path / 'out.mp4'}
""")
    return path


def test_shard_deals_sources_round_robin():
    assert shard(5, 2) == [[0, 2, 4], [1, 3]]
    assert shard(2, 4) == [[0], [1]]
    assert shard(0, 3) == []
    with pytest.raises(ValueError):
        shard(3, 0)


def test_app_config_for_sources_keeps_the_rest(tmp_path):
    cfg = load_app_config(_config(tmp_path, 3))
    sub = app_config_for_sources(cfg, [CLIP, CLIP], tag="w1")
    assert [s.uri for s in sub.sources] == [CLIP, CLIP] and sub.streammux.batch_size == 2
    assert str(sub.sinks[0].output_file).endswith("out_w1.mp4")
    assert sub.primary_gie.config_file == cfg.primary_gie.config_file
    assert not sub.application.enable_perf_measurement and cfg.application.enable_perf_measurement


def test_build_launch():
    text = build_launch("{sources} nvstreammux name=m batch-size={batch} ! fakesink", ["file:///a.mp4", "b.mp4"],
                        "filesrc location={location} ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_{i}")
    assert text == ("filesrc location=/a.mp4 ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_0 "
                    "filesrc location=b.mp4 ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_1 "
                    "nvstreammux name=m batch-size=2 ! fakesink")
    with pytest.raises(ValueError, match="sources"):
        build_launch("fakesink", ["a"])


def test_app_with_two_worker_processes(tmp_path):
    """3 sources over 2 processes: every frame of every stream is counted once, each worker writes its file."""
    cfg = _config(tmp_path, 3)
    r = subprocess.run([sys.executable, "-m", "vistream.cli", "app", "-c", str(cfg), "--workers", "2"],
                       capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = next(line for line in r.stdout.splitlines() if line.startswith("**PERF summary:"))
    assert [int(n) for n in re.findall(r"FPS \d+: (\d+) frames", summary)] == [48, 48, 48]
    assert "2 worker process(es), 144 frames" in r.stdout
    assert (tmp_path / "out_w0.mp4").stat().st_size > 0 and (tmp_path / "out_w1.mp4").stat().st_size > 0


def test_launch_template_workers_report_errors():
    run = run_launch_workers("{sources} nvstreammux name=m batch-size={batch} width=320 height=180 ! "
                             "fakesink name=sink", [CLIP, CLIP, CLIP], 2, out=io.StringIO(), interval=0)
    assert run.frames == [48, 48, 48] and not run.errors and run.shards == [[0, 2], [1]]
    bad = run_launch_workers("{sources} nvstreammux name=m batch-size={batch} ! fakesink name=other", [CLIP], 1,
                             out=io.StringIO(), interval=0)
    assert "no element named 'sink'" in bad.errors[0]


def test_workers_auto_and_parse(monkeypatch):
    """--workers auto: one process per host core (at most one per source) on the GPU path, 1 on the CPU path."""
    import vistream.gpu
    from vistream.app.workers import auto_workers, parse_workers

    assert parse_workers("auto") == "auto" and parse_workers("3") == 3 and parse_workers(2) == 2
    for bad in ("0", "-1", "many"):
        with pytest.raises(ValueError, match="--workers must be a positive number or 'auto'"):
            parse_workers(bad)
    monkeypatch.setattr(vistream.gpu, "use_gpu", lambda *a, **k: False)
    assert auto_workers(128) == 1
    monkeypatch.setattr(vistream.gpu, "use_gpu", lambda *a, **k: True)
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert auto_workers(128) == 16 and auto_workers(3) == 3 and auto_workers(0) == 1


def test_app_workers_auto_on_the_cpu_runs_one_process(tmp_path):
    cfg = _config(tmp_path, 2)
    r = subprocess.run([sys.executable, "-m", "vistream.cli", "app", "-c", str(cfg), "--workers", "auto"],
                       capture_output=True, text=True, timeout=240, cwd=ROOT,
                       env={**os.environ, "VISTREAM_DEVICE": "cpu"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert "--workers auto: 1 worker process(es) for 2 source(s)" in r.stderr
    bad = subprocess.run([sys.executable, "-m", "vistream.cli", "app", "-c", str(cfg), "--workers", "0"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert bad.returncode == 1 and "--workers must be a positive number or 'auto'" in bad.stderr
