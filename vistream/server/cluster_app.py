"""``vistream serve --ray ADDRESS -c config``: the REST API and Prometheus metrics over a Ray cluster.

Sources run on pipeline workers (:class:`vistream.cluster.ClusterManager`); a source added here lands on the
least-loaded worker, ``/api/v1/streams`` says where each stream runs, ``/metrics`` aggregates every worker, and
``/`` is a dashboard of workers and streams (refreshed every second).
Mutating endpoints need the bearer token, as in the single-machine service.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from vistream.server.app import STATIC, ErrorBody

_URI = r"^(file://|rtsps?://|https?://|/)[^\s]*$"


class ClusterStreamAdd(BaseModel):
    uri: str = Field(..., max_length=2048, pattern=_URI, description="file://, rtsp(s)://, http(s):// or a path")
    key: str | None = Field(None, max_length=64, pattern=r"^[\w.-]+$", description="stream name (default sourceN)")


class ClusterStreamRemove(BaseModel):
    key: str = Field(..., max_length=64, pattern=r"^[\w.-]+$")


class ClusterPoller:
    """Calls ``manager.poll()`` every ``interval`` seconds in a thread: fail-over and result collection."""

    def __init__(self, manager: Any, interval: float = 0.5):
        self.manager, self.interval = manager, interval
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vistream:cluster-poll", daemon=True)

    def start(self) -> ClusterPoller:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self.lock:
                self.manager.poll()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def create_cluster_app(manager: Any, token: str | None = None, poller: ClusterPoller | None = None) -> FastAPI:
    """The FastAPI app of a cluster service; ``manager`` is a started :class:`ClusterManager`."""
    app = FastAPI(title="vistream cluster", version="1", description=__doc__)
    app.state.token = token or secrets.token_urlsafe(24)
    lock = poller.lock if poller is not None else threading.Lock()
    bearer = HTTPBearer(auto_error=False)
    errors = {401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody},
              503: {"model": ErrorBody}}

    def check(cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:  # noqa: B008
        if cred is None or not secrets.compare_digest(cred.credentials, app.state.token):
            raise HTTPException(401, "missing or wrong bearer token")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard() -> str:
        return (STATIC / "cluster.html").read_text()

    @app.get("/api/v1/health", summary="Workers alive and nodes used")
    def health() -> dict:
        with lock:
            m = manager.metrics()
        return {"status": "ok" if m["workers_alive"] else "no-workers", "workers_alive": m["workers_alive"],
                "nodes": m["nodes"]}

    @app.get("/api/v1/streams", summary="Every stream with the worker and node it runs on")
    def streams() -> dict:
        with lock:
            return {"streams": manager.streams()}

    @app.get("/api/v1/workers", summary="Workers, their nodes and sources")
    def workers() -> dict:
        with lock:
            return manager.metrics()["workers"]

    @app.get("/metrics", summary="Prometheus metrics aggregated over all workers", response_class=PlainTextResponse)
    def metrics() -> str:
        with lock:
            return manager.metrics_text()

    @app.post("/api/v1/stream/add", dependencies=[Depends(check)], responses=errors,
              summary="Add a stream on the least-loaded worker")
    def add(body: ClusterStreamAdd) -> dict:
        with lock:
            try:
                key = manager.add_source(body.uri, body.key)
            except ValueError as e:
                raise HTTPException(409, str(e)) from None
            except RuntimeError as e:
                raise HTTPException(503, str(e)) from None
            return {"key": key, **manager.streams()[key]}

    @app.post("/api/v1/stream/remove", dependencies=[Depends(check)], responses=errors, summary="Remove a stream")
    def remove(body: ClusterStreamRemove) -> dict:
        with lock:
            if body.key not in manager.streams():
                raise HTTPException(404, f"no stream '{body.key}'")
            manager.remove_source(body.key)
            return {"removed": body.key}

    return app


def serve_cluster(config: str, address: str, host: str, port: int, token: str | None, log_level: str) -> int:
    """Run the cluster service until interrupted."""
    import uvicorn

    from vistream.cluster import ClusterManager

    manager = ClusterManager(config, address).start()
    poller = ClusterPoller(manager).start()
    app = create_cluster_app(manager, token, poller)
    if not token:
        print(f"API token (generated; set VISTREAM_API_TOKEN to choose one): {app.state.token}", flush=True)
    print(f"vistream serve --ray {address}: {len(manager.workers)} worker(s); API docs http://{host}:{port}/docs",
          flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        poller.stop()
        manager.shutdown()
    return 0
