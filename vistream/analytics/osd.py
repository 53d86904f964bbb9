"""What nvdsanalytics draws (``osd-mode``): ROIs and lines as :class:`LineParams`, directions as arrows, labels
and counts as text, all in one :class:`DisplayMeta` per frame for the OSD element to render.

* ``osd-mode=0``: nothing.
* ``osd-mode=1``: ROI outlines, counting lines with their direction arrows, direction arrows, and their labels.
* ``osd-mode=2``: as 1, with the counts in the labels (objects in each ROI, cumulative crossings per line,
  ``OVERCROWDED`` when an overcrowding ROI is over its threshold) and a per-frame summary line.
"""

from __future__ import annotations

import numpy as np

from vistream.analytics.config import StreamRules
from vistream.analytics.meta import AnalyticsFrameMeta
from vistream.meta import ArrowParams, ColorParams, DisplayMeta, FontParams, LineParams, TextParams

ROI_COLOR = (1.0, 1.0, 0.0, 1.0)  # yellow
OC_COLOR = (1.0, 0.5, 0.0, 1.0)  # orange
OC_ALERT_COLOR = (1.0, 0.0, 0.0, 1.0)  # red while overcrowded
LINE_COLOR = (0.0, 0.6, 1.0, 1.0)  # blue
DIR_COLOR = (0.0, 1.0, 0.0, 1.0)  # green
LINE_WIDTH = 3
ARROW_WIDTH = 4


def _ip(v: float) -> int:
    return int(round(float(v)))


def _polygon_lines(points: np.ndarray, color: tuple) -> list[LineParams]:
    nxt = np.roll(points, -1, axis=0)
    return [LineParams(_ip(a[0]), _ip(a[1]), _ip(b[0]), _ip(b[1]), LINE_WIDTH, ColorParams(*color))
            for a, b in zip(points, nxt, strict=True)]


def _text(text: str, x: float, y: float, size: int, color: tuple) -> TextParams:
    return TextParams(display_text=text, x_offset=max(0, _ip(x)), y_offset=max(0, _ip(y) - size - 4),
                      font_params=FontParams("Serif", size, ColorParams(*color)), set_bg_clr=1,
                      text_bg_clr=ColorParams(0.0, 0.0, 0.0, 0.6))


def build_display_meta(rules: StreamRules | None, frame_out: AnalyticsFrameMeta, osd_mode: int,
                       font_size: int) -> DisplayMeta | None:
    """The drawing of ``rules`` (already scaled to the frame) with the counts of ``frame_out``; None for mode 0."""
    if osd_mode <= 0:
        return None
    counts = osd_mode >= 2
    dm = DisplayMeta()
    if rules is not None:
        rf = rules.roi_filtering
        if rf.enable:
            for roi in rf.rois:
                dm.line_params += _polygon_lines(roi.points, ROI_COLOR)
                label = f"{roi.label}: {frame_out.objInROIcnt.get(roi.label, 0)}" if counts else roi.label
                dm.text_params.append(_text(label, *roi.points[0], font_size, ROI_COLOR))
        oc = rules.overcrowding
        if oc.enable:
            for roi in oc.rois:
                alert = frame_out.ocStatus.get(roi.label, False)
                color = OC_ALERT_COLOR if alert and counts else OC_COLOR
                dm.line_params += _polygon_lines(roi.points, color)
                label = roi.label
                if counts:
                    label = f"{roi.label}: {frame_out.objInOCcnt.get(roi.label, 0)}" + (" OVERCROWDED" if alert else "")
                dm.text_params.append(_text(label, *roi.points[0], font_size, color))
        lc = rules.line_crossing
        if lc.enable:
            for ln in lc.lines:
                (x1, y1), (x2, y2) = ln.line
                dm.line_params.append(LineParams(_ip(x1), _ip(y1), _ip(x2), _ip(y2), LINE_WIDTH, ColorParams(*LINE_COLOR)))
                (dx1, dy1), (dx2, dy2) = ln.direction
                dm.arrow_params.append(ArrowParams(_ip(dx1), _ip(dy1), _ip(dx2), _ip(dy2), ARROW_WIDTH,
                                                   arrow_color=ColorParams(*LINE_COLOR)))
                label = f"{ln.label}: {frame_out.objLCCumCnt.get(ln.label, 0)}" if counts else ln.label
                dm.text_params.append(_text(label, x1, y1, font_size, LINE_COLOR))
        dd = rules.direction_detection
        if dd.enable:
            for d in dd.directions:
                (x1, y1), (x2, y2) = d.vector
                dm.arrow_params.append(ArrowParams(_ip(x1), _ip(y1), _ip(x2), _ip(y2), ARROW_WIDTH,
                                                   arrow_color=ColorParams(*DIR_COLOR)))
                dm.text_params.append(_text(d.label, x1, y1, font_size, DIR_COLOR))
    if counts and frame_out.objCnt:
        summary = "  ".join(f"class {c}: {n}" for c, n in sorted(frame_out.objCnt.items()))
        dm.text_params.append(_text(summary, 10, font_size + 14, font_size, (1.0, 1.0, 1.0, 1.0)))
    if not (dm.line_params or dm.text_params or dm.arrow_params):
        return None
    return dm
