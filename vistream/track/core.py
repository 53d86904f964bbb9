"""``TrackerCore``: the body of the ``nvtracker`` element, working on a :class:`~vistream.meta.BatchMeta` in place."""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vistream.meta import (
    BaseMeta,
    BatchMeta,
    BboxCoords,
    Detections,
    FrameMeta,
    MetaType,
    UserMeta,
    make_object,
)
from vistream.track.algorithms import PastFrameTrack, StreamTracker, make_tracker
from vistream.track.batch import batchable, update_batch
from vistream.track.config import TrackerConfig, TrackerConfigError, load_tracker_config, resolve_ll_lib_file
from vistream.track.geometry import clip_xyxy
from vistream.track.pastframe import (
    NvDsPastFrameObj,
    NvDsPastFrameObjBatch,
    NvDsPastFrameObjList,
    NvDsPastFrameObjStream,
)

# nvtracker's GStreamer properties: name -> (python type, default, description). The element exposes these.
TRACKER_PROPERTIES: dict[str, tuple[type, Any, str]] = {
    "tracker-width": (int, 640, "frame width the tracker works at (re-ID crops are cut from the full frame)"),
    "tracker-height": (int, 384, "frame height the tracker works at"),
    "ll-lib-file": (str, "libnvds_nvmultiobjecttracker.so", "DeepStream low-level library name; mapped"),
    "ll-config-file": (str, "", "DeepStream NvMultiObjectTracker YAML config"),
    "gpu-id": (int, 0, "GPU for the re-ID network when compute-hw asks for one"),
    "display-tracking-id": (bool, True, "append the object id to the label text ('person 12')"),
    "compute-hw": (int, 0, "0 default (CPU), 1 GPU, 2 VIC (as GPU): where the re-ID network runs"),
    "tracking-surface-type": (int, 0, "surface stream type to track; 0 tracks every frame"),
    "user-meta-pool-size": (int, 32, "max past-frame target lists attached per batch"),
}


