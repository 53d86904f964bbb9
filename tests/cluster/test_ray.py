"""Pipelines spread over a real local Ray cluster: placement on both nodes, fail-over of a killed worker's
streams, nothing lost or recorded twice, a node added at run time takes new sources."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.cluster.conftest import APP, CLIP_URI
from tests.servers.ray_cluster import RayCluster
from vistream.cluster import ClusterManager

pytestmark = [pytest.mark.server, pytest.mark.slow]
FRAMES = 48  # tests/data/traffic_48.mp4


@pytest.fixture(scope="module")
def cluster():
    with RayCluster(nodes=2, cpus_per_node=1) as rc:
        yield rc


def test_spread_fail_over_and_new_node(cluster, tmp_path):
    cm = ClusterManager(str(APP), cluster.address, spool_dir=str(tmp_path / "spool"), max_fps=12.0,
                        sources=[CLIP_URI] * 4)
    with cm:
        # one worker per node, two streams each (least-loaded assignment)
        assert len(cm.workers) == 2 and len({w.node_id for w in cm.workers.values()}) == 2
        placed = cm.streams()
        per_worker = {wid: sorted(k for k, s in placed.items() if s["worker"] == wid) for wid in cm.workers}
        assert sorted(len(v) for v in per_worker.values()) == [2, 2]

        victim = cm.workers[placed["source0"]["worker"]]
        deadline = time.monotonic() + 30
        while len(cm.frames.get("source0", ())) < 10 and time.monotonic() < deadline:
            cm.poll()
            time.sleep(0.2)
        before = len(cm.frames["source0"])
        assert 10 <= before < FRAMES
        os.kill(victim.info["pid"], signal.SIGKILL)  # the worker process dies mid-stream
        t_kill = time.monotonic()
        while victim.alive and time.monotonic() - t_kill < 20:
            cm.poll()
            time.sleep(0.2)
        assert not victim.alive and time.monotonic() - t_kill < 10  # detected and restarted within seconds
        moved = cm.streams()
        for key in per_worker[victim.worker_id]:
            assert moved[key]["worker"] != victim.worker_id and moved[key]["restarts"] == 1

        # a third node joins and gets a worker; a new source lands on the least-loaded worker
        cluster._spawn([f"--address={cluster.address}"], "node2")
        cluster.wait_nodes(3, 60)
        cm.poll()
        nodes_with_workers = {w.node_id for w in cm.workers.values() if w.alive}
        assert len(nodes_with_workers) == 3
        loads = {wid: sum(1 for k in w.sources if not cm.sources[k].done)
                 for wid, w in cm.workers.items() if w.alive}
        key = cm.add_source(CLIP_URI)
        new_worker = cm.workers[cm.streams()[key]["worker"]]
        assert loads[new_worker.worker_id] == min(loads.values())

        assert cm.run(timeout=60)
        streams = cm.streams()
        metrics = cm.metrics_text()
    # every frame of every stream recorded exactly once (the dead worker's spool was drained before restart)
    assert {k: s["frames"] for k, s in streams.items()} == {f"source{i}": FRAMES for i in range(5)}
    assert sum(cm.duplicates.values()) == 0
    assert all(cm.frames[k] == set(range(FRAMES)) for k in streams)
    assert 'vistream_cluster_stream_restarts_total{stream="source0"} 1' in metrics
    assert f'vistream_cluster_stream_frames_total{{stream="source4",worker="{new_worker.worker_id}"' in metrics


def test_cli_run(cluster, tmp_path, capsys):
    from vistream.cluster.cli import main

    metrics = tmp_path / "metrics.txt"
    code = main(["run", "-c", str(APP), "--address", cluster.address, "--spool-dir", str(tmp_path / "spool"),
                 "--metrics-file", str(metrics), "--timeout", "60"])
    out = capsys.readouterr().out
    assert code == 0 and "App run successful" in out
    assert f"source0 ({CLIP_URI}): {FRAMES} frames on w" in out  # the config's type=3 source, num-sources=1
    assert 'vistream_cluster_stream_frames_total{stream="source0"' in metrics.read_text()
