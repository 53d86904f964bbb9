"""A real Triton Inference Server (CPU, from PyPI ``nvidia-pytriton``) serving a model repository, for tests.

PyTriton pins ``numpy<2``, which the rest of vistream does not accept, so the server runs in its own virtual
environment (created on first use under ``$VISTREAM_TRITON_VENV``, default ``~/.cache/vistream/triton-venv``,
with ``pip install nvidia-pytriton onnxruntime``) and is started as a child process running
``vistream/inferserver/serve.py``, on free 127.0.0.1 ports. It is stopped by its process group id.

Example::

    with TritonServer(REPO, batching=4) as triton:
        url = triton.grpc_url      # "127.0.0.1:<port>"
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from tests.servers.brokers import free_port, servers_dir

ROOT = Path(__file__).resolve().parents[2]
SERVE = ROOT / "vistream" / "inferserver" / "serve.py"


def venv_dir() -> Path:
    return Path(os.environ.get("VISTREAM_TRITON_VENV") or Path.home() / ".cache" / "vistream" / "triton-venv")


def venv_python(install: bool = True) -> Path:
    """The interpreter that has PyTriton; creates the venv and installs it when missing (takes ~1 min)."""
    py = venv_dir() / "bin" / "python"
    ok = py.is_file() and subprocess.run([str(py), "-c", "import pytriton, onnxruntime"],
                                         capture_output=True).returncode == 0
    if ok or not install:
        return py
    subprocess.run([sys.executable, "-m", "venv", str(venv_dir())], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "nvidia-pytriton", "onnxruntime"], check=True)
    return py


class TritonServer:
    """``serve.py`` on a model repository: ``grpc_url`` / ``http_url`` once :meth:`start` returned."""

    def __init__(self, repository: Path, batching: int = 0, models: str = "") -> None:
        self.repository = Path(repository)
        self.batching = batching
        self.models = models
        self.proc: subprocess.Popen | None = None
        self.grpc_port = self.http_port = self.metrics_port = 0
        self.log = servers_dir() / f"triton-{os.getpid()}-{id(self)}.log"

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 90.0) -> TritonServer:
        py = venv_python()
        self.grpc_port, self.http_port, self.metrics_port = free_port(), free_port(), free_port()
        env = dict(os.environ)
        # Triton's Python-backend stub links libpython: it must find the interpreter's own copy
        env["LD_LIBRARY_PATH"] = ":".join(p for p in (sysconfig.get_config_var("LIBDIR"),
                                                      env.get("LD_LIBRARY_PATH")) if p)
        cmd = [str(py), str(SERVE), str(self.repository), "--grpc-port", str(self.grpc_port),
               "--http-port", str(self.http_port), "--metrics-port", str(self.metrics_port),
               "--batching", str(self.batching), "--threads", "1"]
        if self.models:
            cmd += ["--models", self.models]
        self._log_file = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log_file, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "READY " in self.log.read_text(errors="replace"):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        tail = self.log.read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"Triton did not become ready (exit status {self.proc.returncode}):\n{tail}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # serve.py stops tritonserver on SIGTERM
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        try:  # tritonserver and its Python stubs share the group: make sure none outlives the test
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._log_file.close()

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
