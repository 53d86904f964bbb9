"""One IOU- or SORT-tracker step for every stream of a batch at once.

:meth:`StreamTracker.update` is vectorised over the targets of one stream, so a frame costs a fixed number of
NumPy calls whatever it holds; with a few objects per frame that fixed cost is the whole cost, paid once per
stream. :func:`update_batch` joins the targets and detections of all the batch's streams into one set of
arrays, keeps every interaction inside a stream (matching, new-target suppression, target limits) with a
stream column, and writes each stream's state back: the same objects, ids and past-frame data as stepping
the streams one after the other (tested), for the call count of one step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vistream.meta import Detections
from vistream.track.algorithms import (
    IOUTracker,
    PastFrameRecord,
    PastFrameTrack,
    SORTTracker,
    StreamTracker,
    assign,
    dead_targets,
    first_of_duplicates,
    match_score,
    trackable,
)
from vistream.track.geometry import cxcywh_to_xyxy, iou_matrix, xyxy_to_cxcywh

_ARRAYS = ("ids", "cls", "mean", "cov", "box", "age", "miss", "confirmed", "conf", "has_pending", "gal_w")


def batchable(trackers: Sequence[StreamTracker]) -> bool:
    """Whether :func:`update_batch` can step these trackers: distinct IOU or SORT trackers of one kind
    (one-stage matching on IoU; ByteTrack's and DeepSORT's stages stay stream by stream)."""
    kinds = {type(t) for t in trackers}
    return len(kinds) == 1 and kinds <= {IOUTracker, SORTTracker} and all(t.gal is None for t in trackers) \
        and len({id(t) for t in trackers}) == len(trackers)


def _assign_within_streams(score: np.ndarray, valid: np.ndarray, t_stream: np.ndarray,
                           d_stream: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`assign` stream by stream (``valid`` never pairs two streams): rows and columns matched."""
    if score.size == 0 or not valid.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if valid.sum(1).max() <= 1 and valid.sum(0).max() <= 1:
        return np.nonzero(valid)  # no competing pairs anywhere: each stream's own fast path gives the same
    rows, cols = [], []
    for s in np.unique(t_stream[valid.any(1)]):
        r_s, c_s = np.flatnonzero(t_stream == s), np.flatnonzero(d_stream == s)
        r, c = assign(score[np.ix_(r_s, c_s)], valid[np.ix_(r_s, c_s)])  # the submatrix a stream step builds
        rows.append(r_s[r])
        cols.append(c_s[c])
    return np.concatenate(rows), np.concatenate(cols)


