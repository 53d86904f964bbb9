"""Helpers of the server tests: a PipelineManager on the sample clips, waiting, uvicorn in a thread."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
TOKEN = "test-token-123"


def make_manager(**kw):
    from vistream.live.manager import ManagerOptions, PipelineManager

    opts = dict(uris=[str(DATA / "traffic_48.mp4")], max_streams=3, width=640, height=360, view_width=640,
                view_height=360, view_fps=10)
    opts.update(kw)
    return PipelineManager(ManagerOptions(**opts))


def wait_for(cond, timeout: float = 10.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return False


class LiveServer:
    """uvicorn serving ``app`` on a free 127.0.0.1 port in a thread (for a real browser)."""

    def __init__(self, app) -> None:
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        if not wait_for(lambda: self.server.started, 10):
            raise RuntimeError("uvicorn did not start")
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
