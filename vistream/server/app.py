"""The REST API, Prometheus metrics and web dashboard of ``vistream serve`` (FastAPI).

``create_app(manager, token=...)`` returns the ASGI app; OpenAPI docs are at ``/docs`` (schema at
``/openapi.json``). Mutating endpoints (``POST``) need ``Authorization: Bearer <token>``; reads are open.
DeepStream's REST request bodies (``nvmultiurisrcbin``: ``{"key": "sensor", "value": {"camera_id": ...,
"camera_url": ..., "change": "camera_add"}}``, ``{"stream": {"stream_id": "0", "interval": 2}}``) are accepted
next to the plain ones (``{"uri": ...}``, ``{"source_id": 0}``, ``{"interval": 2}``).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, model_validator

from vistream.live.manager import ManagerError, PipelineManager
from vistream.server.metrics import metrics_registry, render

STATIC = Path(__file__).with_name("static")
MAX_ID = 1023
BOUNDARY = "vistreamframe"


class ErrorBody(BaseModel):
    detail: str


class CameraInfo(BaseModel):
    """DeepStream's ``value`` of a stream add/remove request."""

    model_config = ConfigDict(extra="allow")
    camera_id: str | None = Field(None, max_length=256)
    camera_name: str | None = Field(None, max_length=256)
    camera_url: str | None = Field(None, max_length=2048)
    change: str | None = Field(None, max_length=64)


class StreamAdd(BaseModel):
    """``{"uri": "rtsp://..."}`` (optionally ``source_id``, ``name``) or DeepStream's sensor body."""

    uri: str | None = Field(None, max_length=2048, description="file://, rtsp(s)://, http(s):// (HLS) or a path")
    source_id: int | None = Field(None, ge=0, le=MAX_ID)
    name: str | None = Field(None, max_length=256, pattern=r"^[\w .:@/-]*$")
    key: str | None = Field(None, max_length=64)
    value: CameraInfo | None = None

    @model_validator(mode="after")
    def _one_uri(self):
        if not self.uri and not (self.value and self.value.camera_url):
            raise ValueError('give "uri" (or DeepStream\'s value.camera_url)')
        return self


class StreamRemove(BaseModel):
    """``{"source_id": 0}`` or DeepStream's sensor body (``value.camera_id`` / ``value.camera_url``)."""

    source_id: int | None = Field(None, ge=0, le=MAX_ID)
    key: str | None = Field(None, max_length=64)
    value: CameraInfo | None = None

    @model_validator(mode="after")
    def _one_id(self):
        if self.source_id is None and not (self.value and (self.value.camera_id or self.value.camera_url)):
            raise ValueError('give "source_id" (or DeepStream\'s value.camera_id / value.camera_url)')
        return self


class StreamInterval(BaseModel):
    stream_id: str | None = Field(None, max_length=64)
    interval: int = Field(..., ge=0, le=100000)


class SetInterval(BaseModel):
    """``{"interval": 2}`` or DeepStream's ``{"stream": {"stream_id": "0", "interval": 2}}``."""

    interval: int | None = Field(None, ge=0, le=100000)
    stream: StreamInterval | None = None

    @model_validator(mode="after")
    def _given(self):
        if self.interval is None and self.stream is None:
            raise ValueError('give "interval"')
        return self


class RecordStart(BaseModel):
    source_id: int = Field(..., ge=0, le=MAX_ID)
    start_time: float = Field(0, ge=0, le=3600, description="seconds before now (from the cache)")
    duration: float = Field(0, ge=0, le=86400, description="seconds after now (0 = the default duration)")


class RecordStop(BaseModel):
    source_id: int = Field(..., ge=0, le=MAX_ID)
    session_id: int | None = Field(None, ge=0)


class SensorRef(BaseModel):
    id: str = Field(..., max_length=256)


class RecordCommand(BaseModel):
    """A DeepStream cloud-to-device smart record message."""

    command: str = Field(..., pattern="^(start-recording|stop-recording)$")
    start: str | None = Field(None, max_length=64)
    end: str | None = Field(None, max_length=64)
    sensor: SensorRef


ERRORS = {400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 404: {"model": ErrorBody},
          409: {"model": ErrorBody}}