def update_batch(trackers: Sequence[StreamTracker], detections: Sequence[Detections],
                     frame_nums: Sequence[int | None], infer_done: Sequence[bool],
                     labels: Sequence[list[str] | None]) -> list[Detections]:
    """``[trk.update(dets, frame_num=..., infer_done=..., labels=...) for each stream]`` in one step; see
    :func:`batchable` for the trackers it takes."""
    n_s = len(trackers)
    if n_s == 0:
        return []
    cfg = trackers[0].cfg
    a, tcfg = cfg.associator, cfg.target
    for trk, fn in zip(trackers, frame_nums, strict=True):
        trk.frame_num = trk.frame_num + 1 if fn is None else int(fn)
        trk._det_feats = None
    # ---- all targets and detections, with the stream (position in the batch) of each ----
    st = np.repeat(np.arange(n_s), [t.num_targets for t in trackers])
    s = {name: np.concatenate([getattr(t, name) for t in trackers]) for name in _ARRAYS}
    t_labels = [lb for t in trackers for lb in t.labels]
    pending = [p for t in trackers for p in t.pending]
    n_det = [len(d) for d in detections]
    det_off = np.concatenate([[0], np.cumsum(n_det)]).astype(np.int64)
    dst = np.repeat(np.arange(n_s), n_det)
    xyxy = np.concatenate([d.xyxy for d in detections]) if sum(n_det) else np.zeros((0, 4), np.float32)
    conf = np.concatenate([d.confidence for d in detections]) if sum(n_det) else np.zeros(0, np.float32)
    cls = np.concatenate([d.class_id for d in detections]) if sum(n_det) else np.zeros(0, np.int64)
    done = np.asarray(infer_done, bool)
    n_t = len(st)
    det_of_track = np.full(n_t, -1, np.int64)
    kf = trackers[0].kf
    motion = trackers[0].uses_motion_model
    if motion and n_t:  # SORT: every target's Kalman prediction (row by row, as each stream's own step)
        s["mean"], s["cov"] = kf.predict(s["mean"], s["cov"])
        s["box"] = cxcywh_to_xyxy(kf.to_box(s["mean"]))
    # ---- association (only streams whose detector ran) ----
    det_idx = np.flatnonzero(done[dst] & trackable(cfg, xyxy, conf))
    k_stream, k_xyxy, k_cls = dst[det_idx], xyxy[det_idx], cls[det_idx]
    rows = cols = np.zeros(0, np.int64)
    if n_t and len(det_idx):
        score, valid, _ = match_score(a, s["box"], s["cls"], k_xyxy.astype(np.float64), k_cls)
        valid &= st[:, None] == k_stream[None, :]
        rows, cols = _assign_within_streams(score, valid, st, k_stream)
    det_of_track[rows] = det_idx[cols]
    if len(rows):
        det_xyxy = xyxy[det_idx[cols]].astype(np.float64)
        if motion:
            s["mean"][rows], s["cov"][rows] = kf.update(s["mean"][rows], s["cov"][rows], xyxy_to_cxcywh(det_xyxy))
        s["box"][rows] = det_xyxy
        s["conf"][rows] = conf[det_idx[cols]]
    stepped = done[st]
    matched = np.zeros(n_t, bool)
    matched[rows] = True
    s["miss"][stepped & ~matched] += 1
    s["miss"][matched] = 0
    s["conf"][stepped & ~matched] *= 0.9
    # ---- new targets: unmatched detections, not overlapping a target (or a stronger new one) of their stream
    free = np.ones(len(det_idx), bool)
    free[cols] = False
    cand = np.flatnonzero(free)
    limit = max(tcfg.min_iou_diff_4_new_target, 1e-9)
    same_class = a.check_class_match
    if len(cand) and n_t:
        iou = iou_matrix(k_xyxy[cand], s["box"]) * (k_stream[cand][:, None] == st[None, :])
        if same_class:
            iou *= k_cls[cand][:, None] == s["cls"][None, :]
        cand = cand[iou.max(1) < limit]
    cand = cand[np.lexsort((-conf[det_idx[cand]], k_stream[cand]))]  # by stream, then confidence (stable)
    if len(cand) > 1:
        iou = iou_matrix(k_xyxy[cand], k_xyxy[cand]) * (k_stream[cand][:, None] == k_stream[cand][None, :])
        if same_class:
            iou *= k_cls[cand][:, None] == k_cls[cand][None, :]
        cand = cand[first_of_duplicates(np.triu(iou >= limit, 1))]
    if len(cand):  # maxTargetsPerStream: each stream's first candidates while it has room
        cs = k_stream[cand]
        first = np.searchsorted(cs, cs)
        room = tcfg.max_targets_per_stream - np.bincount(st, minlength=n_s)
        cand = cand[np.arange(len(cand)) - first < room[cs]]
    new = det_idx[cand]
    if len(new):
        mean, cov = kf.initiate(xyxy_to_cxcywh(xyxy[new].astype(np.float64)))
        n = len(new)
        add = {"ids": np.zeros(n, np.int64), "cls": cls[new], "mean": mean, "cov": cov,
               "box": xyxy[new].astype(np.float64), "age": np.zeros(n, np.int64), "miss": np.zeros(n, np.int64),
               "confirmed": np.zeros(n, bool), "conf": conf[new].astype(np.float64),
               "has_pending": np.zeros(n, bool), "gal_w": np.zeros(n, np.int64)}
        s = {name: np.concatenate([s[name], add[name]]) for name in _ARRAYS}
        new_st = dst[new]
        for d, k in zip(new.tolist(), new_st.tolist(), strict=True):
            lb = labels[k]
            t_labels.append(lb[d - det_off[k]] if lb else "")
        pending.extend([] for _ in range(n))
        st = np.concatenate([st, new_st])
        det_of_track = np.concatenate([det_of_track, new])
    s["age"] += 1
    # ---- termination and confirmation ----
    dead = dead_targets(tcfg, s["confirmed"], s["miss"])
    if dead.any():
        alive = ~dead
        s = {name: v[alive] for name, v in s.items()}
        idx = np.flatnonzero(alive)
        t_labels = [t_labels[i] for i in idx]
        pending = [pending[i] for i in idx]
        st, det_of_track = st[alive], det_of_track[alive]
    newly = ~s["confirmed"] & (s["age"] > tcfg.probation_age) & (s["miss"] == 0)
    if newly.any():
        nid = np.flatnonzero(newly)
        for i in nid[np.argsort(st[nid], kind="stable")]:  # stream by stream, as one step after another
            s["ids"][i] = trackers[0].next_id()
        s["confirmed"] |= newly
    # ---- report, past-frame records, state back to each stream ----
    visible = s["confirmed"] & (s["conf"] >= tcfg.min_tracker_confidence)
    out_mask = visible & ((s["miss"] == 0) | tcfg.output_shadow_tracks)
    if cfg.trajectory.past_frame_history != 0:
        _record_past(trackers, s, st, out_mask, t_labels, pending, cfg.trajectory.past_frame_history)
    order = np.argsort(st, kind="stable")
    bounds = np.searchsorted(st[order], np.arange(n_s + 1))
    results = []
    for k, trk in enumerate(trackers):
        mine = order[bounds[k]:bounds[k + 1]]  # this stream's targets, in its own order
        for name in _ARRAYS:
            setattr(trk, name, s[name][mine])
        trk.labels = [t_labels[i] for i in mine.tolist()]
        trk.pending = [pending[i] for i in mine.tolist()]
        idx = np.flatnonzero(out_mask[mine])
        d_idx = det_of_track[mine][idx]
        results.append(trk._output(idx, np.where(d_idx >= 0, d_idx - det_off[k], -1), detections[k]))
    return results


