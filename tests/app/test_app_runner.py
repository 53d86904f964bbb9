"""``vistream app``: deepstream-app configs build and run the right pipeline."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from vistream.app.config import load_app_config
from vistream.app.runner import AppError, build_app, run_app

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "samples" / "configs"
DATA = ROOT / "tests" / "data"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "app.txt"
    path.write_text(text)
    return path


def _base(sources: str, sinks: str, extra: str = "", mux: str = "width=320\nheight=180") -> str:
    return f"""
[application]
enable-perf-measurement=1
perf-measurement-interval-sec=1
{extra}
{sources}
[streammux]
batched-push-timeout=40000
{mux}

[primary-gie]
enable=1
gie-unique-id=1
bbox-border-color2=0;1;0;1
config-file={CONFIGS}/config_infer_primary_yoloX.txt

[tracker]
enable=1
ll-lib-file=libnvds_nvmultiobjecttracker.so
ll-config-file={CONFIGS}/tracker/config_tracker_IOU.yml

[osd]
enable=1
border-width=4
text-size=12
{sinks}
"""


def _src(i: int, clip: str = "traffic_48.mp4") -> str:
    return f"\n[source{i}]\nenable=1\ntype=3\nuri=file://{DATA / clip}\nnum-sources=1\n"


def test_single_source_to_file_with_perf_and_kitti(tmp_path):
    out = tmp_path / "out.mp4"
    cfg_path = _write(tmp_path, _base(
        _src(0), f"\n[sink0]\nenable=1\ntype=3\ncontainer=1\ncodec=1\nenc-type=1\noutput-file={out}\n",
        extra=f"gie-kitti-output-dir={tmp_path}/kdet\nkitti-track-output-dir={tmp_path}/ktrk"))
    buf = io.StringIO()
    assert run_app(load_app_config(cfg_path), out=buf, timeout=120) == 0
    text = buf.getvalue()
    assert re.search(r"\*\*PERF:  FPS 0 \(Avg\)\t\n\*\*PERF:  \d+\.\d\d \(\d+\.\d\d\)\t", text)
    assert "**PERF summary:  FPS 0: 48 frames" in text
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 48 and (frames[0].width, frames[0].height) == (320, 180)
    det = sorted((tmp_path / "kdet").iterdir())
    assert len(det) == 48 and det[0].name == "00_000_000000.txt"
    lines = [ln for f in det for ln in f.read_text().splitlines()]
    assert lines, "the detector found cars in the traffic clip"
    fields = lines[0].split()
    assert len(fields) == 16 and fields[0] in ("car", "truck", "bus") and 0 < float(fields[-1]) <= 1
    trk = [ln.split() for f in sorted((tmp_path / "ktrk").iterdir()) for ln in f.read_text().splitlines()]
    assert trk and all(int(t[1]) > 0 for t in trk) and len(trk[0]) == 17


def test_two_sources_tiled_into_one_file(tmp_path):
    out = tmp_path / "tiled.mkv"
    cfg = _base(_src(0) + _src(1, "people_48.mp4"),
                f"\n[sink0]\nenable=1\ntype=3\ncontainer=2\ncodec=1\noutput-file={out}\n"
                "\n[tiled-display]\nenable=1\nrows=1\ncolumns=2\nwidth=640\nheight=180\n")
    buf = io.StringIO()
    app = load_app_config(_write(tmp_path, cfg))
    assert run_app(app, out=buf, timeout=180) == 0
    assert "FPS 0 (Avg)\tFPS 1 (Avg)" in buf.getvalue()
    assert "FPS 0: 48 frames" in buf.getvalue() and "FPS 1: 48 frames" in buf.getvalue()
    with av.open(str(out)) as c:
        frames = list(c.decode(video=0))
    # one tiled frame per batch: 48 when every batch has both sources, more when batched-push-timeout pushed
    # partial batches (a source late by over 40 ms on a loaded machine), as DeepStream's tiler does
    assert 48 <= len(frames) <= 96 and (frames[0].width, frames[0].height) == (640, 180)


def test_without_tiler_each_sink_gets_its_source(tmp_path):
    outs = [tmp_path / f"s{i}.mp4" for i in range(2)]
    sinks = "".join(f"\n[sink{i}]\nenable=1\ntype=3\nsource-id={i}\noutput-file={outs[i]}\n" for i in range(2))
    cfg = load_app_config(_write(tmp_path, _base(_src(0) + _src(1, "people_48.mp4"), sinks)))
    app = build_app(cfg)
    assert app.pipeline.get_by_name("demuxer") is not None
    assert run_app(cfg, out=io.StringIO(), timeout=180) == 0
    refs = []
    for clip in ("traffic_48.mp4", "people_48.mp4"):
        with av.open(str(DATA / clip)) as c:
            refs.append(cv2.resize(next(c.decode(video=0)).to_ndarray(format="rgb24"), (320, 180)).astype(float))
    for i, o in enumerate(outs):
        with av.open(str(o)) as c:
            frames = [f.to_ndarray(format="rgb24").astype(float) for f in c.decode(video=0)]
        assert len(frames) == 48
        errors = [np.abs(frames[0] - ref).mean() for ref in refs]
        assert int(np.argmin(errors)) == i  # sink i shows source i


def test_sample_configs_build(tmp_path):
    for name in ("source1_file_to_file.txt", "source4_tiled_tracker_sgie.txt"):
        app = build_app(load_app_config(CONFIGS / "deepstream-app" / name))
        factories = {e.factory_name for e in app.pipeline.elements}
        assert {"nvstreammux", "nvinfer", "nvtracker", "nvdsosd", "filesink"} <= factories


def test_csi_camera_is_a_clear_error(tmp_path):
    cfg = _base("\n[source0]\nenable=1\ntype=5\n", "\n[sink0]\nenable=1\ntype=1\n")
    path = _write(tmp_path, cfg)
    with pytest.raises(AppError) as info:
        build_app(load_app_config(path))
    assert f"{path}:" in str(info.value) and "Jetson" in str(info.value)


def test_cli_reports_config_errors_with_file_and_line(tmp_path):
    path = _write(tmp_path, "[streammux]\nbatch-size=many\n")
    res = subprocess.run([sys.executable, "-m", "vistream.cli", "app", "-c", str(path)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 1
    assert f"{path}:2" in res.stderr and "batch-size" in res.stderr


def test_missing_model_names_the_config(tmp_path):
    bad = tmp_path / "pgie.txt"
    bad.write_text("[property]\nonnx-file=nope.onnx\nnetwork-type=0\n")
    cfg = _base(_src(0), "\n[sink0]\nenable=1\ntype=1\n").replace(
        f"config-file={CONFIGS}/config_infer_primary_yoloX.txt", f"config-file={bad}")
    assert run_app(load_app_config(_write(tmp_path, cfg)), out=io.StringIO(), timeout=60) == 1
