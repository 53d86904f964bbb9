"""nvstreammux: batches frames from many sources into one buffer with DeepStream's batch metadata."""

from __future__ import annotations

import math
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from vistream.core.buffer import Buffer, Event, EventType, FlowReturn
from vistream.core.element import Element, register, streaming_thread
from vistream.core.errors import ElementError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.video import (
    buffer_format,
    frame_size,
    is_gpu_data,
    letterbox_params,
    stack_frames,
    video_caps,
)
from vistream.meta import BatchMeta, FrameMeta


@dataclass
class _Frame:
    data: np.ndarray
    pts: int
    caps: object
    arrived: float
    produced: float  # when the decoder made it (for latency), else when it arrived


@dataclass
class _SourceState:
    source_id: int
    pad: Pad
    frames: deque = field(default_factory=deque)
    eos: bool = False
    eos_announced: bool = False
    frame_num: int = 0
    dropped: int = 0
    pushed: int = 0
    released: bool = False  # its request pad was released: forget it once its frames are out


_INTERP = {0: cv2.INTER_NEAREST, 1: cv2.INTER_LINEAR, 2: cv2.INTER_CUBIC, 3: cv2.INTER_AREA, 4: cv2.INTER_LANCZOS4,
           5: cv2.INTER_LINEAR, 6: cv2.INTER_LINEAR}


