"""PipelineWorker and the cluster's bookkeeping in process (no Ray): resume frames, outbox, config handling."""

from __future__ import annotations

import time

import pytest

from tests.cluster.conftest import APP, CLIP_URI
from vistream.cluster import PipelineWorker, config_sources
from vistream.cluster.outbox import Outbox


def _wait_done(w: PipelineWorker, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = w.status()
        if st["sources"] and all(s["done"] for s in st["sources"].values()):
            return st
        time.sleep(0.05)
    raise TimeoutError(w.status())


def test_worker_records_each_frame_once_and_resumes(tmp_path):
    w = PipelineWorker("w0", str(APP), str(tmp_path))
    try:
        w.assign({"a": (CLIP_URI, 0), "b": (CLIP_URI, 40)})  # b: frames 0..39 were done by an earlier owner
        st = _wait_done(w)
    finally:
        w.stop()
    assert {k: s["next_frame"] for k, s in st["sources"].items()} == {"a": 48, "b": 48}
    assert st["frames"] == 48 + 8 and st["error"] is None
    rows = Outbox(tmp_path / "w0.db", readonly=True).read_after(0, 1000)
    frames = {(src, f) for _, src, f, _ in rows}
    assert len(rows) == len(frames) == 56
    assert frames == {("a", i) for i in range(48)} | {("b", i) for i in range(40, 48)}
    assert b'"worker":"w0"' in rows[0][3]


def test_reassign_keeps_progress_and_paces(tmp_path):
    w = PipelineWorker("w1", str(APP), str(tmp_path), max_fps=40.0)
    try:
        w.assign({"a": (CLIP_URI, 0)})
        time.sleep(0.5)
        w.assign({"a": (CLIP_URI, 0), "b": (CLIP_URI, 0)})  # pipeline rebuilt: a resumes where it was
        st = _wait_done(w)
    finally:
        w.stop()
    rows = Outbox(tmp_path / "w1.db", readonly=True).read_after(0, 1000)
    a = [f for _, src, f, _ in rows if src == "a"]
    assert sorted(a) == list(range(48)) and len(a) == 48  # nothing twice across the rebuild
    assert st["sources"]["b"]["next_frame"] == 48
    assert st["sources"]["b"]["fps"] <= 45  # paced at 40 fps


def test_file_sinks_get_the_worker_id(tmp_path):
    cfg = tmp_path / "app.txt"
    cfg.write_text(APP.read_text().replace("[sink0]\nenable=1\ntype=1",
                                           f"[sink0]\nenable=1\ntype=3\ncontainer=1\ncodec=1\n"
                                           f"output-file={tmp_path / 'out.mp4'}"))
    w = PipelineWorker("w7", str(cfg), str(tmp_path))
    from vistream.cluster.worker import Assignment, _SourceState

    app_cfg = w._app_config([_SourceState(Assignment("x", CLIP_URI), 0)])
    w.stop()
    assert str(app_cfg.sinks[0].output_file).endswith("out_w7.mp4")
    assert [s.uri for s in app_cfg.sources] == [CLIP_URI] and app_cfg.streammux.batch_size == 1


def test_config_sources(tmp_path):
    assert config_sources(str(APP)) == [CLIP_URI]
    cfg = tmp_path / "cam.txt"
    cfg.write_text("[source0]\nenable=1\ntype=1\n[streammux]\nwidth=64\nheight=64\n[sink0]\nenable=1\ntype=1\n")
    with pytest.raises(ValueError, match=rf"{cfg}:1: the cluster needs URI sources"):
        config_sources(str(cfg))


def test_every_source_runs_to_its_end(tmp_path):
    """The first pad's leading frames are skipped: the other source still gets all of its frames (a pipeline
    that ends before a source's own stream EOS is restarted for that source at its next frame)."""
    w = PipelineWorker("w2", str(APP), str(tmp_path))
    try:
        w.assign({"a": (CLIP_URI, 30), "b": (CLIP_URI, 0)})
        st = _wait_done(w)
    finally:
        w.stop()
    rows = Outbox(tmp_path / "w2.db", readonly=True).read_after(0, 1000)
    b = sorted(f for _, src, f, _ in rows if src == "b")
    assert b == list(range(48)) and st["error"] is None
    assert sorted(f for _, src, f, _ in rows if src == "a") == list(range(30, 48))
