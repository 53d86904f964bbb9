"""``InferEngine``: what the ``nvinfer`` element does, as a library working on a :class:`~vistream.meta.BatchMeta`."""

from __future__ import annotations

import re
import time
import warnings
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vistream.infer import decoders
from vistream.infer.backends import Backend, BackendUnavailable, available_backends, create_backend
from vistream.infer.cluster import cluster, cluster_batch
from vistream.infer.config import (
    CLASSIFIER,
    CLUSTER_NONE,
    COLOR_GRAY,
    DETECTOR,
    INSTANCE_SEGMENTATION,
    OTHER,
    PROCESS_MODE_OBJECTS,
    SEGMENTATION,
    ConfigError,
    InferConfig,
    apply_overrides,
    load_infer_config,
    read_labels,
)
from vistream.infer.custom import detections_from_custom, labels_from_custom, load_parser
from vistream.infer.decoders.classifier import decode_classifier
from vistream.infer.decoders.segmentation import class_axis, decode_segmentation
from vistream.infer.preprocess import Preprocessor, Transform
from vistream.infer.types import DetectionParams, InferTensorMeta, LayerInfo, NetworkInfo, SegmentationMeta
from vistream.meta import (
    UNTRACKED_OBJECT_ID,
    BaseMeta,
    BatchMeta,
    ClassifierMeta,
    ColorParams,
    Detections,
    FrameMeta,
    LabelInfo,
    MetaType,
    ObjectMeta,
    UserMeta,
    make_object,
)

# Border colours per class id (cycled), RGBA 0..1.
PALETTE = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (1.0, 1.0, 0.0), (1.0, 0.0, 1.0),
           (0.0, 1.0, 1.0), (1.0, 0.5, 0.0), (0.5, 0.0, 1.0), (0.0, 0.5, 0.0), (0.5, 0.5, 0.5)]
# A tracked object is classified again when its area grew by more than this factor since its last inference.
REINFER_AREA_GROWTH = 1.2
# Cached classifier results of objects not seen for this many frames of their source are dropped.
CACHE_TTL_FRAMES = 300


@dataclass
class _CacheEntry:
    labels: list[LabelInfo]
    frame_num: int
    area: float
    last_seen: int


@dataclass
class InferResult:
    """What one image (frame or object crop) produced; the engine turns it into metadata."""

    detections: Detections | None = None
    labels: list[LabelInfo] | None = None
    segmentation: SegmentationMeta | None = None
    tensors: InferTensorMeta | None = None
    masks: list[np.ndarray | None] = field(default_factory=list)
    raw: dict[str, np.ndarray] = field(default_factory=dict)


