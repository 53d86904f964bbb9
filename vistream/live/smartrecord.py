"""Smart record (DeepStream's ``NvDsSRContext``): a rolling cache of encoded packets per source and, on a
trigger, an MP4/MKV of ``start_time`` seconds before the trigger plus ``duration`` seconds after it, written
by stream copy (no re-encode).

Example::

    rec = SmartRecorder("recordings", file_prefix="cam", cache_seconds=10, source_id=0,
                        on_done=lambda info: print(info.filename, info.duration))
    for buf in encoded_buffers:            # Buffers holding av.Packet (demuxer / nvurisrcbin output)
        rec.push_buffer(buf)
        if alarm:
            rec.start(start_time=5, duration=10)   # 5 s before now + 10 s after
    rec.close()                            # finishes open recordings

Files are named ``<prefix>_<source_id>_<session_id>_<YYYYmmdd-HHMMSS>.mp4``. Recordings start at a keyframe
(the last one at or before ``now - start_time``), so the first seconds may be slightly more than asked.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from vistream.core.buffer import CLOCK_TIME_NONE, FLAG_DELTA_UNIT, Buffer
from vistream.core.errors import VistreamError

NS = 1_000_000_000
CONTAINERS = {0: "mp4", 1: "mkv", "mp4": "mp4", "mkv": "mkv"}
_session_ids = itertools.count(1)


class SmartRecordError(VistreamError):
    """A smart record request that cannot be served (no stream yet, bad directory, bad arguments)."""


@dataclass
class RecordingInfo:
    """What ``sr-done`` reports, as DeepStream's ``NvDsSRRecordingInfo`` (``duration`` in ms)."""

    session_id: int
    source_id: int
    filename: str
    dirpath: str
    duration: int
    container_type: int
    width: int
    height: int
    frames: int
    contains_video: bool = True
    contains_audio: bool = False
    channels: int = 0
    sampling_rate: int = 0

    # pyds spellings
    @property
    def sessionId(self) -> int:  # noqa: N802
        return self.session_id

    @property
    def containerType(self) -> int:  # noqa: N802
        return self.container_type

    def as_dict(self) -> dict:
        return {"session_id": self.session_id, "source_id": self.source_id, "filename": self.filename,
                "dirpath": self.dirpath, "duration_ms": self.duration, "container": CONTAINERS[self.container_type],
                "width": self.width, "height": self.height, "frames": self.frames}


@dataclass
class _Pkt:
    data: bytes
    pts: int  # ns
    dts: int  # ns
    key: bool


class _Session:
    def __init__(self, sid: int, path: Path, template, end_pts: int, container_type: int):
        self.id = sid
        self.path = path
        self.end_pts = end_pts
        self.container_type = container_type
        self.out = av.open(str(path), "w", format="mp4" if container_type == 0 else "matroska")
        self.stream = self.out.add_stream_from_template(template)
        self.tb = self.stream.time_base or Fraction(1, 90000)
        self.first_dts: int | None = None
        self.last_dts = -1
        self.first_pts: int | None = None
        self.last_pts = 0
        self.frames = 0
        self.width = template.codec_context.width
        self.height = template.codec_context.height

    def write(self, p: _Pkt) -> None:
        dts = p.dts if p.dts != CLOCK_TIME_NONE else p.pts
        if self.first_dts is None:
            self.first_dts = dts
            self.first_pts = p.pts
        rel_dts = dts - self.first_dts
        rel_pts = p.pts - self.first_dts if p.pts != CLOCK_TIME_NONE else rel_dts
        tb_ns = self.tb * NS
        d = int(rel_dts / tb_ns)
        if d <= self.last_dts:  # keep DTS strictly increasing (source restarts, rounding)
            d = self.last_dts + 1
        pts = max(int(rel_pts / tb_ns), d)
        self.last_dts = d
        pkt = av.Packet(p.data)
        pkt.dts, pkt.pts = d, pts
        pkt.time_base = self.tb
        pkt.is_keyframe = p.key
        pkt.stream = self.stream
        self.out.mux(pkt)
        self.frames += 1
        self.last_pts = max(self.last_pts, p.pts)

    def close(self) -> int:
        """Finish the file; returns its duration in ms."""
        self.out.close()
        if self.first_pts is None:
            return 0
        return int((self.last_pts - self.first_pts) / 1e6)


