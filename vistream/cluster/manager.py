"""``ClusterManager``: spreads the sources of a deepstream-app config over pipeline workers running as Ray actors.

- Placement: ``workers_per_node`` workers on every alive Ray node that has the CPUs (and GPUs) a worker asks
  for, pinned with ``NodeAffinitySchedulingStrategy``; a node that joins later gets its workers at the next
  :meth:`poll`, so adding a node adds capacity. Each worker runs one pipeline that batches its own sources.
- Assignment: a new source (from the config or :meth:`add_source`, e.g. the REST API) goes to the worker with
  the fewest unfinished sources.
- Failure: a worker whose actor died (process killed, node lost) is dropped; its spool is drained one last
  time and each unfinished source restarts on the least-loaded live worker at the frame after the last one
  recorded. Frames are recorded exactly once as long as the spool survives (it lives in ``spool_dir``, on
  storage the manager can read); frames decoded but not yet recorded when the worker died are processed again
  by the new owner (at-least-once for processing, exactly-once for recorded results).
- Results: :attr:`frames` (per source, the frame numbers recorded), :meth:`streams` (where each stream runs),
  :meth:`metrics_text` (Prometheus text aggregating every worker).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vistream.app.config import load_app_config


@dataclass
class _Worker:
    worker_id: str
    node_id: str
    handle: Any
    info: dict = field(default_factory=dict)
    status: dict = field(default_factory=dict)
    sources: dict[str, tuple[str, int]] = field(default_factory=dict)
    alive: bool = True


@dataclass
class _Source:
    key: str
    uri: str
    worker: str | None = None
    done: bool = False
    restarts: int = 0


def config_sources(config_path: str) -> list[str]:
    """The URIs of a deepstream-app config's enabled sources (``num-sources`` of type 3 counted)."""
    from vistream.app.workers import config_sources as uris_of

    return uris_of(load_app_config(config_path), "the cluster")