def create_app(manager: PipelineManager, token: str | None = None, cors_origins: list[str] | None = None,
               title: str = "vistream") -> FastAPI:
    """The service around ``manager``. ``token``: the bearer token of mutating endpoints (a random one when
    None: read it from ``app.state.token``). ``cors_origins``: allowed browser origins (CORS off when None)."""
    app = FastAPI(title=title, version="1", description="vistream: streams, inference, smart record, metrics")
    app.state.manager = manager
    app.state.token = token or secrets.token_urlsafe(24)
    registry = metrics_registry(manager)
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])
    bearer = HTTPBearer(auto_error=False)

    def require_token(cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if cred is None or not secrets.compare_digest(cred.credentials.encode(), app.state.token.encode()):
            raise _AuthError()

    auth = [Depends(require_token)]

    @app.exception_handler(ManagerError)
    async def _manager_error(_request: Request, exc: ManagerError):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(_AuthError)
    async def _auth_error(_request: Request, _exc: Exception):
        return JSONResponse({"detail": "missing or wrong bearer token"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})

    # --- reads ----------------------------------------------------------------------------------------------
    @app.get("/api/v1/health", summary="Liveness and pipeline state")
    def health() -> dict:
        s = manager.pipeline.state.name.lower()
        return {"status": "ok" if s == "playing" else "degraded", "pipeline": s, "streams": len(manager.streams)}

    @app.get("/api/v1/health/get-dsready-state", summary="DeepStream's readiness check")
    def ds_ready() -> dict:
        ready = manager.pipeline.state.name == "PLAYING"
        return {"status": "HTTP/1.1 200 OK", "reason": "DS_READY" if ready else "DS_NOT_READY"}

    @app.get("/api/v1/pipelines", summary="Pipelines of this service and their elements")
    def pipelines() -> list[dict]:
        return [manager.describe()]

    @app.get("/api/v1/streams", summary="Streams with their statistics")
    def streams() -> list[dict]:
        return manager.stats()["streams"]

    @app.get("/api/v1/stream/get-stream-info", summary="DeepStream's stream list")
    def stream_info() -> dict:
        return {"stream-info": {"stream-count": len(manager.streams), "stream-info": [
            {"camera_id": str(s["source_id"]), "camera_name": s["name"], "camera_url": s["uri"], "state": s["state"]}
            for s in manager.stats()["streams"]]}}

    @app.get("/api/v1/stats", summary="Pipeline and per-stream statistics")
    def stats() -> dict:
        return manager.stats()

    @app.get("/api/v1/events", summary="Recent events (line crossings, ROI counts, reconnects, recordings)")
    def events(after: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
        return manager.recent_events(after, limit)

    @app.get("/api/v1/stream/snapshot.jpg", summary="The latest annotated view as JPEG",
             responses={200: {"content": {"image/jpeg": {}}}, 404: {"model": ErrorBody}})
    def snapshot() -> Response:
        _, jpg = manager.latest_jpeg(0, timeout=3.0)
        if jpg is None:
            raise ManagerError("no view frame yet (is the view enabled and a stream playing?)", 404)
        return Response(jpg, media_type="image/jpeg")

    @app.get("/api/v1/stream/mjpeg", summary="The annotated view as an MJPEG stream (multipart/x-mixed-replace)",
             responses={200: {"content": {f"multipart/x-mixed-replace; boundary={BOUNDARY}": {}}}})
    def mjpeg(frames: Annotated[int, Query(ge=0, le=1_000_000, description="stop after N frames (0: never)")] = 0):
        def gen():
            seq, sent = 0, 0
            while frames == 0 or sent < frames:
                seq, jpg = manager.latest_jpeg(seq, timeout=2.0)
                if jpg is None:
                    if not manager.started:
                        return
                    continue
                sent += 1
                yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpg)}\r\n\r\n").encode() \
                    + jpg + b"\r\n"

        return StreamingResponse(gen(), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}")

    @app.get("/metrics", summary="Prometheus metrics", responses={200: {"content": {"text/plain": {}}}})
    def metrics() -> Response:
        return Response(render(registry), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard() -> HTMLResponse:
        return HTMLResponse((STATIC / "dashboard.html").read_text(encoding="utf-8"))

    # --- changes ---------------------------------------------------------------------------------------------
    @app.post("/api/v1/stream/add", dependencies=auth, responses=ERRORS, summary="Add a stream at run time")
    def stream_add(body: StreamAdd) -> dict:
        uri = body.uri or body.value.camera_url  # type: ignore[union-attr]
        name = body.name or (body.value.camera_name or body.value.camera_id if body.value else None)
        sid = manager.add_source(uri, body.source_id, name)
        return {"status": "added", "source_id": sid, "uri": manager.streams[sid].uri}

    @app.post("/api/v1/stream/remove", dependencies=auth, responses=ERRORS, summary="Remove a stream")
    def stream_remove(body: StreamRemove) -> dict:
        sid = body.source_id
        if sid is None:
            sid = _find_stream(manager, body.value)
        manager.remove_source(sid)
        return {"status": "removed", "source_id": sid}

    @app.post("/api/v1/infer/set-interval", dependencies=auth, responses=ERRORS,
              summary="Change nvinfer's interval (frames skipped between inferences)")
    def set_interval(body: SetInterval) -> dict:
        interval = body.interval if body.interval is not None else body.stream.interval  # type: ignore[union-attr]
        manager.set_interval(interval)
        return {"status": "ok", "interval": interval}

    @app.post("/api/v1/record/start", dependencies=auth, responses=ERRORS, summary="Start a smart recording")
    def record_start(body: RecordStart) -> dict:
        return {"status": "recording", "source_id": body.source_id,
                "session_id": manager.start_recording(body.source_id, body.start_time, body.duration)}

    @app.post("/api/v1/record/stop", dependencies=auth, responses=ERRORS, summary="Stop smart recordings")
    def record_stop(body: RecordStop) -> dict:
        return {"status": "stopped", "recordings": manager.stop_recording(body.source_id, body.session_id)}

    @app.post("/api/v1/record/command", dependencies=auth, responses=ERRORS,
              summary="A DeepStream smart record message (start-recording / stop-recording)")
    def record_command(body: RecordCommand) -> dict:
        result = manager.handle_command(body.model_dump())
        return {"status": "ok", "result": result}

    return app


class _AuthError(Exception):
    pass


def _find_stream(manager: PipelineManager, value: Any) -> int:
    for sid, info in list(manager.streams.items()):
        if value.camera_id is not None and value.camera_id in (info.name, str(sid)):
            return sid
        if value.camera_url and value.camera_url == info.uri:
            return sid
    raise ManagerError(f"no stream with camera_id {value.camera_id!r} / camera_url {value.camera_url!r}", 404)
