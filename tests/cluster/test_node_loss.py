"""A whole node lost (its raylet and workers killed, no clean shutdown): its streams come back on the other
node and every frame is recorded exactly once."""

from __future__ import annotations

import time

import pytest

from tests.cluster.conftest import APP, CLIP_URI
from tests.servers.ray_cluster import RayCluster, _descendants
from vistream.cluster import ClusterManager

pytestmark = [pytest.mark.server, pytest.mark.slow]
FRAMES = 48

# Ray declares a node dead after missed health checks (30 s by default); a short check keeps the test quick.
FAST_HEALTH = {"RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "500",
               "RAY_health_check_failure_threshold": "3"}


def test_streams_of_a_lost_node_resume_on_the_other(tmp_path):
    with RayCluster(nodes=2, cpus_per_node=1, env=FAST_HEALTH) as cluster:
        cm = ClusterManager(str(APP), cluster.address, spool_dir=str(tmp_path / "spool"), max_fps=12.0,
                            sources=[CLIP_URI] * 2)
        with cm:
            placed = cm.streams()
            assert len({s["node_id"] for s in placed.values()}) == 2  # one stream per node
            # the worker living on the second node: its pid descends from that node's `ray start`
            on_node1 = set(_descendants(cluster.procs[1].pid))
            lost_worker = next(wid for wid, w in cm.workers.items() if w.info.get("pid") in on_node1)
            lost = next(k for k, s in placed.items() if s["worker"] == lost_worker)
            deadline = time.monotonic() + 30
            while len(cm.frames.get(lost, ())) < 8 and time.monotonic() < deadline:
                cm.poll()
                time.sleep(0.2)
            assert 8 <= len(cm.frames[lost]) < FRAMES
            cluster.stop_node(1)  # the second `ray start`: the node holding one of the workers
            t0 = time.monotonic()
            while cm.workers[lost_worker].alive and time.monotonic() - t0 < 30:
                cm.poll()
                time.sleep(0.2)
            assert not cm.workers[lost_worker].alive, "the lost node's worker was never declared dead"
            detected = time.monotonic() - t0
            assert cm.streams()[lost]["worker"] != lost_worker and cm.streams()[lost]["restarts"] == 1
            assert cm.run(timeout=60)
            streams = cm.streams()
    assert detected < 15
    assert {k: s["frames"] for k, s in streams.items()} == {"source0": FRAMES, "source1": FRAMES}
    assert all(cm.frames[k] == set(range(FRAMES)) for k in streams) and sum(cm.duplicates.values()) == 0