class ClusterManager:
    """Runs a deepstream-app config's pipeline on Ray workers (see the module docstring for the behaviour).

    ``ClusterManager(app_config, address="auto", *, workers_per_node=1, spool_dir=None, num_cpus=1.0,
    num_gpus=0.0, max_fps=0.0, sources=None)``: ``address`` is a Ray cluster address (``"auto"``, or
    ``"host:port"`` of ``ray start --head``); ``sources`` overrides the config's source URIs.
    ``start()`` connects and places workers and sources; ``poll()`` checks workers, restarts the sources of
    dead ones and collects results (call it every ``poll_interval`` seconds, :meth:`run` does);
    ``add_source(uri)`` / ``remove_source(key)`` at run time; ``shutdown()`` stops the workers.

    >>> with ClusterManager("app.txt", "127.0.0.1:6379") as cm:  # doctest: +SKIP
    ...     cm.run(timeout=600)
    ...     print(cm.streams())
    """

    def __init__(self, app_config: str, address: str = "auto", *, workers_per_node: int = 1,
                 spool_dir: str | None = None, num_cpus: float = 1.0, num_gpus: float = 0.0, max_fps: float = 0.0,
                 sources: list[str] | None = None, status_timeout: float = 5.0) -> None:
        self.app_config = str(Path(app_config).resolve())
        self.address = address
        self.workers_per_node = int(workers_per_node)
        self.spool_dir = spool_dir or tempfile.mkdtemp(prefix="vistream-cluster-spool-")
        self.num_cpus, self.num_gpus, self.max_fps = float(num_cpus), float(num_gpus), float(max_fps)
        self.status_timeout = float(status_timeout)
        self._initial = list(sources) if sources is not None else config_sources(self.app_config)
        self.workers: dict[str, _Worker] = {}
        self.sources: dict[str, _Source] = {}
        self.frames: dict[str, set[int]] = defaultdict(set)
        self.duplicates: dict[str, int] = defaultdict(int)
        self.events: list[str] = []
        self._next_worker = 0
        self._spools: dict[str, Any] = {}
        self._cursor: dict[str, int] = {}
        self._actor_cls = None
        self._started_ray = False

    # ---- life cycle ---------------------------------------------------------------------------------------

    def start(self) -> ClusterManager:
        import ray

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"address": self.address, "logging_level": "ERROR", "log_to_driver": False}
            host = self.address.rsplit(":", 1)[0]
            if host in ("127.0.0.1", "localhost"):
                kwargs["_node_ip_address"] = "127.0.0.1"  # keep every socket of this driver on loopback
            ray.init(**kwargs)
            self._started_ray = True
        from vistream.cluster.worker import PipelineWorker

        self._actor_cls = ray.remote(PipelineWorker)
        self._place_workers()
        if not self.workers:
            raise RuntimeError(f"Ray cluster at {self.address} has no node with {self.num_cpus} free CPU(s)"
                               f"{f' and {self.num_gpus} GPU(s)' if self.num_gpus else ''} for a pipeline worker")
        for i, uri in enumerate(self._initial):
            self.add_source(uri, key=f"source{i}", push=False)
        self._push_all()
        return self

    def shutdown(self) -> None:
        """Stop every worker (their pipelines end) and disconnect from Ray if this manager connected."""
        import ray

        for w in self.workers.values():
            if w.alive:
                try:
                    ray.get(w.handle.stop.remote(), timeout=self.status_timeout)
                except Exception:  # already dead or unreachable: killing below is enough
                    pass
                ray.kill(w.handle, no_restart=True)
        self._drain_all()
        for sp in self._spools.values():
            sp.close()
        self._spools.clear()
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    def __enter__(self) -> ClusterManager:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.shutdown()

    # ---- placement ----------------------------------------------------------------------------------------

    def _place_workers(self) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        have = defaultdict(int)
        for w in self.workers.values():
            if w.alive:
                have[w.node_id] += 1
        new = []
        for node in ray.nodes():
            res = node.get("Resources", {})
            if not node.get("Alive") or res.get("CPU", 0) < self.num_cpus or res.get("GPU", 0) < self.num_gpus:
                continue
            for _ in range(self.workers_per_node - have[node["NodeID"]]):
                wid = f"w{self._next_worker}"
                self._next_worker += 1
                handle = self._actor_cls.options(
                    num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_concurrency=4, max_restarts=0,
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
                ).remote(wid, self.app_config, self.spool_dir, max_fps=self.max_fps)
                new.append(_Worker(wid, node["NodeID"], handle))
        from ray.exceptions import RayActorError

        refs = [w.handle.info.remote() for w in new]
        for w, ref in zip(new, refs, strict=True):
            try:
                info = ray.get(ref, timeout=120)
            except RayActorError as e:
                # A node that is going away can still be listed alive for a moment: the worker placed there
                # dies at once. Skip it; the next poll places again on the nodes that remain.
                self.events.append(f"worker {w.worker_id} could not start on node {w.node_id[:12]}: "
                                   f"{type(e).__name__}")
                continue
            w.info = info
            self.workers[w.worker_id] = w
            self.events.append(f"worker {w.worker_id} started on node {w.node_id[:12]} (pid {info['pid']})")

    def _least_loaded(self) -> _Worker:
        alive = [w for w in self.workers.values() if w.alive]
        if not alive:
            raise RuntimeError("no live pipeline worker left in the Ray cluster")
        return min(alive, key=lambda w: (sum(1 for k in w.sources if not self.sources[k].done), w.worker_id))

    def add_source(self, uri: str, key: str | None = None, push: bool = True) -> str:
        """Run ``uri`` on the least-loaded worker; returns the source key."""
        key = key or f"source{len(self.sources)}"
        if key in self.sources:
            raise ValueError(f"source '{key}' exists already")
        w = self._least_loaded()
        self.sources[key] = _Source(key, uri, w.worker_id)
        w.sources[key] = (uri, self._resume_frame(key))
        if push:
            self._push(w)
        return key

    def remove_source(self, key: str) -> None:
        """Stop processing source ``key``."""
        src = self.sources.pop(key)
        w = self.workers.get(src.worker or "")
        if w is not None and w.alive:
            w.sources.pop(key, None)
            self._push(w)

    def _resume_frame(self, key: str) -> int:
        frames = self.frames.get(key)
        return max(frames) + 1 if frames else 0

    def _push(self, w: _Worker) -> None:
        import ray

        live = {k: v for k, v in w.sources.items() if k in self.sources and not self.sources[k].done}
        ray.get(w.handle.assign.remote(live), timeout=60)

    def _push_all(self) -> None:
        for w in self.workers.values():
            if w.alive and w.sources:
                self._push(w)

    # ---- monitoring ---------------------------------------------------------------------------------------

    def poll(self) -> bool:
        """Check workers, fail over the sources of dead ones, place workers on new nodes, collect results.
        Returns True when every source is done."""
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError

        alive = [w for w in self.workers.values() if w.alive]
        refs = {w.worker_id: w.handle.status.remote() for w in alive}
        dead = []
        for w in alive:
            try:
                w.status = ray.get(refs[w.worker_id], timeout=self.status_timeout)
            except RayActorError:
                dead.append(w)
            except GetTimeoutError:
                continue  # busy; judged again at the next poll
        self._drain_all()
        for w in dead:
            self._fail_over(w)
        self._place_workers()
        for w in self.workers.values():
            if not w.alive:
                continue
            for key, st in w.status.get("sources", {}).items():
                if st["done"] and key in self.sources:
                    self.sources[key].done = True
        return all(s.done for s in self.sources.values())

    def _fail_over(self, w: _Worker) -> None:
        w.alive = False
        self._drain(w.worker_id)  # everything the dead worker recorded is kept
        orphans = [k for k in w.sources if k in self.sources and not self.sources[k].done]
        self.events.append(f"worker {w.worker_id} on node {w.node_id[:12]} died; restarting {orphans}")
        touched = {}
        for key in orphans:
            target = self._least_loaded()
            src = self.sources[key]
            src.worker, src.restarts = target.worker_id, src.restarts + 1
            target.sources[key] = (src.uri, self._resume_frame(key))
            touched[target.worker_id] = target
        w.sources = {}
        for t in touched.values():
            self._push(t)

    def _outbox(self, worker_id: str):
        from vistream.cluster.outbox import Outbox

        box = self._spools.get(worker_id)
        if box is None:
            path = Path(self.spool_dir) / f"{worker_id}.db"
            if not path.exists():
                return None
            box = self._spools[worker_id] = Outbox(path, readonly=True)
        return box

    def _drain(self, worker_id: str) -> int:
        box = self._outbox(worker_id)
        if box is None:
            return 0
        n = 0
        while True:
            rows = box.read_after(self._cursor.get(worker_id, 0))
            if not rows:
                return n
            for _id, source, frame, _payload in rows:
                seen = self.frames[source]
                if frame in seen:
                    self.duplicates[source] += 1
                seen.add(frame)
            self._cursor[worker_id] = rows[-1][0]
            n += len(rows)

    def _drain_all(self) -> int:
        return sum(self._drain(wid) for wid in self.workers)

    def run(self, timeout: float | None = None, poll_interval: float = 0.5) -> bool:
        """Poll until every source is done (True) or ``timeout`` seconds passed (False)."""
        t0 = time.monotonic()
        while not self.poll():
            if timeout is not None and time.monotonic() - t0 > timeout:
                return False
            time.sleep(poll_interval)
        self._drain_all()
        return True

    # ---- reporting ----------------------------------------------------------------------------------------

    def streams(self) -> dict[str, dict]:
        """Where each stream runs: worker, node, frames recorded, restarts, done."""
        out = {}
        for key, s in self.sources.items():
            w = self.workers.get(s.worker or "")
            out[key] = {"uri": s.uri, "worker": s.worker, "node_id": w.node_id if w else None,
                        "pid": w.info.get("pid") if w else None, "frames": len(self.frames.get(key, ())),
                        "duplicates": self.duplicates.get(key, 0), "restarts": s.restarts, "done": s.done}
        return out

    def metrics(self) -> dict:
        """Aggregate over all workers: totals plus per-worker and per-stream figures (for a dashboard)."""
        return {"workers": {wid: {"node_id": w.node_id, "pid": w.info.get("pid"), "alive": w.alive,
                                  "frames": w.status.get("frames", 0),
                                  "sources": [k for k in w.sources if k in self.sources]}
                            for wid, w in self.workers.items()},
                "streams": self.streams(),
                "frames_total": sum(len(v) for v in self.frames.values()),
                "duplicates_total": sum(self.duplicates.values()),
                "workers_alive": sum(w.alive for w in self.workers.values()),
                "nodes": len({w.node_id for w in self.workers.values() if w.alive})}

    def metrics_text(self) -> str:
        """Prometheus exposition text for ``/metrics``: one series per stream, labelled with worker and node."""
        m = self.metrics()
        lines = ["# HELP vistream_cluster_stream_frames_total Frames recorded per stream (all workers).",
                 "# TYPE vistream_cluster_stream_frames_total counter"]
        for key, s in m["streams"].items():
            lines.append(f'vistream_cluster_stream_frames_total{{stream="{key}",worker="{s["worker"]}",'
                         f'node="{(s["node_id"] or "")[:12]}"}} {s["frames"]}')
        lines += ["# HELP vistream_cluster_stream_restarts_total Times a stream moved to another worker.",
                  "# TYPE vistream_cluster_stream_restarts_total counter"]
        lines += [f'vistream_cluster_stream_restarts_total{{stream="{k}"}} {s["restarts"]}'
                  for k, s in m["streams"].items()]
        lines += ["# HELP vistream_cluster_workers_alive Pipeline workers alive.",
                  "# TYPE vistream_cluster_workers_alive gauge", f"vistream_cluster_workers_alive {m['workers_alive']}",
                  "# HELP vistream_cluster_nodes Ray nodes running pipeline workers.",
                  "# TYPE vistream_cluster_nodes gauge", f"vistream_cluster_nodes {m['nodes']}"]
        return "\n".join(lines) + "\n"