class PendingBatch:
    """A batch started by :meth:`InferEngine.submit`: its model slices still running, or already done."""

    __slots__ = ("count", "slices")

    def __init__(self, count: int) -> None:
        self.count = count  # images inferred (or to be inferred) for this batch
        self.slices: deque = deque()  # (frame metas, future, transforms, batch array), in order

    def __len__(self) -> int:
        """Model slices still to wait for."""
        return len(self.slices)

    def done(self) -> bool:
        """Whether :meth:`InferEngine.complete` would return without waiting for the model."""
        return all(s[1].done() for s in self.slices)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for the model slices to finish; returns :meth:`done`."""
        jobs = [s[1] for s in self.slices]
        if all(isinstance(j, Future) for j in jobs):
            futures_wait(jobs, timeout)
        else:  # GPU work (vistream.gpu.infer.GpuWork): in order, each within what is left of the timeout
            deadline = None if timeout is None else time.monotonic() + timeout
            for j in jobs:
                if not j.wait(None if deadline is None else max(0.0, deadline - time.monotonic())):
                    break
        return self.done()


def complete_oldest(inflight: Sequence[PendingBatch], workers: int) -> bool:
    """Whether the oldest of the batches in flight (oldest first) should be completed now: it is done, or
    enough later model slices are queued to keep ``workers`` busy while the caller waits for it. The rule the
    nvinfer element follows to overlap the model with its own thread."""
    oldest = inflight[0]
    return oldest.done() or sum(len(p) for p in inflight) - len(oldest) >= workers


class InferEngine:
    """DeepStream ``nvinfer`` semantics on NumPy frames and a :class:`~vistream.meta.BatchMeta`.

    ``InferEngine(config, overrides=None, *, threads=None, backend=None, overlap=True)``: ``config`` is an nvinfer config
    path or an :class:`~vistream.infer.config.InferConfig`; ``overrides`` are element properties
    (``unique-id``, ``process-mode``, ``infer-on-gie-id``, ``infer-on-class-ids``, ``batch-size``,
    ``interval``, ``model-engine-file``, ``raw-output-file-write``) or config keys; ``threads`` sets ONNX
    Runtime's intra-op threads (default: config ``num-threads``, 2); ``backend`` is a ready
    :class:`~vistream.infer.backends.Backend` to use instead of creating one; ``overlap`` (default True) lets a
    worker thread run the model on image k while the caller's thread prepares image k+1 and decodes image k-1,
    when a batch needs several model calls (models with a fixed batch of 1). All checks (model file, input
    size, labels, decoder vs outputs) happen here, with :class:`ConfigError`.

    ``process(frames, batch_meta)`` runs inference for one batch and attaches results in place. ``frames[i]``
    is the HxWx3 uint8 **RGB** image of the frame whose ``frame_meta.batch_id == i``. Full-frame mode
    (``process-mode=1``) adds :class:`~vistream.meta.ObjectMeta` (detectors), frame user meta
    ``MetaType.SEGMENTATION`` (:class:`SegmentationMeta`) or ``MetaType.TENSOR_OUTPUT``
    (:class:`InferTensorMeta`, with ``output-tensor-meta=1``). Object mode (``process-mode=2``) works on the
    objects already in the batch (``operate-on-gie-id``, ``operate-on-class-ids``, ``input-object-min/max-*``):
    classifiers add :class:`~vistream.meta.ClassifierMeta`, detectors add child objects (``parent`` set, boxes
    in frame pixels). Frames of all sources share one inference batch (up to ``batch-size``); ``interval``
    skips frames per source. Returns the number of images inferred.

    ``infer_arrays(frames)`` is the pipeline-free entry point: one result per frame (``Detections`` with
    ``data["labels"]``, a list of ``LabelInfo`` or a ``SegmentationMeta``). ``reset(source_id)`` forgets a
    stream's interval count and cached classifier results (EOS); ``close()`` stops the overlap thread.
    One engine serves one caller at a time (it keeps per-source state and a reused input buffer).

    >>> eng = InferEngine("samples/configs/config_infer_primary_yoloX.txt", {"unique-id": 1})  # doctest: +SKIP
    >>> eng.process([rgb_frame], batch_meta)  # doctest: +SKIP
    >>> [(o.obj_label, o.rect_params.left) for o in batch_meta.frame_meta_list[0].obj_meta_list]  # doctest: +SKIP
    """

    def __init__(self, config: InferConfig | str | Path, overrides: Mapping[str, Any] | None = None, *,
                 threads: int | None = None, backend: Backend | None = None, overlap: bool = True) -> None:
        if isinstance(config, InferConfig):
            cfg = config if not overrides else apply_overrides(config, overrides)
        else:
            cfg = load_infer_config(config, overrides)
        self.config = cfg
        self.unique_id = cfg.gie_unique_id
        if cfg.network_type == INSTANCE_SEGMENTATION and cfg.cluster_mode != CLUSTER_NONE:
            raise ConfigError(f"{cfg.where('cluster-mode')}: instance segmentation (network-type=3) needs "
                              "cluster-mode=4")
        if backend is None:
            if cfg.backend not in available_backends():
                raise ConfigError(f"{cfg.where('backend')}: unknown backend '{cfg.backend}'; available: "
                                  f"{', '.join(available_backends())}")
            try:
                backend = create_backend(cfg.backend, cfg.model_path, key=f"{cfg.where(cfg.model_key)}",
                                         threads=threads or cfg.num_threads, precision=cfg.network_mode,
                                         device_id=cfg.gpu_id)
            except BackendUnavailable as e:
                raise ConfigError(f"{cfg.where('backend')}: {e}") from None
        self.backend = backend
        self._setup_input()
        self._setup_outputs()
        self.preprocess = Preprocessor(cfg, self.net.width, self.net.height, self.net.channels, self.nhwc)
        # Overlap inference with pre/post-processing when a batch needs several model calls (fixed batch 1).
        # Fixed-batch models run a batch as model-sized slices: up to `concurrency` of them at once (one
        # single-threaded run per core beats one multi-threaded run for small models), while this thread
        # prepares the next slices and decodes finished ones.
        self._concurrency = int(getattr(self.backend, "concurrency", 1))
        self._infer_slice = (getattr(self.backend, "infer_single_thread", self.backend.infer)
                             if self._concurrency > 1 else self.backend.infer)
        # submit()/complete() keep slices of consecutive batches in flight (batch-size=1 pipelines too): only
        # for fixed-batch models that run several single-threaded slices at once.
        self._async_slices = bool(overlap and self._concurrency > 1 and self.backend.max_batch)
        self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix=f"nvinfer-{self.unique_id}") if (
            self._async_slices or (overlap and self.backend.max_batch and self.backend.max_batch < cfg.batch_size)
        ) else None
        self._free_slices: list[np.ndarray] = []  # batch arrays of finished slices, reused by submit()
        self._frames_seen: dict[int, int] = {}
        self._cache: dict[tuple[int, int], _CacheEntry] = {}
        # One inference on a blank batch: proves the decoder fits the outputs before any stream starts.
        try:
            self._infer_images([np.zeros((self.net.height, self.net.width, 3), np.uint8)], None)
        except (ValueError, IndexError, TypeError, KeyError) as e:
            raise ConfigError(f"{cfg.source}: outputs of {Path(cfg.model_path).name} do not fit the "
                              f"{self.decoder_name} decoder: {e}") from None

    # ---- set-up -------------------------------------------------------------------------------------------

    def _setup_input(self) -> None:
        cfg, shape = self.config, self.backend.input_shape
        where = cfg.where(cfg.model_key)
        if "network-input-order" in cfg.origins:
            nhwc = cfg.network_input_order == 1
        else:  # DeepStream defaults to NCHW; recognise NHWC models (last dim 1 or 3) so configs need not say so
            nhwc = shape[3] in (1, 3) and shape[1] not in (1, 3)
        c, h, w = (shape[3], shape[1], shape[2]) if nhwc else (shape[1], shape[2], shape[3])
        if cfg.infer_dims:
            ic, ih, iw = cfg.infer_dims
            for name, model_v, cfg_v in (("channels", c, ic), ("height", h, ih), ("width", w, iw)):
                if model_v is not None and model_v != cfg_v:
                    raise ConfigError(f"{cfg.where('infer-dims')}: {name} {cfg_v} but the model input "
                                      f"'{self.backend.input_name}' has shape {list(shape)} "
                                      f"({'NHWC' if nhwc else 'NCHW'})")
            c, h, w = ic, ih, iw
        if None in (c, h, w):
            raise ConfigError(f"{where}: the model input has dynamic dims {list(shape)}; set infer-dims=C;H;W")
        want_c = 1 if cfg.model_color_format == COLOR_GRAY else 3
        if c != want_c:
            raise ConfigError(f"{cfg.where('model-color-format')}: format {cfg.model_color_format} needs {want_c} "
                              f"channel(s) but the model input has {c} (shape {list(shape)}, "
                              f"{'NHWC' if nhwc else 'NCHW'}; set network-input-order if the layout is wrong)")
        if cfg.offsets and len(cfg.offsets) not in (1, c):
            raise ConfigError(f"{cfg.where('offsets')}: {len(cfg.offsets)} values for a {c}-channel input")
        self.nhwc = nhwc
        self.net = NetworkInfo(int(w), int(h), int(c))

    def _setup_outputs(self) -> None:
        cfg = self.config
        names = list(self.backend.output_names)
        if cfg.output_blob_names:
            missing = [n for n in cfg.output_blob_names if n not in names]
            if missing:
                raise ConfigError(f"{cfg.where('output-blob-names')}: no output named {missing}; the model has {names}")
            names = list(cfg.output_blob_names)
        self.output_names = names
        shapes = {n: tuple(self.backend.output_shapes[n][1:]) for n in names}
        self.labels = read_labels(cfg)
        self.decoder_name = ""
        self._decoder = None
        self._custom = None
        kind = cfg.network_type
        if kind in (DETECTOR, INSTANCE_SEGMENTATION):
            self._setup_detector(shapes)
        elif kind == CLASSIFIER:
            self._setup_classifier(shapes)
        elif kind == SEGMENTATION:
            if len(names) != 1:
                raise ConfigError(f"{cfg.where('network-type')}: segmentation needs one output; the model has {names} "
                                  "(pick one with output-blob-names)")
            shape = shapes[names[0]]
            self._seg_axis = class_axis(shape, cfg.num_detected_classes, cfg.segmentation_output_order)
            classes = shape[self._seg_axis]
            n_labels = len(self.labels[0]) if self.labels else 0
            if n_labels and classes is not None and n_labels != classes:
                raise ConfigError(f"{cfg.where('labelfile-path')}: {n_labels} labels but the segmentation output "
                                  f"{names[0]} {list(shape)} has {classes} classes")
            if cfg.num_detected_classes and classes is not None and cfg.num_detected_classes != classes:
                raise ConfigError(f"{cfg.where('num-detected-classes')}: {cfg.num_detected_classes} but the "
                                  f"output has {classes} classes")
            self.decoder_name = "segmentation"
        elif kind == OTHER and not cfg.output_tensor_meta:
            warnings.warn(f"{cfg.source}: network-type=100 without output-tensor-meta=1 attaches nothing",
                          stacklevel=3)

    def _setup_detector(self, shapes: dict[str, tuple]) -> None:
        cfg = self.config
        n_labels = len(self.labels[0]) if self.labels else 0
        if cfg.num_detected_classes and n_labels and n_labels != cfg.num_detected_classes:
            raise ConfigError(f"{cfg.where('labelfile-path')}: {n_labels} labels but num-detected-classes="
                              f"{cfg.num_detected_classes}")
        self.num_classes = cfg.num_detected_classes or n_labels
        func = cfg.parse_bbox_func_name
        family = decoders.builtin_detector(func) if func else decoders.detect_family(shapes, self.net, self.num_classes)
        if func and family is None:
            self._custom = load_parser(cfg, "parse-bbox-func-name")
            self.decoder_name = f"custom:{func}"
        elif family is None:
            raise ConfigError(f"{cfg.where('parse-bbox-func-name')}: cannot tell the detector family from the outputs "
                              f"{ {k: list(v) for k, v in shapes.items()} }; set parse-bbox-func-name to one of "
                              f"{', '.join(decoders.DETECTORS)} or a Python parser")
        else:
            self._decoder = decoders.DETECTORS[family]
            self.decoder_name = family
        thresholds = [cfg.class_attrs_all.pre_cluster_threshold] + [a.pre_cluster_threshold
                                                                     for a in cfg.class_attrs_by_id.values()]
        self._min_score = float(min(thresholds))

    def _setup_classifier(self, shapes: dict[str, tuple]) -> None:
        cfg = self.config
        if cfg.parse_classifier_func_name:
            self._custom = load_parser(cfg, "parse-classifier-func-name")
            self.decoder_name = f"custom:{cfg.parse_classifier_func_name}"
            return
        self.decoder_name = "softmax"
        if not self.labels:
            return
        if len(self.labels) != len(self.output_names):
            raise ConfigError(f"{cfg.where('labelfile-path')}: {len(self.labels)} label lines but the classifier "
                              f"has {len(self.output_names)} output layers {self.output_names} (one ';'-separated "
                              "line per output layer)")
        for i, name in enumerate(self.output_names):
            size = int(np.prod([d for d in shapes[name] if d is not None]))
            if len(self.labels[i]) != size:
                raise ConfigError(f"{cfg.where('labelfile-path')}: line {i + 1} has {len(self.labels[i])} labels but "
                                  f"output {name} {list(shapes[name])} has {size} classes")

    # ---- public API ---------------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return (f"InferEngine(gie {self.unique_id}, {Path(self.config.model_path).name}, "
                f"{self.net.width}x{self.net.height}x{self.net.channels}, decoder={self.decoder_name or 'none'}, "
                f"batch-size={self.config.batch_size}, process-mode={self.config.process_mode})")

    def close(self) -> None:
        """Stop the overlap worker thread (the engine still works afterwards, without overlap)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        close = getattr(self.backend, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> InferEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def is_primary(self) -> bool:
        return self.config.process_mode != PROCESS_MODE_OBJECTS

    def reset(self, source_id: int | None = None) -> None:
        """Forget interval counters and cached classifier results (of one source, or all): call on EOS."""
        if source_id is None:
            self._frames_seen.clear()
            self._cache.clear()
        else:
            self._frames_seen.pop(source_id, None)
            self._cache = {k: v for k, v in self._cache.items() if k[0] != source_id}

    def process(self, frames: Sequence[np.ndarray] | np.ndarray, batch_meta: BatchMeta) -> int:
        """Infer one batch and attach the results to ``batch_meta`` in place; returns the number of images run."""
        due = self._due_frames(batch_meta)
        if not due:
            return 0
        if self.is_primary:
            images = [self._frame(frames, fm) for fm in due]
            n = 0
            for start in range(0, len(due), self.config.batch_size):
                chunk = due[start:start + self.config.batch_size]
                self._attach_results(chunk, self._infer_images(images[start:start + len(chunk)], None))
                n += len(chunk)
            return n
        return self._process_objects(frames, due)

    @property
    def concurrency(self) -> int:
        """Model slices the engine runs at once (its worker threads); 1 when it does not overlap batches."""
        return self._concurrency if self._async_slices else 1

    def submit(self, frames: Sequence[np.ndarray] | np.ndarray, batch_meta: BatchMeta) -> PendingBatch:
        """Start inferring one batch; :meth:`complete` waits for it and attaches the results.

        Several batches may be in flight: pre-processing happens here, the model runs on the engine's worker
        threads, so a caller (the nvinfer element) can submit the next batch while earlier ones run. Batches
        must be completed in the order they were submitted. Engines or modes that cannot overlap (secondary
        mode, dynamic-batch or GPU models) run the batch here, and :meth:`complete` only returns its count."""
        if not (self._async_slices and self.is_primary and self._pool is not None):
            return PendingBatch(self.process(frames, batch_meta))
        due = self._due_frames(batch_meta)
        images = [self._frame(frames, fm) for fm in due]
        step = self.backend.max_batch
        pending = PendingBatch(len(due))
        for s0 in range(0, len(images), step):
            buf = self._free_slices.pop() if self._free_slices else self.preprocess.new_batch(step)
            _, transforms = self.preprocess(images[s0:s0 + step], None, out=buf)
            k = len(transforms)  # a short last slice: the padding's outputs are dropped
            pending.slices.append((due[s0:s0 + k], self._pool.submit(self._infer_slice, buf), transforms, buf))
        return pending

    def complete(self, pending: PendingBatch) -> int:
        """Wait for a batch from :meth:`submit`, attach its results to its frame metas; returns images run."""
        while pending.slices:
            fms, fut, transforms, buf = pending.slices.popleft()
            outputs = fut.result()
            self._free_slices.append(buf)
            # one transform per real image: the outputs of a short slice's padding are never read
            self._attach_results(fms, self._postprocess_all(outputs, transforms))
        return pending.count

    def infer_arrays(self, frames: Sequence[np.ndarray] | np.ndarray) -> list[Detections | list[LabelInfo] | SegmentationMeta | InferTensorMeta | None]:
        """Full-frame inference on RGB frames without metadata; one result per frame (no interval)."""
        out: list = []
        for start in range(0, len(frames), self.config.batch_size):
            imgs = [_check_image(f, start + i) for i, f in enumerate(frames[start:start + self.config.batch_size])]
            for res in self._infer_images(imgs, None):
                out.append(res.detections if res.detections is not None else
                           res.labels if res.labels is not None else
                           res.segmentation if res.segmentation is not None else res.tensors)
        return out

    # ---- internals ----------------------------------------------------------------------------------------

    def _due_frames(self, batch_meta: BatchMeta) -> list[FrameMeta]:
        """The batch's frames to infer now (``interval``), after checking each has its own ``batch_id``."""
        ids = [fm.batch_id for fm in batch_meta.frame_meta_list]
        if len(set(ids)) != len(ids):
            raise ValueError(f"frame metas of one batch share batch_id values {ids}: each frame needs its own "
                             "index into frames")
        return [fm for fm in batch_meta.frame_meta_list if self._due(fm)]

    def _attach_results(self, frame_metas: list[FrameMeta], results: list[InferResult]) -> None:
        for fm, res in zip(frame_metas, results, strict=True):
            self._attach_frame(fm, res)
            self._write_raw(res, f"source-{fm.source_id}_frame-{fm.frame_num}")

    def _due(self, fm: FrameMeta) -> bool:
        seen = self._frames_seen.get(fm.source_id, 0)
        self._frames_seen[fm.source_id] = seen + 1
        return seen % (self.config.interval + 1) == 0

    @staticmethod
    def _frame(frames, fm: FrameMeta) -> np.ndarray:
        if fm.batch_id >= len(frames):
            raise IndexError(f"frame_meta.batch_id={fm.batch_id} (source {fm.source_id}) but only {len(frames)} "
                             "frames were given")
        return _check_image(frames[fm.batch_id], fm.batch_id)

    def _infer_images(self, images: list[np.ndarray], rois: list[tuple[int, int, int, int]] | None) -> list[InferResult]:
        results: list[InferResult] = []
        bs = self.config.batch_size
        for start in range(0, len(images), bs):
            imgs = images[start:start + bs]
            sub_rois = rois[start:start + bs] if rois is not None else None
            step = self.backend.max_batch or len(imgs)
            if step >= len(imgs) or self._pool is None:
                batch, transforms = self.preprocess(imgs, sub_rois)
                # Fixed-batch models: run each model-sized slice and decode it straight away (no output concat).
                for s0 in range(0, len(batch), step):
                    outputs = self.backend.infer(batch[s0:s0 + step])
                    results.extend(self._postprocess_all(outputs, transforms[s0:s0 + step]))
            else:
                results.extend(self._pipelined(imgs, sub_rois, step))
        return results

    def _pipelined(self, imgs: list[np.ndarray], rois, step: int) -> list[InferResult]:
        """Model batch smaller than the batch: infer slice k on the worker thread while this thread prepares
        slice k+1 and decodes slice k-1 (ONNX Runtime, OpenCV and NumPy release the GIL)."""
        self.preprocess.reserve(len(imgs))
        out: list[InferResult] = []
        pending: deque = deque()
        for s0 in range(0, len(imgs), step):
            batch, tfs = self.preprocess(imgs[s0:s0 + step], rois[s0:s0 + step] if rois is not None else None, start=s0)
            pending.append((self._pool.submit(self._infer_slice, batch), tfs))
            if len(pending) > self._concurrency:  # keep every worker busy; decode the oldest result meanwhile
                fut, prev_tfs = pending.popleft()
                out.extend(self._postprocess_all(fut.result(), prev_tfs))
        while pending:
            fut, prev_tfs = pending.popleft()
            out.extend(self._postprocess_all(fut.result(), prev_tfs))
        return out

    def _postprocess_all(self, outputs: dict[str, np.ndarray], transforms: list[Transform]) -> list[InferResult]:
        outs = [{name: outputs[name][i] for name in self.output_names} for i in range(len(transforms))]
        if self.config.network_type == DETECTOR:
            return self._detections_batch(outs, [self._decoded(o)[:3] for o in outs], transforms)
        return [self._postprocess(o, tf) for o, tf in zip(outs, transforms, strict=True)]

    def _detections_batch(self, outs: list[dict], decoded: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                          transforms: list[Transform]) -> list[InferResult]:
        """Clustering, box mapping and filters for the decoded boxes of a whole batch in one pass
        (:func:`~vistream.infer.cluster.cluster_batch`): the results of :meth:`_detect` frame by frame, with a
        fixed number of array operations per batch instead of per frame."""
        cfg = self.config
        n = len(outs)
        counts = [len(d[1]) for d in decoded]
        if sum(counts):
            xyxy = np.concatenate([np.asarray(d[0]).reshape(-1, 4) for d in decoded])
            scores = np.concatenate([np.asarray(d[1]).reshape(-1) for d in decoded])
            cls = np.concatenate([np.asarray(d[2]).reshape(-1) for d in decoded])
            frame = np.repeat(np.arange(n), counts)
            xyxy, scores, cls, frame = cluster_batch(xyxy, scores, cls, frame, cfg)
        else:
            xyxy, scores, cls, frame = (np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                                        np.zeros(0, np.int64), np.zeros(0, np.int64))
        boxes = Transform.to_frame_many(xyxy, transforms, frame)
        shared = Transform.common(transforms)
        if shared is not None:
            offset_y, src_h = shared.offset_y, shared.src_h
        else:
            offset_y = np.array([tf.offset_y for tf in transforms], np.float32)[frame]
            src_h = np.array([tf.src_h for tf in transforms], np.float32)[frame]
        keep = self._size_and_roi_filter(boxes, cls, offset_y, src_h)
        boxes, scores, cls, frame = boxes[keep], scores[keep], cls[keep], frame[keep]
        labels = self._label_array(cls)
        bounds = np.searchsorted(frame, np.arange(n + 1))
        results = []
        for i, out in enumerate(outs):
            a, z = bounds[i], bounds[i + 1]
            dets = Detections(boxes[a:z], scores[a:z], cls[a:z])
            dets.data["labels"] = labels[a:z]
            res = InferResult(raw=out, detections=dets)
            if cfg.output_tensor_meta:
                res.tensors = InferTensorMeta(self.unique_id, [LayerInfo(k, v) for k, v in out.items()], self.net,
                                              bool(cfg.maintain_aspect_ratio))
            results.append(res)
        return results

    def _label_array(self, cls: np.ndarray) -> np.ndarray:
        """The label text of each class id (the id itself when the labels file has no name for it)."""
        names = self.labels[0] if self.labels else []
        return np.array([names[c] if 0 <= c < len(names) else str(c) for c in cls.tolist()], dtype=object)

    def _postprocess(self, out: dict[str, np.ndarray], tf: Transform) -> InferResult:
        cfg = self.config
        res = InferResult(raw=out)
        if cfg.output_tensor_meta:
            res.tensors = InferTensorMeta(self.unique_id, [LayerInfo(k, v) for k, v in out.items()], self.net,
                                          bool(cfg.maintain_aspect_ratio))
        kind = cfg.network_type
        if kind in (DETECTOR, INSTANCE_SEGMENTATION):
            res.detections, res.masks = self._detect(out, tf)
        elif kind == CLASSIFIER:
            if self._custom is not None:
                res.labels = labels_from_custom(self._custom([LayerInfo(k, v) for k, v in out.items()], self.net,
                                                             cfg.classifier_threshold))
            else:
                res.labels = decode_classifier([out[n] for n in self.output_names], self.labels,
                                               cfg.classifier_threshold)
        elif kind == SEGMENTATION:
            t = next(iter(out.values()))
            cmap = decode_segmentation(t, self._seg_axis, cfg.segmentation_threshold)
            h, w = cmap.shape
            content = (int(round(tf.pad_x)), int(round(tf.pad_y)), int(round(tf.src_w * tf.scale_x)),
                       int(round(tf.src_h * tf.scale_y)))
            res.segmentation = SegmentationMeta(self.unique_id, int(t.shape[self._seg_axis]), w, h, cmap,
                                                self.labels[0] if self.labels else [], int(tf.src_w), int(tf.src_h),
                                                content, (self.net.width, self.net.height))
        return res

    def _decoded(self, out: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list | None]:
        """One image's boxes (network pixels), scores and class ids before clustering, from the custom parser
        (its raw objects last) or the built-in decoder (None last)."""
        if self._custom is None:
            return (*self._decoder(out, self.net, self.num_classes, self._min_score), None)
        cfg = self.config
        params = DetectionParams(self.num_classes,
                                 [cfg.class_attrs(c).pre_cluster_threshold for c in range(self.num_classes)],
                                 [cfg.class_attrs(c).post_cluster_threshold for c in range(self.num_classes)])
        raw = self._custom([LayerInfo(k, v) for k, v in out.items()], self.net, params)
        return (*detections_from_custom(raw), raw)

    def _detect(self, out: dict[str, np.ndarray], tf: Transform) -> tuple[Detections, list]:
        cfg = self.config
        xyxy, scores, cls, raw = self._decoded(out)
        masks = [getattr(o, "mask", None) for o in (raw or [])] if cfg.network_type == INSTANCE_SEGMENTATION else []
        if cfg.network_type == INSTANCE_SEGMENTATION:
            keep = np.array([scores[i] >= cfg.class_attrs(int(c)).pre_cluster_threshold
                             and int(c) not in cfg.filter_out_class_ids for i, c in enumerate(cls)], bool)
            idx = np.nonzero(keep)[0] if len(cls) else np.zeros(0, np.int64)
            xyxy, scores, cls = xyxy[idx], scores[idx], cls[idx]
            masks = [masks[i] if i < len(masks) else None for i in idx]
        else:
            xyxy, scores, cls = cluster(xyxy, scores, cls, cfg)
        boxes = tf.to_frame(xyxy)
        keep = self._size_and_roi_filter(boxes, cls, tf.offset_y, tf.src_h)
        idx = np.nonzero(keep)[0]
        dets = Detections(boxes[idx], scores[idx], cls[idx])
        dets.data["labels"] = self._label_array(dets.class_id)
        return dets, [masks[i] for i in idx] if masks else []

    def _size_and_roi_filter(self, boxes: np.ndarray, cls: np.ndarray, offset_y: float | np.ndarray,
                             src_h: float | np.ndarray) -> np.ndarray:
        """Boxes that pass ``detected-min/max-w/h`` and ``roi-top/bottom-offset`` of their class; ``offset_y``
        and ``src_h`` (the inferred region's top and height) are numbers or one per box."""
        cfg = self.config
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        keep = (w > 0) & (h > 0)
        for c in np.unique(cls):
            a = cfg.class_attrs(int(c))
            m = cls == c
            bad = (w < a.detected_min_w) | (h < a.detected_min_h)
            if a.detected_max_w > 0:
                bad |= w > a.detected_max_w
            if a.detected_max_h > 0:
                bad |= h > a.detected_max_h
            if a.roi_top_offset > 0:
                bad |= boxes[:, 1] < offset_y + a.roi_top_offset
            if a.roi_bottom_offset > 0:
                bad |= boxes[:, 3] > offset_y + src_h - a.roi_bottom_offset
            keep &= ~(m & bad)
        return keep

    def _attach_frame(self, fm: FrameMeta, res: InferResult) -> None:
        fm.bInferDone = 1
        if res.detections is not None:
            for obj in self._objects(res, parent=None):
                fm.add_obj_meta(obj)
        if res.segmentation is not None:
            fm.add_user_meta(UserMeta(res.segmentation, _base(MetaType.SEGMENTATION)))
        if res.tensors is not None:
            fm.add_user_meta(UserMeta(res.tensors, _base(MetaType.TENSOR_OUTPUT)))

    def _objects(self, res: InferResult, parent: ObjectMeta | None) -> list[ObjectMeta]:
        d = res.detections
        objs = []
        for i in range(len(d)):
            x1, y1, x2, y2 = (float(v) for v in d.xyxy[i])
            c = int(d.class_id[i])
            color = ColorParams(*PALETTE[c % len(PALETTE)], 1.0)
            obj = make_object(x1, y1, x2 - x1, y2 - y1, class_id=c, confidence=float(d.confidence[i]),
                              label=str(d.data["labels"][i]), component_id=self.unique_id, border_color=color)
            if parent is not None:
                obj.parent = parent
            if i < len(res.masks) and res.masks[i] is not None:
                m = np.asarray(res.masks[i], np.float32)
                obj.mask_params.data, obj.mask_params.height, obj.mask_params.width = m, m.shape[0], m.shape[1]
            objs.append(obj)
        return objs

    def _process_objects(self, frames, due: list[FrameMeta]) -> int:
        cfg = self.config
        todo: list[tuple[FrameMeta, ObjectMeta, np.ndarray, tuple[int, int, int, int]]] = []
        for fm in due:
            img = None
            for obj in list(fm.obj_meta_list):  # snapshot: never infer on objects this call adds
                if obj.unique_component_id == self.unique_id or not self._wants(obj):
                    continue
                if img is None:
                    img = self._frame(frames, fm)
                roi = _roi(obj, img.shape[1], img.shape[0])
                if roi is None:
                    continue
                if cfg.network_type == CLASSIFIER and self._use_cache(fm, obj):
                    continue
                todo.append((fm, obj, img, roi))
        if not todo:
            return 0
        results = self._infer_images([t[2] for t in todo], [t[3] for t in todo])
        for (fm, obj, _, _), res in zip(todo, results, strict=True):
            if res.labels is not None:
                self._attach_labels(obj, res.labels)
                if obj.object_id != UNTRACKED_OBJECT_ID:
                    r = obj.rect_params
                    self._cache[(fm.source_id, obj.object_id)] = _CacheEntry(res.labels, fm.frame_num,
                                                                             r.width * r.height, fm.frame_num)
            if res.detections is not None:
                for child in self._objects(res, parent=obj):
                    fm.add_obj_meta(child, parent=obj)
            if res.segmentation is not None:
                obj.add_user_meta(UserMeta(res.segmentation, _base(MetaType.SEGMENTATION)))
            if res.tensors is not None:
                obj.add_user_meta(UserMeta(res.tensors, _base(MetaType.TENSOR_OUTPUT)))
            self._write_raw(res, f"source-{fm.source_id}_frame-{fm.frame_num}_object-{id(obj):x}")
        self._evict(due)
        return len(todo)

    def _wants(self, obj: ObjectMeta) -> bool:
        cfg = self.config
        if cfg.operate_on_gie_id >= 0 and obj.unique_component_id != cfg.operate_on_gie_id:
            return False
        if cfg.operate_on_class_ids and obj.class_id not in cfg.operate_on_class_ids:
            return False
        w, h = obj.rect_params.width, obj.rect_params.height
        if w < cfg.input_object_min_width or h < cfg.input_object_min_height:
            return False
        if cfg.input_object_max_width and w > cfg.input_object_max_width:
            return False
        return not (cfg.input_object_max_height and h > cfg.input_object_max_height)

    def _use_cache(self, fm: FrameMeta, obj: ObjectMeta) -> bool:
        """Attach cached labels of a tracked object and return True, unless it needs a new inference."""
        if obj.object_id == UNTRACKED_OBJECT_ID:
            return False
        entry = self._cache.get((fm.source_id, obj.object_id))
        if entry is None:
            return False
        entry.last_seen = fm.frame_num
        area = obj.rect_params.width * obj.rect_params.height
        interval = self.config.secondary_reinfer_interval
        if area > entry.area * REINFER_AREA_GROWTH or (interval > 0 and fm.frame_num - entry.frame_num >= interval):
            return False
        self._attach_labels(obj, entry.labels)
        return True

    def _evict(self, due: list[FrameMeta]) -> None:
        if not self._cache:
            return
        now = {fm.source_id: fm.frame_num for fm in due}
        self._cache = {k: v for k, v in self._cache.items()
                       if k[0] not in now or now[k[0]] - v.last_seen <= CACHE_TTL_FRAMES}

    def _attach_labels(self, obj: ObjectMeta, labels: list[LabelInfo]) -> None:
        if not labels:
            return
        cm = ClassifierMeta(unique_component_id=self.unique_id, classifier_type=self.config.classifier_type)
        for li in labels:
            cm.label_info_list.append(LabelInfo(li.result_label, li.result_class_id, li.result_prob, li.label_id,
                                                li.num_classes))
        obj.add_classifier_meta(cm)
        text = " ".join(li.result_label for li in labels)
        obj.text_params.display_text = f"{obj.text_params.display_text} {text}".strip()

    def _write_raw(self, res: InferResult, tag: str) -> None:
        """``raw-output-file-write=1``: every output tensor as raw float32 ``gie-<id>_<tag>_<layer>.bin``."""
        if not self.config.raw_output_file_write:
            return
        for name, t in res.raw.items():
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
            np.ascontiguousarray(t).tofile(f"gie-{self.unique_id}_{tag}_{safe}.bin")


def _base(t: MetaType) -> BaseMeta:
    return BaseMeta(int(t))


def _check_image(img: np.ndarray, index: int) -> np.ndarray:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        desc = f"{type(img).__name__} {getattr(img, 'dtype', '')} {list(getattr(img, 'shape', []))}"
        raise ValueError(f"frame {index}: expected an HxWx3 uint8 RGB image, got {desc}")
    return img


def _roi(obj: ObjectMeta, w: int, h: int) -> tuple[int, int, int, int] | None:
    """The object's box as integer pixels (floor/ceil), clipped to the frame; None if empty."""
    r = obj.rect_params
    x1, y1 = max(0, int(np.floor(r.left))), max(0, int(np.floor(r.top)))
    x2, y2 = min(w, int(np.ceil(r.left + r.width))), min(h, int(np.ceil(r.top + r.height)))
    if x2 - x1 < 1 or y2 - y1 < 1:
        return None
    return x1, y1, x2, y2
