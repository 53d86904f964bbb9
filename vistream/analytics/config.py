"""The nvdsanalytics config file (``config_nvdsanalytics.txt``): typed rules per stream.

Groups (``N`` is the source id the rules apply to)::

    [property]                   enable, config-width, config-height, osd-mode (0/1/2), display-font-size
    [roi-filtering-stream-N]     enable, roi-<NAME>=x1;y1;x2;y2;x3;y3;..., inverse-roi, class-id
    [overcrowding-stream-N]      enable, roi-<NAME>=..., object-threshold, class-id
    [line-crossing-stream-N]     enable, line-crossing-<NAME>=dx1;dy1;dx2;dy2;lx1;ly1;lx2;ly2, class-id,
                                 extended, mode (loose/balanced/strict)
    [direction-detection-stream-N] enable, direction-<NAME>=x1;y1;x2;y2, class-id, mode

``class-id`` is ``-1`` (every class, the default) or a ``;``-separated list. Unknown groups and keys give a
:class:`ConfigWarning` naming ``file:line``; bad values raise :class:`AnalyticsConfigError` (``file:line``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

import numpy as np

from vistream.analytics.keyfile import ConfigWarning, Entry, Group, KeyFile, KeyFileError, float_list


class AnalyticsConfigError(KeyFileError):
    """A bad nvdsanalytics config; the message starts with ``file:line:``."""


class Mode(str, Enum):
    """How strictly an object's motion must follow a configured direction (line crossing, direction detection).

    The angle between the object's motion over its recent history and the configured direction vector must
    be below :attr:`max_angle_deg`: loose 90° (any motion with a component along the direction), balanced
    60°, strict 30°.
    """

    LOOSE = "loose"
    BALANCED = "balanced"
    STRICT = "strict"

    @property
    def max_angle_deg(self) -> float:
        return _MODE_ANGLE[self]


_MODE_ANGLE = {Mode.LOOSE: 90.0, Mode.BALANCED: 60.0, Mode.STRICT: 30.0}
_MODES = {m.value: m for m in Mode}


@dataclass(frozen=True)
class Roi:
    """A named polygon, ``points`` ``(N, 2)`` float64 in config coordinates."""

    label: str
    points: np.ndarray
    line: int = 0

    def scaled(self, sx: float, sy: float) -> Roi:
        return replace(self, points=self.points * (sx, sy))


@dataclass(frozen=True)
class CrossingLine:
    """A counting line: the segment ``line`` ``(2, 2)`` and the direction ``direction`` ``(2, 2)`` (from → to)
    in which an object must cross it to be counted."""

    label: str
    direction: np.ndarray
    line: np.ndarray
    lineno: int = 0

    def scaled(self, sx: float, sy: float) -> CrossingLine:
        return replace(self, direction=self.direction * (sx, sy), line=self.line * (sx, sy))


@dataclass(frozen=True)
class Direction:
    """A named direction vector ``vector`` ``(2, 2)`` (from → to)."""

    label: str
    vector: np.ndarray
    line: int = 0

    def scaled(self, sx: float, sy: float) -> Direction:
        return replace(self, vector=self.vector * (sx, sy))


@dataclass
class RoiFiltering:
    enable: bool = False
    rois: list[Roi] = field(default_factory=list)
    inverse_roi: bool = False
    class_ids: list[int] = field(default_factory=list)  # empty: every class


@dataclass
class Overcrowding:
    enable: bool = False
    rois: list[Roi] = field(default_factory=list)
    object_threshold: int = 1
    class_ids: list[int] = field(default_factory=list)


@dataclass
class LineCrossing:
    enable: bool = False
    lines: list[CrossingLine] = field(default_factory=list)
    class_ids: list[int] = field(default_factory=list)
    extended: bool = False
    mode: Mode = Mode.BALANCED


@dataclass
class DirectionDetection:
    enable: bool = False
    directions: list[Direction] = field(default_factory=list)
    class_ids: list[int] = field(default_factory=list)
    mode: Mode = Mode.BALANCED


@dataclass
class StreamRules:
    """All rules of one stream (source id)."""

    roi_filtering: RoiFiltering = field(default_factory=RoiFiltering)
    overcrowding: Overcrowding = field(default_factory=Overcrowding)
    line_crossing: LineCrossing = field(default_factory=LineCrossing)
    direction_detection: DirectionDetection = field(default_factory=DirectionDetection)

    def scaled(self, sx: float, sy: float) -> StreamRules:
        """These rules with every coordinate multiplied by ``(sx, sy)``."""
        return StreamRules(
            replace(self.roi_filtering, rois=[r.scaled(sx, sy) for r in self.roi_filtering.rois]),
            replace(self.overcrowding, rois=[r.scaled(sx, sy) for r in self.overcrowding.rois]),
            replace(self.line_crossing, lines=[ln.scaled(sx, sy) for ln in self.line_crossing.lines]),
            replace(self.direction_detection,
                    directions=[d.scaled(sx, sy) for d in self.direction_detection.directions]),
        )


@dataclass
class AnalyticsConfig:
    """A parsed nvdsanalytics config. ``config_width/height`` 0 means coordinates are already frame pixels."""

    path: str = "<string>"
    enable: bool = True
    config_width: int = 0
    config_height: int = 0
    osd_mode: int = 2
    display_font_size: int = 12
    streams: dict[int, StreamRules] = field(default_factory=dict)

    def rules(self, source_id: int) -> StreamRules | None:
        return self.streams.get(source_id)


_STREAM_GROUP = re.compile(r"^(roi-filtering|overcrowding|line-crossing|direction-detection)-stream-(\d+)$")
_PROPERTY_KEYS = {"enable", "config-width", "config-height", "osd-mode", "display-font-size", "unique-id", "gpu-id"}


def _warn(path: str, line: int, message: str) -> None:
    warnings.warn(f"{path}:{line}: {message}", ConfigWarning, stacklevel=4)


def _err(group: Group, e: Entry | str | None, message: str) -> AnalyticsConfigError:
    base = group.error(e, message)
    return AnalyticsConfigError(base.path, base.line, base.detail)


def _class_ids(group: Group) -> list[int]:
    e = group.entry("class-id")
    if e is None:
        return []
    try:
        ids = group.get_int_list("class-id")
    except KeyFileError as exc:
        raise AnalyticsConfigError(exc.path, exc.line, exc.detail) from None
    if not ids:
        raise _err(group, e, "empty class-id (use -1 for every class)")
    if -1 in ids:
        if len(ids) > 1:
            raise _err(group, e, "-1 (every class) cannot be combined with other class ids")
        return []
    if any(i < 0 for i in ids):
        raise _err(group, e, f"class ids must be >= 0 or -1, got {e.value!r}")
    return ids


def _numbers(group: Group, e: Entry) -> np.ndarray:
    try:
        return np.asarray(float_list(group, e), np.float64)
    except KeyFileError as exc:
        raise AnalyticsConfigError(exc.path, exc.line, exc.detail) from None


def _polygon(group: Group, e: Entry, label: str) -> Roi:
    v = _numbers(group, e)
    if len(v) % 2 or len(v) < 6:
        raise _err(group, e, f"a ROI needs at least 3 points as x1;y1;x2;y2;x3;y3;..., got {len(v)} values")
    pts = v.reshape(-1, 2)
    # Shoelace area: a polygon of collinear points contains nothing and is surely a typo.
    x, y = pts[:, 0], pts[:, 1]
    if abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) < 1e-9:
        raise _err(group, e, "ROI polygon has zero area")
    return Roi(label, pts, e.line)


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except KeyFileError as exc:
        raise AnalyticsConfigError(exc.path, exc.line, exc.detail) from None


def _bool(group: Group, key: str, default: bool) -> bool:
    return bool(_call(group.get_bool, key, default))


def _mode(group: Group) -> Mode:
    return _call(group.get_choice, "mode", _MODES, Mode.BALANCED)


def _unknown(group: Group, e: Entry) -> None:
    _warn(group.path, e.line, f"[{group.name}] unknown key {e.key!r} (ignored)")


def _parse_roi_group(group: Group, overcrowding: bool) -> RoiFiltering | Overcrowding:
    rois = []
    known = {"enable", "class-id", "object-threshold" if overcrowding else "inverse-roi"}
    for e in group:
        if e.key.startswith("roi-") and len(e.key) > 4:
            rois.append(_polygon(group, e, e.key[4:]))
        elif e.key not in known:
            _unknown(group, e)
    enable = _bool(group, "enable", False)
    if enable and not rois:
        raise _err(group, None, "enabled but defines no roi-<NAME>=x1;y1;x2;y2;... polygon")
    if overcrowding:
        if enable and "object-threshold" not in group:
            raise _err(group, None, "object-threshold is required")
        thr = _call(group.get_int, "object-threshold", 1)
        if thr < 1:
            raise _err(group, "object-threshold", f"must be >= 1, got {thr}")
        return Overcrowding(enable, rois, thr, _class_ids(group))
    return RoiFiltering(enable, rois, _bool(group, "inverse-roi", False), _class_ids(group))


def _parse_line_group(group: Group) -> LineCrossing:
    lines = []
    for e in group:
        if e.key.startswith("line-crossing-") and len(e.key) > len("line-crossing-"):
            v = _numbers(group, e)
            if len(v) != 8:
                raise _err(group, e, "expected 8 values dir-x1;dir-y1;dir-x2;dir-y2;line-x1;line-y1;line-x2;line-y2, "
                                     f"got {len(v)}")
            d, ln = v[:4].reshape(2, 2), v[4:].reshape(2, 2)
            dv, lv = d[1] - d[0], ln[1] - ln[0]
            if not np.any(dv):
                raise _err(group, e, "direction vector has zero length")
            if not np.any(lv):
                raise _err(group, e, "line has zero length")
            if abs(lv[0] * dv[1] - lv[1] * dv[0]) < 1e-9:
                raise _err(group, e, "direction is parallel to the line, so no crossing could follow it")
            lines.append(CrossingLine(e.key[len("line-crossing-"):], d, ln, e.line))
        elif e.key not in {"enable", "class-id", "extended", "mode"}:
            _unknown(group, e)
    enable = _bool(group, "enable", False)
    if enable and not lines:
        raise _err(group, None, "enabled but defines no line-crossing-<NAME>=... line")
    return LineCrossing(enable, lines, _class_ids(group), _bool(group, "extended", False), _mode(group))


def _parse_direction_group(group: Group) -> DirectionDetection:
    dirs = []
    for e in group:
        if e.key.startswith("direction-") and len(e.key) > len("direction-"):
            v = _numbers(group, e)
            if len(v) != 4:
                raise _err(group, e, f"expected 4 values x1;y1;x2;y2, got {len(v)}")
            vec = v.reshape(2, 2)
            if not np.any(vec[1] - vec[0]):
                raise _err(group, e, "direction vector has zero length")
            dirs.append(Direction(e.key[len("direction-"):], vec, e.line))
        elif e.key not in {"enable", "class-id", "mode"}:
            _unknown(group, e)
    enable = _bool(group, "enable", False)
    if enable and not dirs:
        raise _err(group, None, "enabled but defines no direction-<NAME>=x1;y1;x2;y2")
    return DirectionDetection(enable, dirs, _class_ids(group), _mode(group))


def parse_analytics_config(kf: KeyFile) -> AnalyticsConfig:
    """Build an :class:`AnalyticsConfig` from a parsed key file."""
    cfg = AnalyticsConfig(path=kf.path)
    prop = kf.group("property")
    if prop is None:
        raise AnalyticsConfigError(kf.path, 0, "missing [property] group")
    for e in prop:
        if e.key not in _PROPERTY_KEYS:
            _unknown(prop, e)
    cfg.enable = _bool(prop, "enable", True)
    cfg.config_width = _call(prop.get_int, "config-width", 0, min_value=0)
    cfg.config_height = _call(prop.get_int, "config-height", 0, min_value=0)
    if (cfg.config_width == 0) != (cfg.config_height == 0):
        raise _err(prop, "config-height" if cfg.config_width == 0 else "config-width",
                   "config-width and config-height must be set together")
    cfg.osd_mode = _call(prop.get_int, "osd-mode", 2, min_value=0, max_value=2)
    cfg.display_font_size = _call(prop.get_int, "display-font-size", 12, min_value=1)
    for group in kf:
        if group.name == "property":
            continue
        m = _STREAM_GROUP.match(group.name)
        if m is None:
            _warn(kf.path, group.line, f"unknown group [{group.name}] (ignored)")
            continue
        kind, stream = m.group(1), int(m.group(2))
        rules = cfg.streams.setdefault(stream, StreamRules())
        if kind == "roi-filtering":
            rules.roi_filtering = _parse_roi_group(group, overcrowding=False)
        elif kind == "overcrowding":
            rules.overcrowding = _parse_roi_group(group, overcrowding=True)
        elif kind == "line-crossing":
            rules.line_crossing = _parse_line_group(group)
        else:
            rules.direction_detection = _parse_direction_group(group)
    return cfg


def load_analytics_config(path: str | Path) -> AnalyticsConfig:
    """Read an nvdsanalytics config file.

    >>> cfg = load_analytics_config("samples/configs/analytics/config_nvdsanalytics.txt")  # doctest: +SKIP
    >>> cfg.rules(0).line_crossing.lines[0].label  # doctest: +SKIP
    'Entry'
    """
    kf = _call(KeyFile.load, path)
    return parse_analytics_config(kf)


def parse_analytics_text(text: str, path: str = "<string>") -> AnalyticsConfig:
    """Parse config text (for tests and for configs built in code)."""
    return parse_analytics_config(_call(KeyFile.parse, text, path))