class SmartRecorder:
    """Rolling packet cache and recordings of one source.

    - ``push(data, pts, dts, keyframe, template)`` / ``push_buffer(buffer)``: feed every encoded packet
      (timestamps in ns; ``template`` is the PyAV input stream, whose codec parameters the files copy).
    - ``start(start_time, duration) -> session_id``: record ``start_time`` s from the cache (at most
      ``cache_seconds``) and ``duration`` s (default ``default_duration``) of what follows.
    - ``stop(session_id=None)``: end a recording (all of them without an id) now.
    - ``on_done(RecordingInfo)`` is called when a file is complete (the streaming thread calls it).
    """

    def __init__(self, directory: str | Path = ".", file_prefix: str = "Smart_Record", cache_seconds: float = 20.0,
                 default_duration: float = 10.0, container: int | str = 0, source_id: int = 0,
                 on_done: Callable[[RecordingInfo], None] | None = None):
        if container not in CONTAINERS:
            raise SmartRecordError(f'smart record container must be 0 (mp4) or 1 (mkv), not "{container}"')
        if cache_seconds <= 0:
            raise SmartRecordError(f"smart record cache must be positive, got {cache_seconds} s")
        self.directory = Path(directory)
        self.file_prefix = file_prefix
        self.cache_seconds = float(cache_seconds)
        self.default_duration = float(default_duration)
        self.container_type = 0 if CONTAINERS[container] == "mp4" else 1
        self.source_id = source_id
        self.on_done = on_done
        self.template = None
        self._cache: deque[_Pkt] = deque()
        self._sessions: dict[int, _Session] = {}
        self._pending: list[tuple[int, float, float]] = []
        self._lock = threading.RLock()
        self._offset = 0
        self._last_pts: int | None = None
        self._step = NS // 30
        self.completed: list[RecordingInfo] = []

    # --- input ----------------------------------------------------------------------------------------
    def push_buffer(self, buffer: Buffer) -> None:
        """Feed an encoded buffer from a demuxer/parser (``buffer.data`` an ``av.Packet`` or bytes)."""
        template = buffer.caps.get("_stream") if buffer.caps is not None else None
        self.push(bytes(buffer.data), buffer.pts, buffer.dts, not (buffer.flags & FLAG_DELTA_UNIT), template)

    def push(self, data: bytes, pts: int, dts: int, keyframe: bool, template=None) -> None:
        if template is not None and template is not self.template:
            self.template = template
        done: list[RecordingInfo] = []
        with self._lock:
            if pts == CLOCK_TIME_NONE:
                pts = dts
            if pts == CLOCK_TIME_NONE:  # RTSP's first packets may come before the clock: place them after the last
                pts = self._last_pts + 1 if self._last_pts is not None else 0
            else:
                pts += self._offset
                if self._last_pts is not None and pts < self._last_pts - NS // 2:
                    # the source restarted its clock (file loop, reconnect): continue the timeline
                    shift = self._last_pts + self._step - pts
                    self._offset += shift
                    pts += shift
            if dts != CLOCK_TIME_NONE:
                dts += self._offset
            if self._last_pts is not None and 0 < pts - self._last_pts < NS:
                self._step = pts - self._last_pts
            self._last_pts = pts if self._last_pts is None else max(self._last_pts, pts)
            pkt = _Pkt(data, pts, dts, keyframe)
            self._cache.append(pkt)
            self._prune(pkt.pts)
            if self.template is not None:
                for sid, before, duration in self._pending:
                    self._open_session(sid, before, duration, pkt.pts)
                self._pending.clear()
            for sess in list(self._sessions.values()):
                if pkt.pts >= sess.end_pts:
                    done.append(self._finish(sess))
                else:
                    sess.write(pkt)
        for info in done:
            self._notify(info)

    def _prune(self, newest: int) -> None:
        horizon = newest - int(self.cache_seconds * NS)
        # drop whole GOPs: keep the last keyframe at or before the horizon
        while len(self._cache) > 1:
            nxt = next((i for i, p in enumerate(self._cache) if i > 0 and p.key), None)
            if nxt is None or self._cache[nxt].pts > horizon:
                break
            for _ in range(nxt):
                self._cache.popleft()

    # --- control --------------------------------------------------------------------------------------
    def start(self, start_time: float = 0.0, duration: float | None = None) -> int:
        """Start a recording; returns its session id. The file opens with the next packet."""
        duration = self.default_duration if duration is None or duration <= 0 else float(duration)
        if start_time < 0:
            raise SmartRecordError(f"start_time must be >= 0 seconds, got {start_time}")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SmartRecordError(f'cannot create the smart record directory "{self.directory}": {e}') from None
        sid = next(_session_ids)
        with self._lock:
            self._pending.append((sid, min(float(start_time), self.cache_seconds), duration))
        return sid

    def _open_session(self, sid: int, before: float, duration: float, now: int) -> None:
        if self.template is None:
            raise SmartRecordError("smart record: no stream template yet (no packet from a demuxer)")
        target = now - int(before * NS)
        start_idx = 0
        for i, p in enumerate(self._cache):
            if p.key and p.pts <= target:
                start_idx = i
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        ext = "mp4" if self.container_type == 0 else "mkv"
        path = self.directory / f"{self.file_prefix}_{self.source_id}_{sid}_{stamp}.{ext}"
        sess = _Session(sid, path, self.template, now + int(duration * NS), self.container_type)
        cached = list(self._cache)[start_idx:-1]  # the newest packet is written by push()
        if cached and not cached[0].key:
            cached = []  # no keyframe in the cache yet: start at the next one
        for p in cached:
            sess.write(p)
        self._sessions[sid] = sess

    def stop(self, session_id: int | None = None) -> list[RecordingInfo]:
        """Finish one recording (or all of them) now; returns their infos."""
        with self._lock:
            ids = list(self._sessions) if session_id is None else [session_id]
            if session_id is not None and session_id not in self._sessions:
                if any(p[0] == session_id for p in self._pending):
                    self._pending = [p for p in self._pending if p[0] != session_id]
                    return []
                raise SmartRecordError(f"no smart record session {session_id} on source {self.source_id}")
            infos = [self._finish(self._sessions[i]) for i in ids if i in self._sessions]
        for info in infos:
            self._notify(info)
        return infos

    def _finish(self, sess: _Session) -> RecordingInfo:
        self._sessions.pop(sess.id, None)
        dur = sess.close()
        info = RecordingInfo(sess.id, self.source_id, sess.path.name, str(sess.path.parent), dur,
                             sess.container_type, sess.width, sess.height, sess.frames)
        self.completed.append(info)
        return info

    def _notify(self, info: RecordingInfo) -> None:
        if self.on_done is not None:
            self.on_done(info)

    @property
    def recording(self) -> bool:
        return bool(self._sessions or self._pending)

    @property
    def cached_seconds(self) -> float:
        with self._lock:
            return (self._cache[-1].pts - self._cache[0].pts) / NS if len(self._cache) > 1 else 0.0

    def close(self) -> list[RecordingInfo]:
        """Finish every open recording (end of stream)."""
        with self._lock:
            self._pending.clear()
        return self.stop()
