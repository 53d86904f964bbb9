"""A real local Ray cluster for tests: ``ray start --head`` plus a second node process on the same machine.

Both are started with ``ray start --block`` as children in their own process groups, every socket on
127.0.0.1, under a private temp dir, and stopped by process group id (never ``ray stop``, which would stop
every Ray instance of the machine).

Example::

    with RayCluster(nodes=2, cpus_per_node=1) as rc:
        rc.address            # "127.0.0.1:<port>"
        rc.stop_node(1)       # lose the second node
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.servers.brokers import free_port, servers_dir


def ray_binary() -> str:
    """The ``ray`` CLI of this interpreter (installs ``ray`` with pip when missing)."""
    exe = Path(sys.executable).with_name("ray")
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "ray"], check=True)
    return str(exe)


def _descendants(root: int) -> list[int]:
    """PIDs of every process below ``root`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


class RayCluster:
    """``nodes`` Ray nodes (the first is the head) with ``cpus_per_node`` CPUs each."""

    def __init__(self, nodes: int = 2, cpus_per_node: int = 1, env: dict | None = None) -> None:
        self.nodes, self.cpus = nodes, cpus_per_node
        self.extra_env = dict(env or {})
        self.port = 0
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.temp_dir = ""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict:
        env = dict(os.environ)
        # Ray refuses several nodes on one host unless told; everything stays on 127.0.0.1
        env.update(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="1", RAY_USAGE_STATS_ENABLED="0")
        env.update(self.extra_env)
        return env

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen:
        log = servers_dir() / f"ray-{os.getpid()}-{name}.log"
        self.logs.append(log)
        with open(log, "w") as f:
            proc = subprocess.Popen([ray_binary(), "start", "--block", "--node-ip-address=127.0.0.1",
                                     f"--num-cpus={self.cpus}", "--disable-usage-stats", *args],
                                    stdout=f, stderr=subprocess.STDOUT, env=self.env(), start_new_session=True)
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 60.0) -> RayCluster:
        self.port = free_port()
        # a short path: Ray's unix socket names must stay under 108 characters
        self.temp_dir = tempfile.mkdtemp(prefix="vsray")
        self._spawn(["--head", f"--port={self.port}", "--include-dashboard=false", f"--temp-dir={self.temp_dir}",
                     f"--ray-client-server-port={free_port()}"], "head")
        self.wait_nodes(1, timeout)
        for i in range(1, self.nodes):
            self._spawn([f"--address={self.address}"], f"node{i}")
        self.wait_nodes(self.nodes, timeout)
        return self

    def alive_nodes(self) -> int:
        """Nodes the head reports alive (asked from a separate process, so no driver lingers here)."""
        code = ("import ray,sys; ray.init(address=sys.argv[1], logging_level='ERROR', _node_ip_address='127.0.0.1');"
                "print(sum(n['Alive'] for n in ray.nodes())); ray.shutdown()")
        r = subprocess.run([sys.executable, "-c", code, self.address], capture_output=True, text=True,
                           env=self.env(), timeout=60)
        return int(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 and r.stdout.strip() else 0

    def wait_nodes(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p, log in zip(self.procs, self.logs, strict=True):
                if p.poll() is not None:
                    raise RuntimeError(f"ray start exited ({p.returncode}):\n{log.read_text()[-2000:]}")
            # each `ray start` logs this line once its node runs; only then ask the head (a costly import)
            started = sum("Ray runtime started" in log.read_text(errors="replace") for log in self.logs)
            if started >= n and self.alive_nodes() >= n:
                return
            time.sleep(0.5)
        raise TimeoutError(f"Ray cluster did not reach {n} nodes within {timeout:.0f} s")

    def stop_node(self, i: int) -> None:
        """Lose node ``i``: SIGKILL its raylet and every process it started (workers run in sessions of
        their own, so the process group alone would leave them running)."""
        p = self.procs[i]
        if p.poll() is None:
            for pid in _descendants(p.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.killpg(p.pid, signal.SIGKILL)  # a lost node: no clean shutdown
            except ProcessLookupError:
                pass
            p.wait(10)

    def stop(self) -> None:
        # Ray's worker processes start their own sessions: find them by parentage before their raylet goes
        family = [pid for p in self.procs for pid in _descendants(p.pid)]
        for p in self.procs:  # all nodes at once: each `ray start --block` stops its own processes
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # raylet, GCS and workers share the group: none may outlive the test
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> RayCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