class TrackerCore:
    """Multi-stream object tracker that updates a batch's metadata in place (DeepStream ``nvtracker``).

    Per frame of the batch (``frame_meta.source_id`` selects the stream's own tracker, so streams never
    interact) the objects in ``frame_meta.obj_meta_list`` are tracked, and the list is rewritten to hold what
    the tracker reports, as DeepStream does:

    * detections continuing a confirmed target keep their :class:`ObjectMeta`, now with ``object_id`` (unique
      across all streams, never reused), ``tracker_confidence``, ``tracker_bbox_info`` and, with
      ``display_tracking_id``, label text ``"person 12"``;
    * detections of targets still in probation, below ``minDetectorConfidence`` or duplicating a target are
      removed, so no object without an id reaches counting downstream;
    * targets the tracker reports without a detection get a new ObjectMeta with ``confidence`` -0.1: all live
      targets on frames the detector skipped (``frame_meta.bInferDone == 0`` and no objects: nvinfer
      ``interval``), and shadow-tracked targets when the config sets ``TargetManagement.outputShadowTracks``.

    With ``ReID.outputReidTensor: 1`` the appearance tracker attaches each detection's re-ID vector
    (float32, L2-normalised) as object user meta of type ``MetaType.TRACKER_REID``.

    Frames of targets that were not reported when they happened are attached to the batch as user meta of
    type ``MetaType.TRACKER_PAST_FRAME`` (:class:`~vistream.track.pastframe.NvDsPastFrameObjBatch`).

    Args:
        config: a :class:`TrackerConfig`, a path to a DeepStream tracker YAML, or None (IOU defaults).
        tracker_width, tracker_height: nvtracker's processing resolution (validated; boxes stay in frame pixels).
        display_tracking_id: append ids to ``text_params.display_text``.
        ll_lib_file: DeepStream ``ll-lib-file`` value; legacy libraries force their algorithm.
        embedder: re-ID callable ``(frame_rgb, xyxy) -> (N, D)`` for the appearance tracker; default: the
            ONNX model of ``ReID.onnxFile``.
        compute_hw, gpu_id: where the re-ID network runs (0: CPU; 1 or 2: CUDA device ``gpu_id``, if present).
        user_meta_pool_size: max past-frame target lists per batch.
        tracking_surface_type: with a value > 0, only frames whose ``misc_frame_info[0]`` equals it are tracked.

    Example::

        core = TrackerCore("samples/configs/tracker/config_tracker_NvSORT.yml", display_tracking_id=True)
        for batch_meta in batches:           # objects from the detector already in each frame's obj_meta_list
            core.process(batch_meta)         # frames=[rgb per batch_id] only for the re-ID tracker
        core.reset_source(0)                 # on EOS of source 0, or when the stream is removed
    """

    def __init__(self, config: TrackerConfig | str | os.PathLike | None = None, tracker_width: int = 640,
                 tracker_height: int = 384, display_tracking_id: bool = True, *, ll_lib_file: str | None = None,
                 embedder=None, compute_hw: int = 0, gpu_id: int = 0, user_meta_pool_size: int = 32,
                 tracking_surface_type: int = 0) -> None:
        if not isinstance(config, TrackerConfig):
            config = load_tracker_config(config)
        forced = resolve_ll_lib_file(ll_lib_file)
        if forced is not None:
            config.algorithm = forced
        for name, value in (("tracker-width", tracker_width), ("tracker-height", tracker_height),
                            ("user-meta-pool-size", user_meta_pool_size)):
            if not isinstance(value, int | np.integer) or value <= 0:
                raise TrackerConfigError(f"nvtracker: {name} must be a positive integer, got {value!r}")
        if compute_hw not in (0, 1, 2):
            raise TrackerConfigError(f"nvtracker: compute-hw must be 0, 1 or 2, got {compute_hw!r}")
        if not isinstance(gpu_id, int) or gpu_id < 0:
            raise TrackerConfigError(f"nvtracker: gpu-id must be >= 0, got {gpu_id!r}")
        if not isinstance(tracking_surface_type, int) or tracking_surface_type < 0:
            raise TrackerConfigError(f"nvtracker: tracking-surface-type must be >= 0, got {tracking_surface_type!r}")
        self.config = config
        self.tracker_width = int(tracker_width)
        self.tracker_height = int(tracker_height)
        self.display_tracking_id = bool(display_tracking_id)
        self.compute_hw = compute_hw
        self.gpu_id = gpu_id
        self.user_meta_pool_size = int(user_meta_pool_size)
        self.tracking_surface_type = tracking_surface_type
        self.needs_frames = config.algorithm == "DeepSORT"
        self._embedder = embedder
        self._next_id = itertools.count(1).__next__
        self._trackers: dict[int, StreamTracker] = {}

    @classmethod
    def from_properties(cls, props: Mapping[str, Any], embedder=None) -> TrackerCore:
        """Build from nvtracker properties by their GStreamer names (``{"ll-config-file": ..., ...}``)."""
        unknown = set(props) - set(TRACKER_PROPERTIES)
        if unknown:
            raise TrackerConfigError(f"nvtracker: unknown propert{'ies' if len(unknown) > 1 else 'y'} "
                                     f"{', '.join(sorted(unknown))}")
        p = {k: v[1] for k, v in TRACKER_PROPERTIES.items()}
        p.update(props)
        return cls(p["ll-config-file"] or None, int(p["tracker-width"]), int(p["tracker-height"]),
                   bool(p["display-tracking-id"]), ll_lib_file=p["ll-lib-file"], embedder=embedder,
                   compute_hw=int(p["compute-hw"]), gpu_id=int(p["gpu-id"]),
                   user_meta_pool_size=int(p["user-meta-pool-size"]),
                   tracking_surface_type=int(p["tracking-surface-type"]))

    # ---- streams ----
    def _tracker(self, source_id: int) -> StreamTracker:
        trk = self._trackers.get(source_id)
        if trk is None:
            trk = make_tracker(self.config, self._next_id, self._embedder_fn() if self.needs_frames else None)
            self._trackers[source_id] = trk
        return trk

    def _embedder_fn(self):
        if self._embedder is None:
            from vistream.track.reid import ReIDEmbedder

            providers = ["CPUExecutionProvider"]
            if self.compute_hw in (1, 2):
                import onnxruntime as ort

                if "CUDAExecutionProvider" in ort.get_available_providers():
                    providers = [("CUDAExecutionProvider", {"device_id": self.gpu_id}), "CPUExecutionProvider"]
                else:
                    warnings.warn("nvtracker: compute-hw asks for a GPU but ONNX Runtime has no CUDA provider; "
                                  "the re-ID network runs on the CPU", stacklevel=3)
            self._embedder = ReIDEmbedder(self.config.reid.onnx_file, self.config.reid, providers=providers)
        return self._embedder

    def reset_source(self, source_id: int) -> None:
        """Forget every target of ``source_id`` (EOS or stream reset). Ids already given are never reused."""
        trk = self._trackers.get(source_id)
        if trk is not None:
            trk.reset()

    def remove_source(self, source_id: int) -> None:
        """Drop the tracker of a removed stream."""
        self._trackers.pop(source_id, None)

    @property
    def sources(self) -> list[int]:
        return sorted(self._trackers)

    # ---- batches ----
    def process(self, batch_meta: BatchMeta, frames: Sequence[np.ndarray] | None = None) -> None:
        """Track every frame of ``batch_meta`` in place; ``frames[frame_meta.batch_id]`` is an RGB frame.

        ``frames`` is needed only by the appearance (re-ID) tracker, and only for frames with objects.
        """
        streams: list[NvDsPastFrameObjStream] = []
        todo = [fm for fm in batch_meta.frame_meta_list
                if not self.tracking_surface_type or fm.misc_frame_info[0] == self.tracking_surface_type]
        trackers = [self._tracker(fm.source_id) for fm in todo]
        if not self.needs_frames and len(todo) > 1 and batchable(trackers):
            # every stream's IOU/SORT step at once: the same result, one stream's worth of NumPy calls
            inputs = [self._inputs(fm) for fm in todo]
            outs = update_batch(trackers, [i[1] for i in inputs], [fm.frame_num for fm in todo],
                                    [i[2] for i in inputs], [i[3] for i in inputs])
            for fm, (objs, *_), out in zip(todo, inputs, outs, strict=True):
                self._apply(fm, objs, out)
            for fm, trk in zip(todo, trackers, strict=True):
                self._collect_past(streams, fm, trk)
        else:
            for fm, trk in zip(todo, trackers, strict=True):
                frame = None
                if self.needs_frames:
                    if frames is not None and 0 <= fm.batch_id < len(frames):
                        frame = frames[fm.batch_id]
                    elif fm.obj_meta_list:  # skipped frames (no objects) need no crops
                        raise ValueError(f"nvtracker: the re-ID tracker needs the frame of batch_id {fm.batch_id} "
                                         "(process(batch_meta, frames=...))")
                self._process_frame(trk, fm, frame)
                self._collect_past(streams, fm, trk)
        if streams:
            # the pool size caps how many target lists one batch carries, as DeepStream's buffer pool does
            room = self.user_meta_pool_size
            for s in streams:
                s.list = s.list[:room]
                room -= len(s.list)
            batch_meta.add_user_meta(UserMeta(NvDsPastFrameObjBatch([s for s in streams if s.list]),
                                              BaseMeta(MetaType.TRACKER_PAST_FRAME)))

    @staticmethod
    def _collect_past(streams: list[NvDsPastFrameObjStream], fm: FrameMeta, trk: StreamTracker) -> None:
        past = trk.pop_past_frame_data()
        if past:
            streams.append(NvDsPastFrameObjStream(fm.source_id, fm.source_id, _past_lists(past)))

    @staticmethod
    def _inputs(fm: FrameMeta) -> tuple[list, Detections, bool, list[str]]:
        """A frame's objects, their detections, whether the detector ran on it, their labels."""
        objs = list(fm.obj_meta_list)
        return objs, Detections.from_objects(objs), bool(fm.bInferDone) or len(objs) > 0, [o.obj_label for o in objs]

    def _process_frame(self, trk: StreamTracker, fm: FrameMeta, frame: np.ndarray | None) -> None:
        objs, dets, infer_done, labels = self._inputs(fm)
        self._apply(fm, objs, trk.update(dets, frame, frame_num=fm.frame_num, infer_done=infer_done,
                                         labels=labels))

    def _apply(self, fm: FrameMeta, objs: list, out: Detections) -> None:
        """Rewrite the frame's object list with what the tracker reports (``out``, rows of ``objs``)."""
        boxes = out.xyxy
        w, h = fm.source_frame_width, fm.source_frame_height
        if not self.config.target.enable_bbox_unclipping and w > 0 and h > 0:
            boxes = clip_xyxy(boxes, w, h)
        # plain Python values once: indexing NumPy rows element by element costs more than the tracking
        box_rows = boxes.tolist()
        det_index = out.data["det_index"].tolist()
        tconf = out.data["tracker_confidence"].tolist()
        ids = out.tracker_id.tolist()
        track_labels = out.data["label"]
        emb = out.data.get("embedding") if self.config.reid.output_reid_tensor else None
        show_id = self.display_tracking_id
        new_list = []
        for k, (x1, y1, x2, y2) in enumerate(box_rows):
            oid = ids[k]
            di = det_index[k]
            bw, bh = x2 - x1, y2 - y1
            if di >= 0:
                om = objs[di]
                r = om.rect_params
                r.left, r.top, r.width, r.height = x1, y1, bw, bh
            else:
                om = make_object(x1, y1, bw, bh, class_id=int(out.class_id[k]),
                                 confidence=float(out.confidence[k]), label=str(track_labels[k]))
                om.detector_bbox_info.org_bbox_coords = BboxCoords()
            om.object_id = oid
            om.tracker_confidence = tconf[k]
            om.tracker_bbox_info.org_bbox_coords = BboxCoords(x1, y1, bw, bh)
            label = om.obj_label or str(om.class_id)
            tp = om.text_params
            tp.display_text = f"{label} {oid}" if show_id else label
            tp.x_offset = int(x1) if x1 > 0 else 0
            tp.y_offset = int(y1 - 10) if y1 > 10 else 0
            if emb is not None and di >= 0:
                om.obj_user_meta_list[:] = [m for m in om.obj_user_meta_list if m.meta_type != MetaType.TRACKER_REID]
                om.add_user_meta(UserMeta(emb[k].copy(), BaseMeta(MetaType.TRACKER_REID)))
            new_list.append(om)
        fm.obj_meta_list[:] = new_list


def _past_lists(past: list[PastFrameTrack]) -> list[NvDsPastFrameObjList]:
    out = []
    for p in past:
        objs = [NvDsPastFrameObj(r.frame_num, BboxCoords(r.xyxy[0], r.xyxy[1], r.xyxy[2] - r.xyxy[0],
                                                         r.xyxy[3] - r.xyxy[1]), r.confidence, r.age)
                for r in p.records]
        out.append(NvDsPastFrameObjList(p.object_id, p.class_id, p.label, objs))
    return out