def _record_past(trackers: Sequence[StreamTracker], s: dict, st: np.ndarray, out_mask: np.ndarray,
                 labels: list[str], pending: list[list[PastFrameRecord]], cap: int) -> None:
    """:meth:`StreamTracker._record_past` for the targets of all streams (``st``: each target's stream)."""
    back = np.flatnonzero(out_mask & s["has_pending"])
    for i, k, oid, c in zip(back.tolist(), st[back].tolist(), s["ids"][back].tolist(), s["cls"][back].tolist(),
                            strict=True):
        trackers[k]._past.append(PastFrameTrack(oid, c, labels[i], pending[i]))
        pending[i] = []
    s["has_pending"] &= ~out_mask
    hidden = np.flatnonzero(~out_mask)
    if len(hidden):
        frame_nums = [t.frame_num for t in trackers]
        for i, k, box, conf, age in zip(hidden.tolist(), st[hidden].tolist(), s["box"][hidden].tolist(),
                                        s["conf"][hidden].tolist(), s["age"][hidden].tolist(), strict=True):
            pend = pending[i]
            pend.append(PastFrameRecord(frame_nums[k], tuple(box), conf, age))
            if len(pend) > cap:
                del pend[0]
    s["has_pending"] |= ~out_mask


__all__ = ["batchable", "update_batch"]
