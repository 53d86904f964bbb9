"""Per-stream multi-object trackers: IOU, SORT, ByteTrack and DeepSORT (appearance + motion).

All share DeepStream's target management (probation, shadow tracking, early termination, new-target
suppression) and keep every track of the stream in NumPy arrays, so a frame costs a handful of vectorised
operations whatever the number of objects. Assignment uses :func:`scipy.optimize.linear_sum_assignment`.

Each tracker's :meth:`StreamTracker.update` takes one frame's :class:`~vistream.meta.Detections` and returns the
objects to report, with ``tracker_id`` set and these ``data`` columns:

* ``det_index``: the row of the input detection each output came from, -1 for a tracker-only (shadow or
  predicted) object,
* ``tracker_confidence``: the tracker's confidence in the target,
* ``shadow_age``: frames since the target was last matched to a detection (0 when matched now),
* ``age``: frames since the target was created,
* ``label``: the label text the target started with,
* ``embedding`` (appearance tracker only): the re-ID vector of the matched detection, zeros otherwise.

>>> trk = SORTTracker(load_tracker_config(None))  # doctest: +SKIP
>>> out = trk.update(Detections(np.array([[10, 10, 50, 90]])))  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from vistream.meta import Detections
from vistream.track.config import TrackerConfig, TrackerConfigError, normalize_algorithm
from vistream.track.geometry import cxcywh_to_xyxy, iou_matrix, size_similarity, xyxy_to_cxcywh
from vistream.track.kalman import BatchKalman

SHADOW_DETECTOR_CONFIDENCE = -0.1  # DeepStream's obj_meta.confidence for objects the detector did not give


@dataclass
class PastFrameRecord:
    """One unreported frame of a target: DeepStream's ``NvDsPastFrameObj``."""

    frame_num: int
    xyxy: tuple[float, float, float, float]
    confidence: float
    age: int


@dataclass
class PastFrameTrack:
    """Frames of one target that were not reported when they happened (probation or shadow tracking)."""

    object_id: int
    class_id: int
    label: str
    records: list[PastFrameRecord] = field(default_factory=list)


