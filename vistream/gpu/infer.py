"""``GpuInferEngine``: nvinfer on GPU batches. Pre-processing runs on the GPU for the whole batch, the model runs
with PyTorch CUDA (FP16 with ``network-mode=2``), only the (small) output tensors come back to the host, where
the same decoders, clustering and metadata code as the CPU path turn them into objects.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vistream.gpu import is_gpu_array
from vistream.gpu.ops import NetInput, letterbox_size, nv12_preprocess, nv12_to_rgb, preprocess, to_numpy
from vistream.infer.backends import Backend
from vistream.infer.backends.torch_cuda import TorchCudaBackend
from vistream.infer.config import (
    COLOR_BGR,
    COLOR_GRAY,
    DETECTOR,
    InferConfig,
    apply_overrides,
    load_infer_config,
)
from vistream.infer.engine import InferEngine, PendingBatch
from vistream.infer.preprocess import Transform
from vistream.meta import BatchMeta

GPU_DECODE_ENV = "VISTREAM_GPU_DECODE"  # 0: download the raw outputs and decode them on the host
CANDIDATES = "__candidates__"  # key of the pre-decoded (xyxy, scores, class ids) in a per-image output dict
SLEEP_WAIT_ENV = "VISTREAM_GPU_SLEEP_WAIT"  # 0: wait for results as the CUDA context does (spinning by default)
CANDIDATE_CAP = 1024  # YOLOX candidates per image copied without reading their count first (see _yolox_candidates)


class GpuWork:
    """A batch queued on the GPU by :meth:`GpuInferEngine.start_gpu`: its candidate copy's pinned buffers and
    the blocking-sync event that says the copy is done."""

    __slots__ = ("cap", "counts", "event", "exact", "frames", "rows", "transforms")

    def __init__(self) -> None:
        self.event = torch.cuda.Event(blocking=True)
        self.rows: torch.Tensor | None = None
        self.counts: torch.Tensor | None = None
        self.cap = 0
        self.frames = self.exact = None
        self.transforms: list[Transform] = []

    def done(self) -> bool:
        return self.event.query()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: until done); returns :meth:`done`."""
        if timeout is None:
            self.event.synchronize()
            return True
        deadline = time.monotonic() + timeout
        while not self.event.query():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.0005)
        return True


def _sync(event: torch.cuda.Event) -> None:
    """Wait for ``event`` (recorded on the current stream) asleep: it is a blocking-sync event, so the waiting
    thread sleeps instead of spinning a core the tracker needs. ``VISTREAM_GPU_SLEEP_WAIT=0``: wait for the
    stream as the CUDA context does (for measurements)."""
    if os.environ.get(SLEEP_WAIT_ENV, "1") == "0":
        torch.cuda.current_stream().synchronize()
    else:
        event.synchronize()


def _pinned_like(buf: torch.Tensor | None, t: torch.Tensor) -> torch.Tensor:
    """``buf`` when it already has ``t``'s shape and dtype, else a new pinned host tensor for it."""
    if buf is None or buf.shape != t.shape or buf.dtype != t.dtype:
        buf = torch.empty(t.shape, dtype=t.dtype, pin_memory=True)
    return buf