def run_app_on_ray(config_path: str, address: str = "auto", *, timeout: float | None = None,
                   out=None, metrics_file: str | None = None, **kwargs) -> int:
    """``vistream app -c cfg --ray <address>``: run the config's sources on Ray workers until all are done.

    Prints where each stream ran and the frames it recorded; returns 0 when every stream finished, 1 otherwise.
    ``metrics_file`` receives the final Prometheus text. ``kwargs`` go to :class:`ClusterManager`
    (``workers_per_node``, ``spool_dir``, ``num_cpus``, ``num_gpus``, ``max_fps``).
    """
    import sys

    out = out or sys.stdout
    with ClusterManager(config_path, address, **kwargs) as cm:
        ok = cm.run(timeout=timeout)
        for line in cm.events:
            print(f"** cluster: {line}", file=out)
        for key, s in cm.streams().items():
            print(f"** cluster: {key} ({s['uri']}): {s['frames']} frames on {s['worker']} "
                  f"(node {str(s['node_id'])[:12]}, pid {s['pid']}), restarts {s['restarts']}", file=out)
        if metrics_file:
            Path(metrics_file).write_text(cm.metrics_text())
    print("App run successful" if ok else "App run failed", file=out, flush=True)
    return 0 if ok else 1


__all__ = ["ClusterManager", "config_sources", "run_app_on_ray"]