def _without(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elements of ``a`` not in ``b`` (both small index arrays), in ``a``'s order."""
    if len(b) == 0 or len(a) == 0:
        return a
    return a[~(a[:, None] == b[None, :]).any(1)]


def match_score(a, boxes: np.ndarray, classes: np.ndarray, det_xyxy: np.ndarray, det_cls: np.ndarray,
                min_iou: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DeepStream's matching score ``w_iou*IoU + w_size*size`` of targets (``boxes``, ``classes``) against
    detections, with its validity thresholds (``a``: the config's ``DataAssociator``); returns score, valid,
    IoU."""
    iou = iou_matrix(boxes, det_xyxy)
    score = a.matching_score_weight_4_iou * iou
    valid = (iou > 0) & (iou >= (a.min_matching_score_4_iou if min_iou is None else min_iou))
    if a.matching_score_weight_4_size_similarity > 0 or a.min_matching_score_4_size_similarity > 0:
        size = size_similarity(boxes, det_xyxy)
        score = score + a.matching_score_weight_4_size_similarity * size
        valid &= size >= a.min_matching_score_4_size_similarity
    valid &= score >= a.min_matching_score_4_overall
    if a.check_class_match:
        valid &= classes[:, None] == det_cls[None, :]
    return score, valid, iou


def trackable(cfg: TrackerConfig, xyxy: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Detections a target may follow: at least ``minDetectorConfidence``, finite, with an area (boxes
    without one, or with NaN, never match and would poison the filter)."""
    return (confidence >= cfg.min_detector_confidence) & np.isfinite(xyxy).all(1) \
        & (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])


def first_of_duplicates(dup: np.ndarray) -> np.ndarray:
    """Greedy suppression in row order: ``dup[i, j]`` (``j > i``) marks ``j`` as a duplicate of ``i``; a row
    already suppressed suppresses nothing. Returns the rows kept."""
    keep = np.ones(len(dup), bool)
    for i in range(len(dup)):  # only rows with duplicates cost a step
        if keep[i] and dup[i].any():
            keep[dup[i]] = False
    return keep


def dead_targets(t, confirmed: np.ndarray, miss: np.ndarray) -> np.ndarray:
    """Targets to end (``t``: the config's ``TargetManagement``): missed longer than ``maxShadowTrackingAge``,
    or still in probation and missed ``earlyTerminationAge`` times."""
    return (miss > t.max_shadow_tracking_age) | (~confirmed & (miss >= max(t.early_termination_age, 1)))


def assign(score: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-score one-to-one matching among ``valid`` pairs; returns matched (rows, cols)."""
    if score.size == 0 or not valid.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    per_row, per_col = valid.sum(1), valid.sum(0)
    if per_row.max() <= 1 and per_col.max() <= 1:
        # no two pairs compete for a row or a column (well-separated objects, the usual case): every valid
        # pair is in the best matching, no assignment problem to solve
        return np.nonzero(valid)
    row_ok = per_row > 0
    col_ok = per_col > 0
    if row_ok.all() and col_ok.all():
        cost = np.where(valid, -score, 1e6)
        r, c = linear_sum_assignment(cost)
        keep = valid[r, c]
        return r[keep], c[keep]
    # restrict to rows/cols that have a candidate at all: smaller problem, same answer
    rows_any = np.flatnonzero(row_ok)
    cols_any = np.flatnonzero(col_ok)
    sub_valid = valid[np.ix_(rows_any, cols_any)]
    cost = np.where(sub_valid, -score[np.ix_(rows_any, cols_any)], 1e6)
    r, c = linear_sum_assignment(cost)
    keep = sub_valid[r, c]
    return rows_any[r[keep]], cols_any[c[keep]]


class StreamTracker:
    """Tracks the objects of one stream. Subclasses choose the association (``_associate``).

    Args:
        config: the parsed tracker config.
        next_id: callable giving a fresh object id; share one between streams so ids never repeat.
        embedder: callable ``(frame_rgb, xyxy) -> (N, D)`` unit vectors, for the appearance tracker.
    """

    uses_motion_model = True

    def __init__(self, config: TrackerConfig, next_id: Callable[[], int] | None = None,
                 embedder: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> None:
        self.cfg = config
        self.next_id = next_id or itertools.count(1).__next__
        self.embedder = embedder
        self.kf = BatchKalman(config.state)
        self.frame_num = -1
        self._past: list[PastFrameTrack] = []
        self._last_keep = np.zeros(0, bool)
        self._det_feats: np.ndarray | None = None
        self._empty()

    # ---- track storage: parallel arrays, one row per target ----
    def _empty(self) -> None:
        self.ids = np.zeros(0, np.int64)  # 0 until confirmed
        self.cls = np.zeros(0, np.int64)
        self.mean = np.zeros((0, 8))
        self.cov = np.zeros((0, 8, 8))
        self.box = np.zeros((0, 4))  # x1 y1 x2 y2: last reported / predicted
        self.age = np.zeros(0, np.int64)
        self.miss = np.zeros(0, np.int64)
        self.confirmed = np.zeros(0, bool)
        self.conf = np.zeros(0)
        self.has_pending = np.zeros(0, bool)
        self.labels: list[str] = []
        self.pending: list[list[PastFrameRecord]] = []  # unreported frames per target
        # re-ID gallery ring buffer (appearance tracker): (targets, reidHistorySize, D) and writes so far
        self.gal: np.ndarray | None = None
        self.gal_w = np.zeros(0, np.int64)

    def reset(self) -> None:
        """Drop every target (end of stream); ids are never reused."""
        self._empty()
        self._past = []
        self.frame_num = -1

    @property
    def num_targets(self) -> int:
        return len(self.ids)

    def _keep(self, keep: np.ndarray) -> None:
        for name in ("ids", "cls", "mean", "cov", "box", "age", "miss", "confirmed", "conf", "has_pending", "gal_w"):
            setattr(self, name, getattr(self, name)[keep])
        idx = np.flatnonzero(keep)
        self.labels = [self.labels[i] for i in idx]
        self.pending = [self.pending[i] for i in idx]
        if self.gal is not None:
            self.gal = self.gal[keep]

    def _add(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray, labels: list[str],
             feats: np.ndarray | None) -> None:
        n = len(xyxy)
        if n == 0:
            return
        mean, cov = self.kf.initiate(xyxy_to_cxcywh(xyxy))
        self.ids = np.concatenate([self.ids, np.zeros(n, np.int64)])
        self.cls = np.concatenate([self.cls, cls])
        self.mean = np.concatenate([self.mean, mean])
        self.cov = np.concatenate([self.cov, cov])
        self.box = np.concatenate([self.box, np.asarray(xyxy, np.float64)])
        self.age = np.concatenate([self.age, np.zeros(n, np.int64)])
        self.miss = np.concatenate([self.miss, np.zeros(n, np.int64)])
        self.confirmed = np.concatenate([self.confirmed, np.zeros(n, bool)])
        self.conf = np.concatenate([self.conf, conf.astype(np.float64)])
        self.has_pending = np.concatenate([self.has_pending, np.zeros(n, bool)])
        self.labels.extend(labels)
        self.pending.extend([] for _ in range(n))
        self.gal_w = np.concatenate([self.gal_w, np.zeros(n, np.int64) if feats is None else np.ones(n, np.int64)])
        if feats is not None or self.gal is not None:
            k = max(self.cfg.reid.reid_history_size, 1)
            d = feats.shape[1] if feats is not None else self.gal.shape[2]
            new = np.zeros((n, k, d), np.float32)
            if feats is not None:
                new[:, 0] = feats
            if self.gal is None:
                self.gal = np.zeros((len(self.ids) - n, k, d), np.float32)
            self.gal = np.concatenate([self.gal, new])

    # ---- per frame ----
    def update(self, detections: Detections, frame: np.ndarray | None = None, *, frame_num: int | None = None,
               infer_done: bool = True, labels: list[str] | None = None) -> Detections:
        """Advance one frame and return the objects to report (see the module docstring).

        Args:
            detections: this frame's detections (boxes in frame pixels).
            frame: HxWx3 uint8 RGB frame, needed only by the appearance tracker without precomputed
                ``detections.data["embedding"]``.
            frame_num: the frame number (for past-frame data); default: previous + 1.
            infer_done: False on frames the detector skipped (nvinfer ``interval``): targets are predicted
                and reported without counting a miss.
            labels: label text per detection (kept by the target for its shadow objects).
        """
        self.frame_num = self.frame_num + 1 if frame_num is None else int(frame_num)
        self._predict()
        n_det = len(detections)
        det_of_track = np.full(self.num_targets, -1, np.int64)
        self._det_feats = None
        if infer_done:
            det_idx = np.flatnonzero(trackable(self.cfg, detections.xyxy, detections.confidence))
            dets = detections[det_idx] if len(det_idx) < n_det else detections
            feats = self._features(dets, frame)
            if feats is not None:
                self._det_feats = np.zeros((n_det, feats.shape[1]), np.float32)
                self._det_feats[det_idx] = feats
            rows, cols = self._associate(dets, feats)
            det_of_track[rows] = det_idx[cols]
            self._update_matched(rows, dets, cols, feats)
            matched = np.zeros(self.num_targets, bool)
            matched[rows] = True
            self.miss[~matched] += 1
            self.miss[matched] = 0
            self.conf[~matched] *= 0.9
            new_cols = self._new_target_candidates(dets, cols)
            lbl = labels or [""] * n_det
            self._add(dets.xyxy[new_cols].astype(np.float64), dets.confidence[new_cols], dets.class_id[new_cols],
                      [lbl[det_idx[c]] for c in new_cols], None if feats is None else feats[new_cols])
            det_of_track = np.concatenate([det_of_track, det_idx[new_cols]])
        self.age += 1
        self._terminate(det_of_track)
        det_of_track = det_of_track[self._last_keep]
        return self._report(det_of_track, detections, labels)

    def _predict(self) -> None:
        if self.uses_motion_model and self.num_targets:
            self.mean, self.cov = self.kf.predict(self.mean, self.cov)
            self.box = cxcywh_to_xyxy(self.kf.to_box(self.mean))

    def _features(self, dets: Detections, frame: np.ndarray | None) -> np.ndarray | None:
        return None

    def _update_matched(self, rows: np.ndarray, dets: Detections, cols: np.ndarray,
                        feats: np.ndarray | None) -> None:
        if len(rows) == 0:
            return
        det_xyxy = dets.xyxy[cols].astype(np.float64)
        if self.uses_motion_model:
            self.mean[rows], self.cov[rows] = self.kf.update(self.mean[rows], self.cov[rows], xyxy_to_cxcywh(det_xyxy))
        # report the detector's box: it is the measurement, and the Kalman state catches up with it
        self.box[rows] = det_xyxy
        self.conf[rows] = dets.confidence[cols]

    def _new_target_candidates(self, dets: Detections, matched_cols: np.ndarray) -> np.ndarray:
        """Columns of unmatched detections that become new targets."""
        free = np.ones(len(dets), bool)
        free[matched_cols] = False
        free &= self._may_start_target(dets)
        cand = np.flatnonzero(free)
        if len(cand) == 0:
            return cand
        limit = max(self.cfg.target.min_iou_diff_4_new_target, 1e-9)
        same_class = self.cfg.associator.check_class_match
        # DeepStream's minIouDiff4NewTarget: a detection overlapping an existing target is a duplicate
        if self.num_targets:
            iou = iou_matrix(dets.xyxy[cand], self.box)
            if same_class:
                iou *= dets.class_id[cand][:, None] == self.cls[None, :]
            cand = cand[iou.max(1) < limit]
        cand = cand[np.argsort(-dets.confidence[cand], kind="stable")]
        if len(cand) > 1:
            # ... and so is one overlapping a more confident new target of this frame
            iou = iou_matrix(dets.xyxy[cand], dets.xyxy[cand])
            if same_class:
                iou *= dets.class_id[cand][:, None] == dets.class_id[cand][None, :]
            cand = cand[first_of_duplicates(np.triu(iou >= limit, 1))]  # greedy, in confidence order
        room = self.cfg.target.max_targets_per_stream - self.num_targets
        return cand[:max(room, 0)]

    def _may_start_target(self, dets: Detections) -> np.ndarray:
        return np.ones(len(dets), bool)

    def _terminate(self, det_of_track: np.ndarray) -> None:
        t = self.cfg.target
        dead = dead_targets(t, self.confirmed, self.miss)
        keep = ~dead
        self._last_keep = keep
        if dead.any():
            self._keep(keep)
        # probation: a target is confirmed once its age exceeds probationAge
        newly = ~self.confirmed & (self.age > t.probation_age) & (self.miss == 0)
        if newly.any():
            for i in np.flatnonzero(newly):
                self.ids[i] = self.next_id()
            self.confirmed |= newly

    def _report(self, det_of_track: np.ndarray, detections: Detections, labels: list[str] | None) -> Detections:
        t = self.cfg.target
        visible = self.confirmed & (self.conf >= t.min_tracker_confidence)
        # matched targets, and on frames the detector skipped, every live target at its predicted box;
        # targets in shadow tracking only when the config asks (outputShadowTracks)
        out_mask = visible & ((self.miss == 0) | t.output_shadow_tracks)
        self._record_past(out_mask)
        idx = np.flatnonzero(out_mask)
        d_idx = det_of_track[idx]
        out = self._output(idx, d_idx, detections)
        if self._det_feats is not None:
            # the re-ID vector of the detection each output came from (zeros for tracker-only objects)
            emb = self._det_feats[np.maximum(d_idx, 0)] if len(self._det_feats) else \
                np.zeros((len(idx), self._det_feats.shape[1]), np.float32)
            emb[d_idx < 0] = 0.0
            out.data["embedding"] = emb
        return out

    def _output(self, idx: np.ndarray, d_idx: np.ndarray, detections: Detections) -> Detections:
        """The reported objects: targets ``idx``, each from row ``d_idx`` of ``detections`` (-1: none)."""
        conf = np.where(d_idx >= 0, detections.confidence[np.maximum(d_idx, 0)] if len(detections) else 0.0,
                        SHADOW_DETECTOR_CONFIDENCE).astype(np.float32)
        out = Detections(self.box[idx].astype(np.float32), conf, self.cls[idx], self.ids[idx])
        out.data = {"det_index": d_idx, "tracker_confidence": self.conf[idx].astype(np.float32),
                    "shadow_age": self.miss[idx].copy(), "age": self.age[idx].copy(),
                    "label": np.array([self.labels[i] for i in idx], dtype=object)}
        return out

    def _record_past(self, out_mask: np.ndarray) -> None:
        """Collect unreported frames, and hand them out when the target is reported again."""
        if self.cfg.trajectory.past_frame_history == 0:
            return
        cap = self.cfg.trajectory.past_frame_history
        back = np.flatnonzero(out_mask & self.has_pending)
        if len(back):
            for i, oid, c in zip(back.tolist(), self.ids[back].tolist(), self.cls[back].tolist(), strict=True):
                self._past.append(PastFrameTrack(oid, c, self.labels[i], self.pending[i]))
                self.pending[i] = []
        self.has_pending &= ~out_mask
        hidden = np.flatnonzero(~out_mask)
        if len(hidden):
            # plain Python values in one conversion each: per-element NumPy access costs more than the records
            frame_num = self.frame_num
            for i, box, conf, age in zip(hidden.tolist(), self.box[hidden].tolist(), self.conf[hidden].tolist(),
                                         self.age[hidden].tolist(), strict=True):
                pend = self.pending[i]
                pend.append(PastFrameRecord(frame_num, tuple(box), conf, age))
                if len(pend) > cap:
                    del pend[0]
        self.has_pending |= ~out_mask

    def pop_past_frame_data(self) -> list[PastFrameTrack]:
        """Past-frame data gathered since the last call (targets just confirmed or back from shadow)."""
        out, self._past = self._past, []
        return out

    # ---- association ----
    def _score(self, track_idx: np.ndarray, det_xyxy: np.ndarray, det_cls: np.ndarray,
               min_iou: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """DeepStream's matching score ``w_iou*IoU + w_size*size`` with its validity thresholds."""
        return match_score(self.cfg.associator, self.box[track_idx], self.cls[track_idx], det_xyxy, det_cls, min_iou)

    def _match(self, track_idx: np.ndarray, det_idx: np.ndarray, dets: Detections,
               min_iou: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        if len(track_idx) == 0 or len(det_idx) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        score, valid, _ = self._score(track_idx, dets.xyxy[det_idx].astype(np.float64), dets.class_id[det_idx],
                                      min_iou)
        r, c = assign(score, valid)
        return track_idx[r], det_idx[c]

    def _associate(self, dets: Detections, feats: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        return self._match(np.arange(self.num_targets), np.arange(len(dets)), dets)


class IOUTracker(StreamTracker):
    """DeepStream's IOU tracker: boxes matched to the targets' last boxes by IoU (+ size similarity)."""

    uses_motion_model = False


class SORTTracker(StreamTracker):
    """SORT: Kalman-predicted boxes matched to detections by IoU in one stage."""


class ByteTracker(StreamTracker):
    """ByteTrack: high-confidence detections first, then low-confidence ones rescue the remaining targets.

    ``DataAssociator.tentativeDetectorConfidence`` splits high from low; low detections only continue
    targets (IoU >= ``minMatchingScore4TentativeIou``), they never start one.
    """

    def _split(self, dets: Detections) -> tuple[np.ndarray, np.ndarray]:
        tent = self.cfg.associator.tentative_detector_confidence
        if tent is None:
            tent = self.cfg.min_detector_confidence
        high = dets.confidence >= tent
        return np.flatnonzero(high), np.flatnonzero(~high)

    def _may_start_target(self, dets: Detections) -> np.ndarray:
        tent = self.cfg.associator.tentative_detector_confidence
        return dets.confidence >= (self.cfg.min_detector_confidence if tent is None else tent)

    def _associate(self, dets: Detections, feats: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        high, low = self._split(dets)
        confirmed = np.flatnonzero(self.confirmed)
        r1, c1 = self._match(confirmed, high, dets)
        # second stage: remaining targets that were tracked last frame, against low-confidence boxes
        left = _without(confirmed, r1)
        left = left[self.miss[left] == 0]
        r2, c2 = self._match(left, low, dets, self.cfg.associator.min_matching_score_4_tentative_iou)
        # third stage: targets still in probation, against the remaining confident boxes
        tentative = np.flatnonzero(~self.confirmed)
        high_left = _without(high, c1)
        r3, c3 = self._match(tentative, high_left, dets)
        return np.concatenate([r1, r2, r3]), np.concatenate([c1, c2, c3])


class DeepSORTTracker(ByteTracker):
    """Appearance + motion (NvDeepSORT-like): re-ID cosine similarity fused with IoU, gated by the Kalman filter.

    Stage 1 matches confirmed targets (including ones lost for up to ``maxShadowTrackingAge`` frames) by
    ``w_reid * cosine + w_iou * IoU``, valid when the cosine reaches ``minMatchingScore4ReidSimilarity`` and the
    squared Mahalanobis distance stays under ``thresholdMahalanobis`` (if > 0). Then, like ByteTrack, IoU alone
    matches the rest. Each target keeps a gallery of up to ``reidHistorySize`` features from confident,
    unoccluded detections; similarity is the best match in the gallery.

    Embeddings come from ``detections.data["embedding"]`` when given, else from the embedder on ``frame``.
    """

    def _features(self, dets: Detections, frame: np.ndarray | None) -> np.ndarray | None:
        if "embedding" in dets.data:
            return np.asarray(dets.data["embedding"], np.float32)
        if len(dets) == 0:
            return np.zeros((0, self.cfg.reid.reid_feature_size), np.float32)
        if frame is None:
            raise TrackerConfigError(f"{self.cfg.source}: the appearance tracker (DeepSORT) needs the frame "
                                     "(or detections.data['embedding'])")
        if self.embedder is None:
            raise TrackerConfigError(f"{self.cfg.source}: the appearance tracker needs a re-ID model (ReID.onnxFile)")
        return self.embedder(frame, dets.xyxy)

    def _appearance(self, track_idx: np.ndarray, feats: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        """Best cosine similarity between target galleries and detections, for the ``pairs`` (T, M) asked;
        -1 elsewhere. Only candidate pairs are computed: the gate leaves few of them."""
        sim = np.full(pairs.shape, -1.0)
        if self.gal is None:
            return sim
        ti, mi = np.nonzero(pairs)
        if len(ti) == 0:
            return sim
        rows = track_idx[ti]
        per_slot = np.matmul(self.gal[rows], feats[mi][:, :, None])[..., 0]  # (P, K)
        filled = np.minimum(self.gal_w[rows], self.gal.shape[1])
        per_slot[np.arange(self.gal.shape[1])[None, :] >= filled[:, None]] = -1.0
        sim[ti, mi] = per_slot.max(1)
        return sim

    def _associate(self, dets: Detections, feats: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        a = self.cfg.associator
        high, low = self._split(dets)
        confirmed = np.flatnonzero(self.confirmed)
        r1 = c1 = np.zeros(0, np.int64)
        if len(confirmed) and len(high):
            sub_xyxy, sub_cls = dets.xyxy[high].astype(np.float64), dets.class_id[high]
            _, valid_motion, iou = self._score(confirmed, sub_xyxy, sub_cls, min_iou=0.0)
            if a.threshold_mahalanobis > 0:
                gate = self.kf.mahalanobis(self.mean[confirmed], self.cov[confirmed], xyxy_to_cxcywh(sub_xyxy))
                cand = gate <= a.threshold_mahalanobis
            else:
                cand = valid_motion | (self.miss[confirmed][:, None] > 0)
            if a.check_class_match:
                cand &= self.cls[confirmed][:, None] == sub_cls[None, :]
            app = self._appearance(confirmed, feats[high], cand)
            score = a.matching_score_weight_4_reid_similarity * app + a.matching_score_weight_4_iou * iou
            valid = cand & (app >= a.min_matching_score_4_reid_similarity)
            r, c = assign(score, valid)
            r1, c1 = confirmed[r], high[c]
        # the rest by motion only: confident boxes, then low-confidence boxes, then targets in probation
        left = _without(confirmed, r1)
        high_left = _without(high, c1)
        r2, c2 = self._match(left[self.miss[left] <= 1], high_left, dets)
        left = _without(left, r2)
        r3, c3 = self._match(left[self.miss[left] == 0], low, dets, a.min_matching_score_4_tentative_iou)
        high_left = _without(high_left, c2)
        r4, c4 = self._match(np.flatnonzero(~self.confirmed), high_left, dets)
        return np.concatenate([r1, r2, r3, r4]), np.concatenate([c1, c2, c3, c4])

    def _update_matched(self, rows: np.ndarray, dets: Detections, cols: np.ndarray,
                        feats: np.ndarray | None) -> None:
        super()._update_matched(rows, dets, cols, feats)
        if feats is None or len(rows) == 0:
            return
        # only clean views feed the gallery: a box overlapping another detection mixes two people
        iou = iou_matrix(dets.xyxy, dets.xyxy)
        np.fill_diagonal(iou, 0.0)
        crowded = iou.max(1) > 0.2 if len(dets) > 1 else np.zeros(len(dets), bool)
        clean = ~crowded[cols]
        r, c = rows[clean], cols[clean]
        if len(r) and self.gal is not None:
            self.gal[r, self.gal_w[r] % self.gal.shape[1]] = feats[c]
            self.gal_w[r] += 1


TRACKERS: dict[str, type[StreamTracker]] = {
    "IOU": IOUTracker, "SORT": SORTTracker, "ByteTrack": ByteTracker, "DeepSORT": DeepSORTTracker,
}


def make_tracker(config: TrackerConfig, next_id: Callable[[], int] | None = None,
                 embedder: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> StreamTracker:
    """The tracker class ``config.algorithm`` names."""
    return TRACKERS[normalize_algorithm(config.algorithm, f"{config.source}: trackerAlgorithm")](
        config, next_id, embedder)