class GpuInferEngine(InferEngine):
    """:class:`~vistream.infer.InferEngine` whose primary (full-frame) inference takes a torch CUDA batch.

    ``GpuInferEngine(config, overrides=None, *, gpu_id=None, backend=None, cuda_graphs=None)``: the model runs
    on ``backend=torch`` (:class:`~vistream.infer.backends.torch_cuda.TorchCudaBackend`) unless the config names
    another backend explicitly. ``process(frames, batch_meta)`` accepts a ``(B, H, W, 3)`` uint8 RGB CUDA tensor
    or a ``(B, H*3/2, W)`` NV12 CUDA tensor (an ``nvstreammux`` GPU batch; row ``i`` is the frame with
    ``batch_id == i``; NV12 is scaled and converted straight into the network input) or NumPy frames; secondary
    (object) mode and non-torch backends run on a host copy with the CPU engine's code. Results are the same
    metadata as the CPU engine's.

    >>> eng = GpuInferEngine("samples/configs/config_infer_primary_yoloX.txt", {"batch-size": 16})  # doctest: +SKIP
    >>> eng.process(gpu_batch, batch_meta)  # doctest: +SKIP
    """

    def __init__(self, config: InferConfig | str | Path, overrides: Mapping[str, Any] | None = None, *,
                 gpu_id: int | None = None, backend: Backend | None = None, cuda_graphs: bool | None = None,
                 threads: int | None = None) -> None:
        if isinstance(config, InferConfig):
            cfg = apply_overrides(config, overrides) if overrides else config
        else:
            cfg = load_infer_config(config, overrides)
        if backend is None and ("backend" not in cfg.origins or cfg.backend == "torch"):
            backend = TorchCudaBackend(cfg.model_path, key=cfg.where(cfg.model_key), precision=cfg.network_mode,
                                       device_id=cfg.gpu_id if gpu_id is None else gpu_id, cuda_graphs=cuda_graphs)
        super().__init__(cfg, None, threads=threads, backend=backend, overlap=False)
        c = self.config
        offs = list(c.offsets) or [0.0]
        if len(offs) == 1:
            offs = offs * self.net.channels
        self.net_input = NetInput(self.net.width, self.net.height, self.net.channels,
                                  bgr=c.model_color_format == COLOR_BGR, gray=c.model_color_format == COLOR_GRAY,
                                  offsets=tuple(float(v) for v in offs), scale=float(c.net_scale_factor),
                                  keep_aspect=bool(c.maintain_aspect_ratio), symmetric=bool(c.symmetric_padding),
                                  pad_value=float(c.pad_value), interpolation=int(c.scaling_filter), nhwc=self.nhwc)
        self.on_gpu = isinstance(self.backend, TorchCudaBackend) and self.backend.device.type == "cuda"
        self._pinned: dict[str, torch.Tensor] = {}
        # YOLOX: decode and threshold on the GPU, download only the candidates (see _yolox_candidates)
        self.gpu_decode = (self.on_gpu and self.decoder_name == "yolox" and c.network_type == DETECTOR
                           and len(self.output_names) == 1 and not c.output_tensor_meta
                           and not c.raw_output_file_write and os.environ.get(GPU_DECODE_ENV, "1") != "0")
        self._grid: torch.Tensor | None = None
        self._event: torch.cuda.Event | None = None
        self._free_work: list[GpuWork] = []  # candidate copies' pinned buffers and events, reused
        if self.on_gpu:  # capture the graphs of every batch bucket before frames flow
            self.backend.warmup(self.config.batch_size)

    def process(self, frames, batch_meta: BatchMeta) -> int:
        if not (self.on_gpu and self.is_primary and is_gpu_array(frames)):
            if is_gpu_array(frames) and frames.dim() == 3:  # NV12 batch: the host engine takes RGB frames
                frames = nv12_to_rgb(frames)
            return super().process(to_numpy(frames) if is_gpu_array(frames) else frames, batch_meta)
        due = [fm for fm in batch_meta.frame_meta_list if self._due(fm)]
        if not due:
            return 0
        n = 0
        bs = self.config.batch_size
        for start in range(0, len(due), bs):
            chunk = due[start:start + bs]
            outputs, transforms = self.infer_gpu(self._select(frames, chunk))
            self.attach_outputs(chunk, outputs, transforms)
            n += len(chunk)
        return n

    def attach_outputs(self, frame_metas, outputs: dict[str, np.ndarray], transforms: list[Transform]) -> None:
        """Decode the outputs of :meth:`infer_gpu` (row ``i`` for ``frame_metas[i]``) into metadata, on the host;
        lets a pipeline run the GPU part of batch k+1 while this thread decodes batch k."""
        for fm, res in zip(frame_metas, self._postprocess_all(outputs, transforms), strict=True):
            self._attach_frame(fm, res)
            self._write_raw(res, f"source-{fm.source_id}_frame-{fm.frame_num}")

    def infer_gpu(self, frames: torch.Tensor) -> tuple[dict[str, np.ndarray], list[Transform]]:
        """Pre-process and run a ``(B, H, W, 3)`` uint8 RGB or ``(B, H*3/2, W)`` NV12 CUDA batch; outputs come
        back as NumPy arrays (for YOLOX, the decoded candidates above the threshold: ``{CANDIDATES: [(xyxy,
        scores, cls)] per image}``)."""
        if self.gpu_decode:
            return self.finish_gpu(self._start_gpu(frames, keep_grid=True))
        out, transforms = self._run_gpu(frames)
        for k in self.output_names:  # FP32 on the GPU, then one copy each into reused pinned host memory
            self._host_copy(k, out[k].float())
        self._wait()
        # copies: the pinned buffers are reused by the next call while results may still be in use
        host = {k: self._pinned[k].numpy().copy() for k in self.output_names}
        return host, transforms

    def _run_gpu(self, frames: torch.Tensor) -> tuple[dict[str, torch.Tensor], list[Transform]]:
        if frames.dim() == 3:  # NV12 (B, H*3/2, W): scaled and converted straight into the network input
            b, h, w = frames.shape[0], frames.shape[1] * 2 // 3, frames.shape[2]
            x = nv12_preprocess(frames, self.net_input, dtype=self.backend.dtype)
        else:
            b, h, w, _ = frames.shape
            x = preprocess(frames, self.net_input, dtype=self.backend.dtype)
        out = self.backend.infer_tensor(x)
        nw, nh, px, py = letterbox_size(w, h, self.net_input)
        return out, [Transform(nw / w, nh / h, px, py, 0.0, 0.0, float(w), float(h))] * b

    def start_gpu(self, frames: torch.Tensor) -> GpuWork:
        """Queue pre-processing, the model and the YOLOX candidate copy of a batch on the GPU and return at
        once; :meth:`finish_gpu` waits for it (several may be in flight, finished in order)."""
        return self._start_gpu(frames, keep_grid=False)

    def _start_gpu(self, frames: torch.Tensor, keep_grid: bool) -> GpuWork:
        out, transforms = self._run_gpu(frames)
        return self._candidates_start(out[self.output_names[0]], frames, transforms, keep_grid)

    def finish_gpu(self, work: GpuWork) -> tuple[dict[str, list], list[Transform]]:
        """The outputs of a :meth:`start_gpu` batch, as :meth:`infer_gpu` returns them."""
        return {CANDIDATES: self._candidates_finish(work)}, work.transforms

    def submit(self, frames, batch_meta: BatchMeta) -> PendingBatch:
        """Queue the GPU part of a batch and return (YOLOX on a GPU batch): the caller (the nvinfer element)
        takes the next batch while the GPU runs this one; :meth:`complete` waits and attaches the objects.
        Other cases run the batch here, as :meth:`InferEngine.submit` does."""
        if not (self.on_gpu and self.gpu_decode and self.is_primary and is_gpu_array(frames)):
            return super().submit(frames, batch_meta)
        due = [fm for fm in batch_meta.frame_meta_list if self._due(fm)]
        pending = PendingBatch(len(due))
        bs = self.config.batch_size
        for start in range(0, len(due), bs):
            chunk = due[start:start + bs]
            pending.slices.append((chunk, self.start_gpu(self._select(frames, chunk)), None, None))
        return pending

    def complete(self, pending: PendingBatch) -> int:
        if not pending.slices or not isinstance(pending.slices[0][1], GpuWork):
            return super().complete(pending)
        while pending.slices:
            chunk, work, _, _ = pending.slices.popleft()
            outputs, transforms = self.finish_gpu(work)
            self.attach_outputs(chunk, outputs, transforms)
        return pending.count

    @staticmethod
    def _select(frames: torch.Tensor, chunk) -> torch.Tensor:
        idx = [fm.batch_id for fm in chunk]
        if max(idx) >= frames.shape[0]:
            raise IndexError(f"frame_meta.batch_id={max(idx)} but the GPU batch has {frames.shape[0]} frames")
        return frames if idx == list(range(frames.shape[0])) else frames[idx]

    def _yolox_candidates(self, out: torch.Tensor) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The host YOLOX decoder's work on the GPU (same arithmetic, FP32): best class, score = objectness x
        class score, threshold, grid/stride box decoding. Only the candidates (tens of rows instead of the
        ``(B, 3549, 85)`` grid) are copied to the host, where clustering (NMS), top-k and metadata run as on the
        CPU path.

        Each image's first :data:`CANDIDATE_CAP` candidates (in anchor order) and its count are copied in one
        transfer that the host waits for on a blocking CUDA event: it sleeps instead of spinning a core while
        the model runs (an image with more candidates takes the exact path)."""
        return self._candidates_finish(self._candidates_start(out, None, [], keep_grid=True))

    def _candidates_start(self, out: torch.Tensor, frames, transforms: list[Transform],
                          keep_grid: bool = False) -> GpuWork:
        from vistream.infer.decoders.yolo import _yolox_grid

        if self._grid is None:
            grid, stride = _yolox_grid(self.net.width, self.net.height)
            self._grid = torch.from_numpy(np.concatenate([grid, stride], 1)).to(out.device)
        if out.shape[1] != self._grid.shape[0]:
            raise ValueError(f"YOLOX output has {out.shape[1]} anchors; a {self.net.width}x{self.net.height} input "
                             f"gives {self._grid.shape[0]}")
        out, keep, score, cls = self._yolox_scores(out)
        anchors = keep.shape[1]
        cap = min(CANDIDATE_CAP, anchors)
        # the kept anchors first, in anchor order: sort keys "not kept" then anchor index
        order = torch.argsort((~keep).to(torch.int32) * anchors + torch.arange(anchors, device=out.device,
                                                                                dtype=torch.int32), dim=1)[:, :cap]
        boxes = self._yolox_boxes(torch.gather(out, 1, order[..., None].expand(-1, -1, out.shape[2])),
                                  self._grid[order])
        packed = torch.cat([boxes, torch.gather(score, 1, order)[..., None],
                            torch.gather(cls, 1, order)[..., None].float()], 2)
        counts = keep.sum(1)
        work = self._free_work.pop() if self._free_work else GpuWork()
        work.rows = _pinned_like(work.rows, packed)
        work.counts = _pinned_like(work.counts, counts)
        work.rows.copy_(packed, non_blocking=True)
        work.counts.copy_(counts, non_blocking=True)
        work.cap, work.frames, work.transforms = cap, frames, transforms
        # the exact path (more candidates than the cap) needs the grid: kept when the caller finishes before
        # the model runs again (a CUDA graph reuses its output buffer), else the batch is run again
        work.exact = (out, keep, score, cls) if keep_grid else None
        work.event.record()
        return work

    def _candidates_finish(self, work: GpuWork) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        try:
            _sync(work.event)
            counts = work.counts.numpy().tolist()
            if max(counts, default=0) > work.cap:
                if work.exact is None:  # the model's output buffer was reused since: run the batch again
                    out, _ = self._run_gpu(work.frames)
                    work.exact = self._yolox_scores(out[self.output_names[0]])
                return self._yolox_candidates_exact(*work.exact)
            rows = work.rows.numpy()
            return [(rows[b, :c, :4].copy(), rows[b, :c, 4].copy(), rows[b, :c, 5].astype(np.int64))
                    for b, c in enumerate(counts)]
        finally:
            work.frames = work.exact = None
            self._free_work.append(work)

    def _yolox_candidates_exact(self, out, keep, score, cls) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Every candidate, however many (the count is read back first: a synchronisation)."""
        bi, ai = keep.nonzero(as_tuple=True)
        rows = torch.cat([self._yolox_boxes(out[bi, ai], self._grid[ai]), score[bi, ai, None],
                          cls[bi, ai, None].float(), bi[:, None].float()], 1).cpu().numpy()
        n = out.shape[0]
        order = np.searchsorted(rows[:, 6], np.arange(n + 1)) if len(rows) else np.zeros(n + 1, np.int64)
        return [(rows[a:z, :4].copy(), rows[a:z, 4].copy(), rows[a:z, 5].astype(np.int64))
                for a, z in zip(order[:-1], order[1:], strict=True)]

    def _yolox_scores(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The YOLOX grid in FP32, the anchors above ``pre-cluster-threshold`` (objectness and objectness x
        best class score), their scores and best classes."""
        out = out.float()
        obj = out[..., 4]
        cls_score, cls = out[..., 5:].max(-1)
        score = cls_score * obj
        return out, (obj >= self._min_score) & (score >= self._min_score), score, cls

    @staticmethod
    def _yolox_boxes(o: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """``x1, y1, x2, y2`` of YOLOX rows ``o`` at grid cells ``g`` (``gx, gy, stride``)."""
        cxcy = (o[..., :2] + g[..., :2]) * g[..., 2:]
        half = torch.exp(o[..., 2:4]) * g[..., 2:] * 0.5
        return torch.cat([cxcy - half, cxcy + half], -1)

    def _host_copy(self, name: str, t: torch.Tensor) -> torch.Tensor:
        """``t`` copied (asynchronously) into a reused pinned host buffer of its shape."""
        buf = self._pinned[name] = _pinned_like(self._pinned.get(name), t)
        buf.copy_(t, non_blocking=True)
        return buf

    def _wait(self) -> None:
        """Wait for the work queued so far on the current stream (see :func:`_sync`)."""
        if self._event is None:
            self._event = torch.cuda.Event(blocking=True)
        self._event.record()
        _sync(self._event)

    def _postprocess_all(self, outputs, transforms: list[Transform]):
        if CANDIDATES not in outputs:
            return super()._postprocess_all(outputs, transforms)
        cands = outputs[CANDIDATES]  # the GPU already decoded: cluster, scale, filter as usual, batch-wide
        return self._detections_batch([{CANDIDATES: c} for c in cands], cands, transforms)


def engine_for(config: str | Path, overrides: Mapping[str, Any] | None = None, **kwargs) -> InferEngine:
    """See :func:`vistream.gpu.infer_engine`."""
    from vistream.gpu import infer_engine

    return infer_engine(config, overrides, **kwargs)


__all__ = ["GpuInferEngine", "engine_for"]