@register
class NvStreamMux(Element):
    """Forms batches of up to ``batch-size`` frames from its ``sink_%u`` pads (source id = pad index),
    scales them to ``width`` x ``height`` and attaches a :class:`~vistream.meta.BatchMeta`.

    A batch is pushed when it is full, when every active source has given its share (so file sources are
    batched fairly and frame-exactly), or when ``batched-push-timeout`` (µs) expires: partial batches.
    At the EOS of one source the others go on; a ``stream-eos`` event and bus message name the source.
    With ``live-source=1`` batches leave on time and frames that pile up are dropped and counted.
    Frames in GPU memory (from NVDEC) are batched on the GPU: one RGB ``(B, H, W, 3)`` CUDA tensor with
    ``video/x-raw(memory:NVMM)`` caps (see :mod:`vistream.gpu`).
    """

    FACTORY = "nvstreammux"
    ALIASES = ("streammux",)
    KLASS = "Generic"
    DESCRIPTION = "Stream multiplexer: batch frames of several sources"
    PAD_TEMPLATES = (
        PadTemplate("sink_%u", PadDirection.SINK, PadPresence.REQUEST, "video/x-raw"),
        PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-raw"),
    )
    PROPERTIES = (
        Property.uint("batch-size", 1, "Maximum number of frames in a batch", 1, 1024),
        Property.uint("width", 0, "Width of each frame in output batched buffer (0 = keep the source's)", 0, 16384),
        Property.uint("height", 0, "Height of each frame in output batched buffer (0 = keep the source's)", 0, 16384),
        Property.int("batched-push-timeout", -1, "Timeout in microseconds to wait after the first buffer is "
                     "available to push the batch even if the complete batch is not formed (-1 = no timeout)", -1),
        Property.bool("live-source", False, "Boolean property to inform muxer that sources are live"),
        Property.bool("enable-padding", False, "Maintain input aspect ratio when scaling by padding with black bands"),
        Property.bool("attach-sys-ts", True, "Attach system timestamp as NTP timestamp"),
        Property.bool("sync-inputs", False, "Synchronize input frames using the buffer timestamps (accepted)"),
        Property.uint("max-same-source-frames", 0, "Max frames of one source in a batch (0 = batch-size / sources)"),
        Property.bool("drop-pipeline-eos", False, "Do not send EOS downstream when all sources reached EOS "
                      "(sources may still be added)"),
        Property.bool("frame-num-reset-on-eos", False, "Reset frame numbers of a source at its EOS"),
        Property.bool("frame-num-reset-on-stream-reset", False, "Reset frame numbers on stream reset (accepted)"),
        Property.uint("gpu-id", 0, "Set GPU Device ID (the CPU path ignores it)"),
        Property.uint("nvbuf-memory-type", 0, "Type of memory to be allocated (accepted)"),
        Property.enum("interpolation-method", 1, "Interpolation used when scaling",
                      [(0, "nearest", "Nearest"), (1, "bilinear", "Bilinear"), (2, "cubic", "Cubic"),
                       (3, "area", "Area"), (4, "lanczos", "Lanczos"), (5, "algo-default", "Default"),
                       (6, "nvbuf-default", "Default (NvBufSurface)")]),
        Property.enum("compute-hw", 0, "Compute scaling hardware",
                      [(0, "default", "Default"), (1, "gpu", "GPU"), (2, "vic", "VIC")]),
        Property.uint("buffer-pool-size", 4, "Maximum number of buffers in the muxer's pool (accepted)"),
        Property.uint("num-surfaces-per-frame", 1, "Max number of surfaces per frame (accepted)", 1, 4),
        Property.string("config-file-path", None, "Configuration file of the new nvstreammux (accepted)"),
    )

    def __init__(self, name=None, _factory=None, **props):
        super().__init__(name, _factory, **props)
        self._cond = threading.Condition()
        self._sources: dict[str, _SourceState] = {}
        self._rr = 0
        self.batches = 0
        self._last_batch_pts = -1

    # --- pads ---------------------------------------------------------------------------------------------
    def pad_requested(self, pad: Pad) -> None:
        with self._cond:
            self._sources[pad.name] = _SourceState(int(pad.name.split("_")[-1]), pad)
            self._cond.notify_all()
        if self.state > self.state.NULL:
            self.post_element_message("stream-added", source_id=self._sources[pad.name].source_id)

    def pad_released(self, pad: Pad) -> None:
        with self._cond:
            st = self._sources.get(pad.name)
            if st is not None:
                st.eos = True
                st.released = True
            self._cond.notify_all()

    def _activate(self) -> None:
        super()._activate()
        for st in self._sources.values():
            st.frames.clear()
            st.eos = st.eos_announced = False
            st.frame_num = st.dropped = st.pushed = 0
        self.batches = 0
        self._last_batch_pts = -1
        self._caps_cache: dict = {}
        self._thread = streaming_thread(self._loop, f"vistream:{self.name}")

    def _deactivate(self) -> None:
        super()._deactivate()
        with self._cond:
            self._cond.notify_all()

    # --- input --------------------------------------------------------------------------------------------
    def _process(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        # Inputs only queue frames (and may wait for room): not counted as busy time; batching is (in _loop).
        try:
            return self.chain(pad, buffer)
        except Exception as e:
            self.post_error(f"{type(e).__name__}: {e}", traceback.format_exc())
            return FlowReturn.ERROR

    def _quota(self) -> int:
        q = self._props["max-same-source-frames"]
        if q:
            return q
        n = max(1, len(self._sources))
        return max(1, math.ceil(self._props["batch-size"] / n))

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        now = time.monotonic()
        frames = buffer.data
        fmt = buffer_format(buffer.caps)
        with self._cond:
            st = self._sources.get(pad.name)
            if st is None or st.eos:
                return FlowReturn.EOS
            for i in range(len(frames)):
                st.frames.append(_Frame(frames[i], buffer.pts if i == 0 else -1, buffer.caps, now,
                                        buffer.extra.get("t_decoded", now)))
            self._cond.notify_all()
            limit = max(2, 2 * self._quota())
            if self._props["live-source"]:
                # a little slack for scheduling jitter; beyond it frames are late and dropped
                limit = max(4, 3 * self._quota())
                while len(st.frames) > limit:  # live: never let a source fall behind, drop its oldest frames
                    st.frames.popleft()
                    st.dropped += 1
                return FlowReturn.OK
            while len(st.frames) >= limit and not self._stopping and st.pad.name in self._sources:
                self._cond.wait(0.1)
        del fmt
        return FlowReturn.FLUSHING if self._stopping else FlowReturn.OK

    def handle_event(self, pad: Pad, event: Event) -> bool:
        if event.type is EventType.EOS:
            with self._cond:
                st = self._sources.get(pad.name)
                if st is not None:
                    st.eos = True
                self._cond.notify_all()
            return True
        if event.type in (EventType.STREAM_EOS, EventType.STREAM_START):
            return True
        return self.push_event(event)

    # --- batching thread ------------------------------------------------------------------------------------
    def _ready(self, now: float) -> tuple[bool, bool]:
        """(push now, all done)."""
        sources = list(self._sources.values())
        pending = [s for s in sources if s.frames]
        active = [s for s in sources if not s.eos]
        if not pending:
            done = bool(sources) and not active and not self._props["drop-pipeline-eos"]
            return False, done
        quota = self._quota()
        available = sum(min(len(s.frames), quota) for s in pending)
        if available >= self._props["batch-size"]:
            return True, False
        if all(s.eos or len(s.frames) >= quota for s in sources):
            return True, False
        timeout = self._props["batched-push-timeout"]
        if self._props["live-source"] and timeout < 0:
            timeout = 33_000
        if timeout >= 0:
            oldest = min(s.frames[0].arrived for s in pending)
            if now - oldest >= timeout / 1e6:
                return True, False
        return False, False

    def _loop(self) -> None:
        try:
            while not self._stopping:
                with self._cond:
                    push, done = self._ready(time.monotonic())
                    while not push and not done and not self._stopping and not self._has_unannounced():
                        self._cond.wait(0.005 if self._props["batched-push-timeout"] >= 0 or self._props["live-source"] else 0.1)
                        push, done = self._ready(time.monotonic())
                    if self._stopping:
                        return
                    batch = self._take_batch() if push else []
                    ended = self._newly_ended()
                    self._cond.notify_all()
                if batch:
                    t0 = time.perf_counter_ns()
                    out = self._make_buffer(batch)
                    self.proc_ns += time.perf_counter_ns() - t0
                    ret = self.push(out)
                    if ret not in (FlowReturn.OK, FlowReturn.NOT_LINKED):
                        if ret == FlowReturn.ERROR:
                            self._send_eos_once()
                        self._flow_error = ret
                        with self._cond:
                            for st in self._sources.values():
                                st.eos = True
                            self._cond.notify_all()
                        return
                for st in ended:
                    self.push_event(Event.stream_eos(st.source_id))
                    self.post_element_message("stream-eos", source_id=st.source_id, stream_id=st.source_id,
                                              **{"stream-id": st.source_id})
                if done and not batch:
                    self._send_eos_once()
                    return
        except Exception as e:
            self.post_error(f"{type(e).__name__}: {e}", traceback.format_exc())
            self._send_eos_once()

    def _has_unannounced(self) -> bool:
        return any(st.eos and not st.frames and not st.eos_announced for st in self._sources.values())

    def _newly_ended(self) -> list[_SourceState]:
        out = []
        for st in self._sources.values():
            if st.eos and not st.frames and not st.eos_announced:
                st.eos_announced = True
                if self._props["frame-num-reset-on-eos"]:
                    st.frame_num = 0
                out.append(st)
        for name in [n for n, st in self._sources.items() if st.released and st.eos_announced]:
            del self._sources[name]  # a removed stream no longer counts in the per-source share
        return out

    def _take_batch(self) -> list[tuple[_SourceState, _Frame, int]]:
        size, quota = self._props["batch-size"], self._quota()
        sources = sorted(self._sources.values(), key=lambda s: s.source_id)
        if not sources:
            return []
        n = len(sources)
        start = self._rr % n
        order = sources[start:] + sources[:start]
        self._rr += 1
        taken: dict[int, int] = {}
        batch = []
        progress = True
        while len(batch) < size and progress:
            progress = False
            for st in order:
                if len(batch) >= size:
                    break
                if st.frames and taken.get(st.source_id, 0) < quota:
                    fr = st.frames.popleft()
                    batch.append((st, fr, st.frame_num))
                    st.frame_num += 1
                    st.pushed += 1
                    taken[st.source_id] = taken.get(st.source_id, 0) + 1
                    progress = True
        # keep each source's frames in order and group the batch by source for cache friendliness
        batch.sort(key=lambda t: (t[0].source_id, t[2]))
        return batch

    def _make_buffer(self, batch: list[tuple[_SourceState, _Frame, int]]) -> Buffer:
        if any(is_gpu_data(fr.data) for _, fr, _ in batch):
            return self._make_gpu_buffer(batch)
        out_w, out_h = self._props["width"], self._props["height"]
        pad_mode = self._props["enable-padding"]
        interp = _INTERP[self._props["interpolation-method"]]
        fmt = buffer_format(batch[0][1].caps)
        planar = fmt in ("NV12", "I420")
        sizes = [frame_size(fr.data, fmt) for _, fr, _ in batch]
        targets = [((out_w or w), (out_h or h)) for w, h in sizes]
        shapes = {fr.data.shape[2:] for _, fr, _ in batch}
        # One (B, H, W, C) array filled in place: each frame is scaled (or copied) straight into its slot.
        out = None
        if len(set(targets)) == 1 and len(shapes) == 1 and not planar:
            tw, th = targets[0]
            out = np.empty((len(batch), th, tw) + next(iter(shapes)), np.uint8)
        frames = []
        metas = []
        attach_ts = self._props["attach-sys-ts"]
        now_ns = time.time_ns()
        first_pts = -1
        for i, (st, fr, num) in enumerate(batch):
            img = fr.data
            (w, h), (tw, th) = sizes[i], targets[i]
            dst = out[i] if out is not None else None
            if (tw, th) != (w, h):
                if planar:
                    raise ElementError("scaling NV12/I420 frames is not supported on the CPU path: decode to RGB",
                                       self.name)
                if pad_mode:
                    _, nw, nh, x0, y0 = letterbox_params(w, h, tw, th, symmetric=False)
                    canvas = dst if dst is not None else np.empty((th, tw) + img.shape[2:], img.dtype)
                    canvas[:] = 0
                    cv2.resize(img, (nw, nh), dst=canvas[y0:y0 + nh, x0:x0 + nw], interpolation=interp)
                    img = canvas
                elif dst is not None:
                    cv2.resize(img, (tw, th), dst=dst, interpolation=interp)
                    img = dst
                else:
                    img = cv2.resize(img, (tw, th), interpolation=interp)
            elif dst is not None:
                dst[...] = img
                img = dst
            elif not img.flags.writeable:
                img = img.copy()
            frames.append(img)
            if first_pts < 0 and fr.pts >= 0:
                first_pts = fr.pts
            metas.append(FrameMeta(
                source_id=st.source_id, batch_id=i, pad_index=st.source_id, frame_num=num,
                buf_pts=fr.pts, ntp_timestamp=now_ns if attach_ts else 0,
                source_frame_width=w, source_frame_height=h, pipeline_width=tw, pipeline_height=th,
                ingest_time=fr.produced,
            ))
        data = out if out is not None else stack_frames(frames)
        self.batches += 1
        bm = BatchMeta(max_frames_in_batch=self._props["batch-size"], frame_meta_list=metas)
        h0, w0 = frames[0].shape[:2]
        caps = batch[0][1].caps
        features = caps.features if caps is not None else ()
        fr = caps.get("framerate") if caps is not None else None
        key = (fmt, w0, h0, features, fr)
        out_caps = self._caps_cache.get(key)
        if out_caps is None:  # one caps object per format and size: pads compare caps by identity first
            out_caps = video_caps(fmt, w0, h0 * 2 // 3 if planar else h0, fr, features,
                                  **{"batch-size": self._props["batch-size"]})
            self._caps_cache[key] = out_caps
        return Buffer(data, pts=self._batch_pts(first_pts), caps=out_caps, batch_meta=bm, frame_num=self.batches - 1)

    def _make_gpu_buffer(self, batch: list[tuple[_SourceState, _Frame, int]]) -> Buffer:
        """GPU batch of frames in GPU memory, caps ``video/x-raw(memory:NVMM)``. NV12 frames already at the mux
        size stay NV12, as DeepStream's nvstreammux batches them: one ``(B, H*3/2, W)`` tensor (nvinfer scales and
        converts them straight into the network input; elements that need RGB convert on the GPU). Otherwise
        one ``(B, H, W, 3)`` RGB uint8 tensor at the mux size, converted and scaled in one pass per input size."""
        import torch

        out_w, out_h = self._props["width"], self._props["height"]
        device = next(fr.data.device for _, fr, _ in batch if is_gpu_data(fr.data))
        sizes = []
        for _, fr, _ in batch:
            w, h = frame_size(fr.data, buffer_format(fr.caps))
            sizes.append((w, h))
        tw, th = out_w or sizes[0][0], out_h or sizes[0][1]
        keep_nv12 = all(is_gpu_data(fr.data) and buffer_format(fr.caps) == "NV12" for _, fr, _ in batch) and all(
            size == (tw, th) for size in sizes)
        if keep_nv12:
            out = torch.stack([fr.data for _, fr, _ in batch])
        else:
            out = self._gpu_rgb_batch(batch, sizes, tw, th, device)
        now_ns = time.time_ns()
        attach_ts = self._props["attach-sys-ts"]
        metas, first_pts = [], -1
        for i, (st, fr, num) in enumerate(batch):
            if first_pts < 0 and fr.pts >= 0:
                first_pts = fr.pts
            metas.append(FrameMeta(
                source_id=st.source_id, batch_id=i, pad_index=st.source_id, frame_num=num,
                buf_pts=fr.pts, ntp_timestamp=now_ns if attach_ts else 0,
                source_frame_width=sizes[i][0], source_frame_height=sizes[i][1], pipeline_width=tw,
                pipeline_height=th))
        self.batches += 1
        bm = BatchMeta(max_frames_in_batch=self._props["batch-size"], frame_meta_list=metas)
        caps = batch[0][1].caps
        fr = caps.get("framerate") if caps is not None else None
        out_caps = video_caps("NV12" if keep_nv12 else "RGB", tw, th, fr, ("memory:NVMM",),
                              **{"batch-size": self._props["batch-size"]})
        return Buffer(out, pts=self._batch_pts(first_pts), caps=out_caps, batch_meta=bm, frame_num=self.batches - 1)

    def _gpu_rgb_batch(self, batch, sizes: list[tuple[int, int]], tw: int, th: int, device):
        """The frames of ``batch`` as one ``(B, th, tw, 3)`` RGB CUDA tensor (NV12 converted, sizes scaled)."""
        import torch

        from vistream.gpu.ops import nv12_to_rgb, resize_rgb

        pad_mode = bool(self._props["enable-padding"])
        interp = self._props["interpolation-method"]
        out = torch.empty((len(batch), th, tw, 3), dtype=torch.uint8, device=device)
        groups: dict[tuple, list[int]] = {}
        for i, (_, fr, _) in enumerate(batch):
            groups.setdefault((buffer_format(fr.caps), sizes[i]), []).append(i)
        for (fmt, _), idx in groups.items():
            data = [batch[i][1].data for i in idx]
            x = torch.stack([d if is_gpu_data(d) else torch.from_numpy(np.ascontiguousarray(d)).to(device)
                             for d in data])
            if fmt == "NV12":
                out[idx] = nv12_to_rgb(x, tw, th, pad=pad_mode, interpolation=interp)
            elif fmt in ("RGB", "RGBA", "RGBx", "BGR", "BGRA", "BGRx"):
                x = x[..., :3]
                if fmt.startswith("BGR"):
                    x = x.flip(-1)
                out[idx] = resize_rgb(x.contiguous(), tw, th, pad=pad_mode, interpolation=interp)
            else:
                raise ElementError(f"GPU batching supports NV12 and RGB/BGR(A) frames, not {fmt}", self.name)
        return out

    def _batch_pts(self, pts: int) -> int:
        """The batch's PTS (its first frame's), kept increasing: a partial batch pushed on timeout can start
        with another stream's frame of the same or an earlier time than the batch before it."""
        last = self._last_batch_pts
        if pts >= 0 and pts <= last:
            pts = last + 1
        if pts >= 0:
            self._last_batch_pts = pts
        return pts

    # --- stats ----------------------------------------------------------------------------------------------
    def source_stats(self) -> dict[int, dict[str, int]]:
        """Frames pushed, dropped and waiting per source id (sources still attached)."""
        with self._cond:
            return {s.source_id: {"frames": s.pushed, "dropped": s.dropped, "pending": len(s.frames)}
                    for s in self._sources.values()}
