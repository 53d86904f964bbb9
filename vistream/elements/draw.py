"""Drawing primitives for the on-screen display: boxes, text, lines, arrows, circles and masks on NumPy frames.

Every function draws **in place** on a packed frame (``H x W x C`` uint8, C = 1, 3 or 4) and takes colours as
:class:`~vistream.meta.ColorParams` (RGBA, 0..1). A :class:`Painter` binds a frame to its pixel format so that
colours land in the frame's own channel order (RGB, BGR, RGBA, BGRA, RGBx, BGRx, GRAY8). Colours with alpha < 1
are blended, and only inside the bounding box of the shape, so the cost is proportional to what is drawn.
A colour with alpha 0 draws nothing.

>>> import numpy as np
>>> from vistream.meta import ColorParams, RectParams
>>> frame = np.zeros((100, 100, 3), np.uint8)
>>> p = Painter(frame, "BGR")
>>> p.rect(RectParams(10, 10, 50, 40, border_width=2, border_color=ColorParams(1, 0, 0, 1)))
>>> frame[10, 30].tolist()   # red border, stored as B, G, R
[0, 0, 255]
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import cv2
import numpy as np

from vistream.meta import ArrowParams, CircleParams, ColorParams, LineParams, RectParams, TextParams

# Order of R, G, B (and alpha/padding) in each packed format.
_CHANNELS = {
    "RGB": (0, 1, 2, None), "BGR": (2, 1, 0, None),
    "RGBA": (0, 1, 2, 3), "RGBx": (0, 1, 2, 3), "BGRA": (2, 1, 0, 3), "BGRx": (2, 1, 0, 3),
}
PACKED_FORMATS = (*_CHANNELS, "GRAY8")

# Hershey fonts are the only ones every OpenCV build has. A DeepStream font size is in points (Pango at
# 96 dpi), so a 12 pt label has capitals about 12 px high: scale = size / height of "H" at scale 1.
_HERSHEY_CAP_HEIGHT = 22.0
_SERIF_FONTS = ("serif", "times", "georgia", "palatino", "cambria")
_MONO_FONTS = ("mono", "courier", "consolas")


def hershey_font(font_name: str) -> int:
    """The Hershey face closest to a Pango family name (``Serif``, ``Sans``, ``Monospace``, ``Arial``...)."""
    name = (font_name or "").lower()
    if any(k in name for k in _SERIF_FONTS):
        return cv2.FONT_HERSHEY_COMPLEX
    if any(k in name for k in _MONO_FONTS):
        return cv2.FONT_HERSHEY_PLAIN
    return cv2.FONT_HERSHEY_SIMPLEX


def font_scale(font_size: float) -> float:
    return max(0.2, float(font_size)) / _HERSHEY_CAP_HEIGHT


@lru_cache(maxsize=8192)
def _line_size(line: str, face: int, scale: float, thickness: int) -> tuple[int, int, int]:
    """``(width, height, baseline)`` of one line (cached: labels repeat from frame to frame and
    ``cv2.getTextSize`` costs as much as drawing the text)."""
    (w, h), base = cv2.getTextSize(line or " ", face, scale, thickness)
    return w, h, base


def text_size(text: str, font_name: str = "Serif", font_size: float = 12) -> tuple[int, int]:
    """``(width, height)`` in pixels of the text box :meth:`Painter.text` fills (lines stacked)."""
    face, scale = hershey_font(font_name), font_scale(font_size)
    thickness = _thickness(font_size)
    w = h = 0
    for line in text.split("\n"):
        lw, lh, base = _line_size(line, face, scale, thickness)
        w = max(w, lw)
        h += lh + base + _line_gap(font_size)
    return w + 2 * _pad(font_size), h + _pad(font_size)


def _thickness(font_size: float) -> int:
    return max(1, int(round(font_size / 14)))


def _pad(font_size: float) -> int:
    return max(1, int(round(font_size / 6)))


def _line_gap(font_size: float) -> int:
    return max(1, int(round(font_size / 5)))


class Painter:
    """Draws on one packed frame in its own channel order.

    ``fmt`` is the frame's caps format. Planar YUV (NV12/I420) must be converted to a packed format first
    (:class:`~vistream.elements.osd.OsdRenderer` does this).
    """

    def __init__(self, frame: np.ndarray, fmt: str = "RGB"):
        if frame.dtype != np.uint8 or frame.ndim not in (2, 3):
            raise ValueError(f"Painter needs an H x W x C uint8 frame, got {frame.dtype} {frame.shape}")
        if fmt not in PACKED_FORMATS:
            raise ValueError(f"cannot draw on {fmt} frames directly (packed formats: {', '.join(PACKED_FORMATS)})")
        self.frame = frame if frame.ndim == 3 else frame[:, :, None]
        self.fmt = fmt
        self.height, self.width = frame.shape[:2]
        self.channels = self.frame.shape[2]
        if fmt == "GRAY8" and self.channels != 1 or fmt != "GRAY8" and self.channels != len(fmt):
            raise ValueError(f"a {fmt} frame must have {1 if fmt == 'GRAY8' else len(fmt)} channels, got {self.channels}")

    # --- colours ----------------------------------------------------------------------------------------
    def pixel(self, color: ColorParams) -> tuple[int, ...]:
        """The colour as this frame's pixel value (alpha/padding channel set opaque)."""
        r, g, b, _ = color.rgba255()
        if self.fmt == "GRAY8":
            return (int(round(0.299 * r + 0.587 * g + 0.114 * b)),)
        order = _CHANNELS[self.fmt]
        out = [0] * self.channels
        out[order[0]], out[order[1]], out[order[2]] = r, g, b
        if order[3] is not None:
            out[order[3]] = 255
        return tuple(out)

    # --- the one blending primitive ---------------------------------------------------------------------
    def fill(self, x0: int, y0: int, x1: int, y1: int, color: ColorParams) -> None:
        """Fill the rectangle ``[x0, x1) x [y0, y1)`` (clipped), alpha-blended."""
        x0, y0 = max(0, int(x0)), max(0, int(y0))
        x1, y1 = min(self.width, int(x1)), min(self.height, int(y1))
        a = min(1.0, max(0.0, color.alpha))
        if x1 <= x0 or y1 <= y0 or a <= 0.0:
            return
        roi = self.frame[y0:y1, x0:x1]
        value = self.pixel(color)
        if a >= 0.999:
            roi[...] = value
        else:  # uint8 blend in OpenCV (SIMD): round(roi * (1 - a) + value * a)
            roi[...] = cv2.addWeighted(roi, 1.0 - a, np.full_like(roi, value), a, 0.0).reshape(roi.shape)

    def shape(self, bbox: tuple[float, float, float, float], color: ColorParams,
              draw: Callable[[np.ndarray, int, int, tuple], None], direct: bool = True) -> None:
        """Draw a cv2 shape with ``color``, blending when alpha < 1.

        ``draw(target, ox, oy, value)`` paints ``value`` with cv2 on ``target``, whose top-left is at frame
        pixel ``(ox, oy)``. Opaque shapes go straight onto the frame; translucent ones are painted (255) on
        a mask covering ``bbox`` (x0, y0, x1, y1 in frame pixels) and blended there, so only that box is
        touched.
        """
        a = min(1.0, max(0.0, color.alpha))
        x0, y0 = max(0, int(np.floor(bbox[0]))), max(0, int(np.floor(bbox[1])))
        x1, y1 = min(self.width, int(np.ceil(bbox[2])) + 1), min(self.height, int(np.ceil(bbox[3])) + 1)
        if x1 <= x0 or y1 <= y0 or a <= 0.0:
            return
        if direct and a >= 0.999 and self.frame.flags.c_contiguous:
            draw(self.frame, 0, 0, self.pixel(color))
            return
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        draw(mask, x0, y0, 255)
        sel = mask > 0
        if not sel.any():
            return
        roi = self.frame[y0:y1, x0:x1]
        value = np.array(self.pixel(color), np.float32)
        weight = mask[sel].astype(np.float32)[:, None] * (a / 255.0)  # anti-aliased edges blend partially
        roi[sel] = (roi[sel].astype(np.float32) * (1.0 - weight) + value * weight + 0.5).astype(np.uint8)

    # --- primitives -------------------------------------------------------------------------------------
    def rect(self, rp: RectParams, draw_border: bool = True, border_width: int | None = None) -> None:
        """A box: ``bg_color`` fill when ``has_bg_color``, then a ``border_width`` border drawn *inside* the
        box edges, so the box's outermost pixels (left, top, left+width-1, top+height-1) are border.
        A box with a non-finite coordinate (a broken detector output) is not drawn."""
        if not np.isfinite((rp.left, rp.top, rp.width, rp.height)).all():
            return
        x0, y0 = int(round(rp.left)), int(round(rp.top))
        x1, y1 = int(round(rp.left + rp.width)), int(round(rp.top + rp.height))
        if x1 <= x0 or y1 <= y0:
            return
        if rp.has_bg_color:
            self.fill(x0, y0, x1, y1, rp.bg_color)
        bw = rp.border_width if border_width is None else border_width
        if not draw_border or bw <= 0:
            return
        bw = min(int(bw), (x1 - x0 + 1) // 2, (y1 - y0 + 1) // 2)
        c = rp.border_color
        self.fill(x0, y0, x1, y0 + bw, c)  # top
        self.fill(x0, y1 - bw, x1, y1, c)  # bottom
        self.fill(x0, y0 + bw, x0 + bw, y1 - bw, c)  # left
        self.fill(x1 - bw, y0 + bw, x1, y1 - bw, c)  # right

    def text(self, tp: TextParams) -> tuple[int, int, int, int] | None:
        """``display_text`` with its top-left at (``x_offset``, ``y_offset``), moved inside the frame when it
        would cross an edge; ``set_bg_clr`` fills the text box with ``text_bg_clr`` first. Returns the box."""
        text = tp.display_text
        if not text:
            return None
        fp = tp.font_params
        size = fp.font_size if fp.font_size > 0 else 12
        face, scale, thick = hershey_font(fp.font_name), font_scale(size), _thickness(size)
        tw, th = text_size(text, fp.font_name, size)
        x = int(min(max(0, tp.x_offset), max(0, self.width - tw)))
        y = int(min(max(0, tp.y_offset), max(0, self.height - th)))
        if tp.set_bg_clr:
            self.fill(x, y, x + tw, y + th, tp.text_bg_clr)
        pad, gap = _pad(size), _line_gap(size)

        def paint(dst: np.ndarray, ox: int, oy: int, value: tuple) -> None:
            cy = y + pad
            for line in text.split("\n"):
                _, lh, base = _line_size(line, face, scale, thick)
                cy += lh
                cv2.putText(dst, line, (x + pad - ox, cy - oy), face, scale, value, thick, cv2.LINE_AA)
                cy += base + gap

        self.shape((x, y, x + tw, y + th), fp.font_color, paint)
        return x, y, tw, th

    def line(self, lp: LineParams) -> None:
        w = max(1, int(lp.line_width))
        bbox = (min(lp.x1, lp.x2) - w, min(lp.y1, lp.y2) - w, max(lp.x1, lp.x2) + w, max(lp.y1, lp.y2) + w)
        self.shape(bbox, lp.line_color,
                   lambda m, ox, oy, v: cv2.line(m, (lp.x1 - ox, lp.y1 - oy), (lp.x2 - ox, lp.y2 - oy), v, w))

    def arrow(self, ap: ArrowParams) -> None:
        """An arrow; ``arrow_head`` 0 puts the head at (x1, y1), 1 at (x2, y2), 2 at both ends."""
        w = max(1, int(ap.arrow_width))
        length = float(np.hypot(ap.x2 - ap.x1, ap.y2 - ap.y1))
        if length <= 0:
            return
        tip = min(0.5, max(0.1, (4.0 * w + 6.0) / length))  # head length in pixels, as a fraction
        head = tip * length + w
        bbox = (min(ap.x1, ap.x2) - head, min(ap.y1, ap.y2) - head, max(ap.x1, ap.x2) + head, max(ap.y1, ap.y2) + head)

        def paint(m: np.ndarray, ox: int, oy: int, v: tuple) -> None:
            p1, p2 = (ap.x1 - ox, ap.y1 - oy), (ap.x2 - ox, ap.y2 - oy)
            if ap.arrow_head == 0:
                cv2.arrowedLine(m, p2, p1, v, w, cv2.LINE_8, 0, tip)
            else:
                cv2.arrowedLine(m, p1, p2, v, w, cv2.LINE_8, 0, tip)
                if ap.arrow_head == 2:
                    cv2.arrowedLine(m, p2, p1, v, w, cv2.LINE_8, 0, tip)

        self.shape(bbox, ap.arrow_color, paint)

    def circle(self, cp: CircleParams, thickness: int = 2) -> None:
        """A circle outline in ``circle_color``, filled with ``bg_color`` first when ``has_bg_color``."""
        r = int(cp.radius)
        if r <= 0:
            return
        bbox = (cp.xc - r - thickness, cp.yc - r - thickness, cp.xc + r + thickness, cp.yc + r + thickness)
        if cp.has_bg_color:
            self.shape(bbox, cp.bg_color, lambda m, ox, oy, v: cv2.circle(m, (cp.xc - ox, cp.yc - oy), r, v, -1))
        self.shape(bbox, cp.circle_color,
                   lambda m, ox, oy, v: cv2.circle(m, (cp.xc - ox, cp.yc - oy), r, v, thickness, cv2.LINE_8))

    def mask(self, rp: RectParams, data: np.ndarray, threshold: float, color: ColorParams) -> None:
        """An instance mask (``data``: float ``h x w`` over the box ``rp``) blended where ``data > threshold``."""
        if not np.isfinite((rp.left, rp.top, rp.width, rp.height)).all():
            return
        x0, y0 = int(round(rp.left)), int(round(rp.top))
        bw, bh = int(round(rp.width)), int(round(rp.height))
        if bw <= 0 or bh <= 0 or data is None or data.size == 0:
            return
        m = np.asarray(data, np.float32)
        if m.ndim != 2:
            raise ValueError(f"mask data must be 2-D (height x width), got shape {m.shape}")
        if m.shape != (bh, bw):
            m = cv2.resize(m, (bw, bh), interpolation=cv2.INTER_LINEAR)
        binary = (m > threshold).astype(np.uint8) * 255

        def paint(dst: np.ndarray, ox: int, oy: int, _value) -> None:
            sx, sy = ox - x0, oy - y0  # the clipped mask window inside the box
            part = binary[sy:sy + dst.shape[0], sx:sx + dst.shape[1]]
            dst[:part.shape[0], :part.shape[1]] = part

        self.shape((x0, y0, x0 + bw - 1, y0 + bh - 1), color, paint, direct=False)
