"""``AnalyticsCore``: nvdsanalytics on a :class:`BatchMeta` — ROI filtering, overcrowding, line crossing and
direction detection per stream, results as user meta, drawings as display meta."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vistream.analytics.config import AnalyticsConfig, CrossingLine, StreamRules, load_analytics_config
from vistream.analytics.geometry import (
    angles_deg,
    bottom_centres,
    crossing_param,
    points_in_polygon,
    side_of_line,
)
from vistream.analytics.meta import AnalyticsFrameMeta, AnalyticsObjInfo, frame_user_meta, obj_user_meta
from vistream.analytics.osd import build_display_meta
from vistream.meta import BatchMeta, FrameMeta, ObjectMeta


@dataclass
class _Track:
    """History of one tracked object: recent bottom-centre points and, per line, which side it was last on."""

    points: deque
    last_seen: int
    side: dict[str, int] = field(default_factory=dict)  # line label → -1 before / +1 after
    side_point: dict[str, np.ndarray] = field(default_factory=dict)  # line label → last point off the line


@dataclass
class _SourceState:
    frames: int = 0
    tracks: dict[int, _Track] = field(default_factory=dict)
    cum: Counter = field(default_factory=Counter)  # line label → cumulative crossings


class AnalyticsCore:
    """The nvdsanalytics engine: ``AnalyticsCore(config).process(batch_meta)`` analyses every frame in place.

    Parameters:
        config: path of an nvdsanalytics config file, or an :class:`AnalyticsConfig`.
        unique_id: written to every output's ``unique_id`` (the element's ``unique-id`` property).
        history: how many past positions of each tracked object are kept (10, DeepStream's ``LAST_N_FRAMES``);
            the object's motion is the vector from the oldest kept position to the current one (used by
            direction detection and by the line-crossing ``mode`` check).
        min_motion: a motion shorter than this many pixels has no direction.
        max_missing_frames: a track not seen for more than this many frames of its source is forgotten
            (240: DeepStream's 8 s track time-out at 30 frames/s).

    Per frame (``frame_meta.source_id`` selects the ``[...-stream-N]`` rules; coordinates are scaled from
    ``config-width x config-height`` to ``pipeline_width x pipeline_height`` — or the source size when the
    frame has no pipeline size):

    * an object's position is the bottom centre of ``rect_params`` (``left + width / 2, top + height``);
    * every object gets an :class:`AnalyticsObjInfo` user meta, every frame an :class:`AnalyticsFrameMeta`;
    * line crossing and direction detection need ``object_id`` from a tracker; untracked objects get only
      ROI and overcrowding results;
    * with ``osd-mode`` 1 or 2 a :class:`DisplayMeta` with the ROIs, lines, arrows and labels is added.

    Line crossing: an object crosses ``line-crossing-X`` when its position moves from the side the direction
    vector points away from to the side it points to (positions exactly on the line keep the previous side);
    unless ``extended=1``, the move must meet the line inside the segment; the object's motion must be within
    the ``mode`` angle of the direction (loose 90°, balanced 60°, strict 30°). Moving back does not count and
    re-arms the line for that object. When the motion over the history is shorter than ``min_motion``
    (the object went back and forth), the crossing move itself is judged instead.

    >>> core = AnalyticsCore("samples/configs/analytics/config_nvdsanalytics.txt")  # doctest: +SKIP
    >>> core.process(batch_meta)  # doctest: +SKIP
    >>> get_analytics_frame_meta(batch_meta.frame_meta_list[0]).objLCCumCnt  # doctest: +SKIP
    {'Entry': 2, 'Exit': 0}
    """

    def __init__(self, config: str | Path | AnalyticsConfig, *, unique_id: int = 0, history: int = 10,
                 min_motion: float = 1.0, max_missing_frames: int = 240) -> None:
        self.config = config if isinstance(config, AnalyticsConfig) else load_analytics_config(config)
        if history < 1:
            raise ValueError(f"AnalyticsCore: history must be >= 1, got {history}")
        self.unique_id = int(unique_id)
        self.history = int(history)
        self.min_motion = float(min_motion)
        self.max_missing_frames = int(max_missing_frames)
        self._state: dict[int, _SourceState] = {}
        self._scaled: dict[tuple[int, int, int], StreamRules | None] = {}

    # -- public API -------------------------------------------------------------------------------------
    def process(self, batch_meta: BatchMeta) -> None:
        """Analyse every frame of ``batch_meta`` in place (nothing happens when ``[property] enable=0``)."""
        for frame_meta in batch_meta.frame_meta_list:
            self.process_frame(frame_meta)

    def process_frame(self, frame_meta: FrameMeta) -> AnalyticsFrameMeta | None:
        """Analyse one frame in place; returns its :class:`AnalyticsFrameMeta` (None when disabled)."""
        if not self.config.enable:
            return None
        rules = self.rules_for_frame(frame_meta)
        state = self._state.setdefault(frame_meta.source_id, _SourceState())
        state.frames += 1
        objs = frame_meta.obj_meta_list
        out = AnalyticsFrameMeta(unique_id=self.unique_id)
        infos = [AnalyticsObjInfo(unique_id=self.unique_id) for _ in objs]
        pts = bottom_centres(np.array([(o.rect_params.left, o.rect_params.top, o.rect_params.width,
                                        o.rect_params.height) for o in objs], np.float64).reshape(-1, 4))
        classes = np.array([o.class_id for o in objs], np.int64)
        out.objCnt = {int(c): int(n) for c, n in zip(*np.unique(classes, return_counts=True), strict=True)}
        tracked = [i for i, o in enumerate(objs) if o.is_tracked]
        line_sides: dict[str, np.ndarray] = {}
        if rules is not None:
            if rules.line_crossing.enable:
                for ln in rules.line_crossing.lines:
                    out.objLCCurrCnt[ln.label] = 0
                    out.objLCCumCnt[ln.label] = state.cum[ln.label]
                    line_sides[ln.label] = _line_sides(ln, pts[tracked])
            self._roi_rules(rules, pts, classes, infos, out)
            self._motion_rules(rules, state, objs, tracked, pts, classes, infos, out, line_sides)
        self._update_tracks(state, objs, tracked, pts, line_sides)
        for o, info in zip(objs, infos, strict=True):
            o.add_user_meta(obj_user_meta(info))
        frame_meta.add_user_meta(frame_user_meta(out))
        dm = build_display_meta(rules, out, self.config.osd_mode, self.config.display_font_size)
        if dm is not None:
            frame_meta.add_display_meta(dm)
        return out

    def reset_source(self, source_id: int) -> None:
        """Forget the tracks and cumulative counts of one source (on EOS or a stream reset)."""
        self._state.pop(source_id, None)

    def cumulative_counts(self, source_id: int) -> dict[str, int]:
        """Line label → crossings counted so far on ``source_id``."""
        st = self._state.get(source_id)
        return dict(st.cum) if st else {}

    def rules_for_frame(self, frame_meta: FrameMeta) -> StreamRules | None:
        """The rules of the frame's source scaled to the frame size (cached), or None when it has none."""
        w = frame_meta.pipeline_width or frame_meta.source_frame_width
        h = frame_meta.pipeline_height or frame_meta.source_frame_height
        key = (frame_meta.source_id, w, h)
        if key not in self._scaled:
            rules = self.config.rules(frame_meta.source_id)
            if rules is not None and self.config.config_width:
                if w <= 0 or h <= 0:
                    raise ValueError(f"nvdsanalytics: frame {frame_meta.frame_num} of source {frame_meta.source_id} "
                                     "has no size, so config-width/config-height coordinates cannot be scaled")
                rules = rules.scaled(w / self.config.config_width, h / self.config.config_height)
            self._scaled[key] = rules
        return self._scaled[key]

    # -- rules ------------------------------------------------------------------------------------------
    @staticmethod
    def _eligible(classes: np.ndarray, class_ids: list[int]) -> np.ndarray:
        return np.ones(len(classes), bool) if not class_ids else np.isin(classes, class_ids)

    def _roi_rules(self, rules: StreamRules, pts: np.ndarray, classes: np.ndarray,
                   infos: list[AnalyticsObjInfo], out: AnalyticsFrameMeta) -> None:
        rf = rules.roi_filtering
        if rf.enable:
            ok = self._eligible(classes, rf.class_ids)
            for roi in rf.rois:
                status = (points_in_polygon(pts, roi.points) != rf.inverse_roi) & ok
                out.objInROIcnt[roi.label] = int(status.sum())
                for i in np.flatnonzero(status):
                    infos[i].roiStatus.append(roi.label)
        oc = rules.overcrowding
        if oc.enable:
            ok = self._eligible(classes, oc.class_ids)
            for roi in oc.rois:
                inside = points_in_polygon(pts, roi.points) & ok
                n = int(inside.sum())
                out.objInOCcnt[roi.label] = n
                out.ocStatus[roi.label] = n >= oc.object_threshold
                for i in np.flatnonzero(inside):
                    infos[i].ocStatus.append(roi.label)

    def _motion_rules(self, rules: StreamRules, state: _SourceState, objs: list[ObjectMeta], tracked: list[int],
                      pts: np.ndarray, classes: np.ndarray, infos: list[AnalyticsObjInfo],
                      out: AnalyticsFrameMeta, line_sides: dict[str, np.ndarray]) -> None:
        lc, dd = rules.line_crossing, rules.direction_detection
        if not tracked or not (lc.enable or dd.enable):
            return
        idx = np.array(tracked)
        tracks = [state.tracks.get(objs[i].object_id) for i in tracked]  # None: first sighting
        oldest = np.array([tr.points[0] if tr is not None else (np.nan, np.nan) for tr in tracks], np.float64)
        motions = pts[idx] - oldest
        moving = np.linalg.norm(motions, axis=1) >= self.min_motion  # NaN compares False
        if lc.enable:
            ok = np.flatnonzero(self._eligible(classes[idx], lc.class_ids))
            for ln in lc.lines:
                prev = np.array([tracks[k].side.get(ln.label, 0) if tracks[k] is not None else 0 for k in ok],
                                np.int64).reshape(-1)
                # A crossing: last seen before the line (-1), now after it (+1); on the line (0) decides nothing.
                cand = ok[(prev == -1) & (line_sides[ln.label][ok] == 1)]
                for k in cand:
                    if self._counts_as_crossing(ln, lc.extended, lc.mode.max_angle_deg, tracks[k], pts[idx[k]],
                                                motions[k], moving[k]):
                        infos[idx[k]].lcStatus.append(ln.label)
                        out.objLCCurrCnt[ln.label] += 1
                        state.cum[ln.label] += 1
                        out.objLCCumCnt[ln.label] = state.cum[ln.label]
        if dd.enable and dd.directions:
            ok = self._eligible(classes[idx], dd.class_ids) & moving
            if ok.any():
                ang = np.stack([angles_deg(motions[ok], d.vector[1] - d.vector[0]) for d in dd.directions], axis=1)
                best = np.argmin(ang, axis=1)
                for k, i in enumerate(idx[ok]):
                    if ang[k, best[k]] < dd.mode.max_angle_deg:
                        infos[i].dirStatus = f"DIR:{dd.directions[best[k]].label}"

    def _counts_as_crossing(self, ln: CrossingLine, extended: bool, max_angle: float, tr: _Track, p: np.ndarray,
                            motion: np.ndarray, moving: bool) -> bool:
        start = tr.side_point[ln.label]
        a, b = ln.line
        if not extended:
            t = crossing_param(start, p, a, b)[0]
            if not 0.0 <= t <= 1.0:
                return False
        dvec = ln.direction[1] - ln.direction[0]
        # Back-and-forth within the history window leaves no net motion: judge the crossing move instead.
        angle = angles_deg(motion if moving else p - start, dvec)[0]
        return bool(angle < max_angle)

    def _update_tracks(self, state: _SourceState, objs: list[ObjectMeta], tracked: list[int], pts: np.ndarray,
                       line_sides: dict[str, np.ndarray]) -> None:
        frame = state.frames
        for k, i in enumerate(tracked):
            oid = objs[i].object_id
            p = pts[i].copy()
            tr = state.tracks.get(oid)
            if tr is None:
                tr = state.tracks[oid] = _Track(deque(maxlen=self.history), frame)
            tr.points.append(p)
            tr.last_seen = frame
            for label, sides in line_sides.items():
                if sides[k] != 0:
                    tr.side[label] = int(sides[k])
                    tr.side_point[label] = p
        stale = [oid for oid, tr in state.tracks.items() if frame - tr.last_seen > self.max_missing_frames]
        for oid in stale:
            del state.tracks[oid]


def _line_sides(ln: CrossingLine, points: np.ndarray) -> np.ndarray:
    """Per point: +1 on the side the line's direction vector points to ("after"), -1 before, 0 on the line."""
    a, b = ln.line
    dvec = ln.direction[1] - ln.direction[0]
    orient = np.sign((b[0] - a[0]) * dvec[1] - (b[1] - a[1]) * dvec[0])
    return (np.sign(side_of_line(points, a, b)) * orient).astype(np.int64)
