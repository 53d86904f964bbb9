"""nvdsosd: draws the metadata of each frame (boxes, labels, masks, display meta, a clock) onto the frames."""

from __future__ import annotations

import time

import numpy as np

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.element import Element, register
from vistream.core.errors import ElementError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.draw import PACKED_FORMATS, Painter
from vistream.elements.video import buffer_format, convert_color, download_buffer
from vistream.meta import BatchMeta, ColorParams, FontParams, FrameMeta, TextParams

MASK_ALPHA = 0.5  # instance masks are blended at this opacity in the object's border colour


def color_from_uint(value: int) -> ColorParams:
    """A ``0xRRGGBBAA`` integer (``clock-color``) as :class:`ColorParams`."""
    v = int(value) & 0xFFFFFFFF
    return ColorParams(((v >> 24) & 255) / 255, ((v >> 16) & 255) / 255, ((v >> 8) & 255) / 255, (v & 255) / 255)


class OsdRenderer:
    """Draws a batch's metadata onto its frames, in place.

    API: ``OsdRenderer(display_text=True, display_bbox=True, display_mask=True, clock=None)`` then
    ``draw_batch(frames, fmt, batch_meta)`` where ``frames`` is the buffer's ``(B, H, W, C)`` array (or list
    of frames) and ``fmt`` the caps format. For every :class:`FrameMeta`, on ``frames[frame_meta.batch_id]``:

    * each object's ``rect_params`` (``has_bg_color`` → ``bg_color`` blended inside the box, then a
      ``border_width`` border in ``border_color`` inside the box edges) when ``display_bbox``;
    * each object's ``mask_params`` (a float mask over the box, ``> threshold``) blended at 50 % in the
      border colour when ``display_mask``;
    * every :class:`DisplayMeta`: rects, lines, arrows, circles;
    * last, so that they are never covered, each object's ``text_params`` and every display-meta text, when
      ``display_text``.

    ``clock`` is a :class:`TextParams` template whose ``display_text`` is a ``strftime`` format drawn on every
    frame. Planar YUV frames (NV12, I420) are converted to RGB, drawn and written back. Returns the number
    of shapes drawn.

    >>> import numpy as np
    >>> from vistream.meta import BatchMeta, FrameMeta, make_object
    >>> frames = np.zeros((1, 120, 160, 3), np.uint8)
    >>> fm = FrameMeta(batch_id=0)
    >>> _ = fm.add_obj_meta(make_object(20, 30, 50, 40, label="car"))
    >>> OsdRenderer().draw_batch(frames, "RGB", BatchMeta(frame_meta_list=[fm]))
    2
    >>> frames[0, 50, 20].tolist()   # the box's left edge, default border colour red
    [255, 0, 0]
    """

    def __init__(self, display_text: bool = True, display_bbox: bool = True, display_mask: bool = True,
                 clock: TextParams | None = None):
        self.display_text = display_text
        self.display_bbox = display_bbox
        self.display_mask = display_mask
        self.clock = clock

    def draw_batch(self, frames, fmt: str, batch_meta: BatchMeta | None) -> int:
        n = 0
        metas: list[FrameMeta] = list(batch_meta.frame_meta_list) if batch_meta is not None else []
        by_frame: dict[int, list[FrameMeta]] = {}
        for fm in metas:
            if not 0 <= fm.batch_id < len(frames):
                raise ElementError(f"frame meta batch_id {fm.batch_id} (source {fm.source_id}) is outside the "
                                   f"buffer's {len(frames)} frame(s)")
            by_frame.setdefault(fm.batch_id, []).append(fm)
        targets = range(len(frames)) if self.clock is not None else sorted(by_frame)
        for i in targets:
            n += self.draw_frame(frames[i], fmt, by_frame.get(i, []))
        return n

    def draw_frame(self, frame: np.ndarray, fmt: str, frame_metas: list[FrameMeta]) -> int:
        """Draw the given frame metas (and the clock) on one frame, in place."""
        if fmt in PACKED_FORMATS:
            return self._draw(Painter(frame, fmt), frame_metas)
        rgb = np.ascontiguousarray(convert_color(frame, fmt, "RGB"))
        n = self._draw(Painter(rgb, "RGB"), frame_metas)
        if n:
            frame[...] = convert_color(rgb, "RGB", fmt)
        return n

    def _draw(self, p: Painter, frame_metas: list[FrameMeta]) -> int:
        n = 0
        texts: list[TextParams] = []
        for fm in frame_metas:
            for obj in fm.obj_meta_list:
                rp = obj.rect_params
                if self.display_mask and obj.mask_params.data is not None:
                    c = rp.border_color
                    p.mask(rp, obj.mask_params.data, obj.mask_params.threshold,
                           ColorParams(c.red, c.green, c.blue, MASK_ALPHA if c.alpha > 0 else 0.0))
                    n += 1
                if self.display_bbox and (rp.border_width > 0 or rp.has_bg_color):
                    p.rect(rp)
                    n += 1
                if self.display_text and obj.text_params.display_text:
                    texts.append(obj.text_params)
            for dm in fm.display_meta_list:
                for rp in dm.rect_params:
                    p.rect(rp)
                for lp in dm.line_params:
                    p.line(lp)
                for ap in dm.arrow_params:
                    p.arrow(ap)
                for cp in dm.circle_params:
                    p.circle(cp)
                n += dm.num_rects + dm.num_lines + dm.num_arrows + dm.num_circles
                if self.display_text:
                    texts.extend(dm.text_params)
        for tp in texts:  # labels last, so boxes of neighbours never cover them
            p.text(tp)
            n += 1
        if self.clock is not None:
            c = self.clock
            p.text(TextParams(time.strftime(c.display_text), c.x_offset, c.y_offset, c.font_params, c.set_bg_clr,
                              c.text_bg_clr))
            n += 1
        return n


_MODES = [(0, "CPU_MODE", "CPU mode"), (1, "GPU_MODE", "GPU mode"), (2, "HW_MODE", "HW mode (VIC)")]


@register
class NvDsOsd(Element):
    """Draws bounding boxes, labels, masks and display meta on the frames of each buffer (in place).

    Needs batch metadata (after ``nvstreammux``); without it only the clock is drawn. ``process-mode`` and
    ``gpu-id`` are accepted for compatibility: drawing runs on the CPU with OpenCV.
    """

    FACTORY = "nvdsosd"
    KLASS = "Filter/Video"
    DESCRIPTION = "Draws bounding boxes, text, masks and shapes from metadata on the frames"
    PAD_TEMPLATES = (PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw"),
                     PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-raw"))
    PROPERTIES = (
        Property.bool("display-text", True, "Whether to display text"),
        Property.bool("display-bbox", True, "Whether to display bounding boxes"),
        Property.bool("display-mask", True, "Whether to display instance masks"),
        Property.bool("display-clock", False, "Whether to display the clock"),
        Property.string("clock-font", "Serif", "Clock font name"),
        Property.uint("clock-font-size", 12, "Clock font size", 0, 60),
        Property.uint("x-clock-offset", 0, "Clock x offset"),
        Property.uint("y-clock-offset", 0, "Clock y offset"),
        Property.uint("clock-color", 0xFF0000FF, "Clock colour as 0xRRGGBBAA"),
        Property.string("clock-format", "%Y-%m-%d %H:%M:%S", "strftime format of the clock text"),
        Property.enum("process-mode", 1, "Rendering mode (accepted; drawing runs on the CPU)", _MODES),
        Property.uint("gpu-id", 0, "Set GPU device ID (accepted)"),
        Property.string("hw-blend-color-attr", "", "Blending colour attributes for HW mode (accepted)"),
    )

    def start(self) -> None:
        self._renderer = self._make_renderer()

    def property_changed(self, name: str, value) -> None:
        if hasattr(self, "_renderer"):
            self._renderer = self._make_renderer()

    def _make_renderer(self) -> OsdRenderer:
        pr = self._props
        clock = None
        if pr["display-clock"]:
            clock = TextParams(pr["clock-format"], pr["x-clock-offset"], pr["y-clock-offset"],
                               FontParams(pr["clock-font"], pr["clock-font-size"], color_from_uint(pr["clock-color"])))
        return OsdRenderer(pr["display-text"], pr["display-bbox"], pr["display-mask"], clock)

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        download_buffer(buffer)  # a GPU batch is drawn/converted on a host copy
        caps = buffer.caps
        if caps is not None and caps.media_type != "video/x-raw":
            raise ElementError(f"nvdsosd draws on raw video, got {caps.media_type}")
        frames = buffer.data
        if isinstance(frames, np.ndarray) and not frames.flags.writeable:
            frames = buffer.data = frames.copy()
        elif isinstance(frames, list):
            frames = buffer.data = [f if f.flags.writeable else f.copy() for f in frames]
        fmt = buffer_format(caps)
        if fmt not in PACKED_FORMATS and fmt not in ("NV12", "I420"):
            raise ElementError(f"cannot draw on {fmt} frames")
        renderer = getattr(self, "_renderer", None) or self._make_renderer()
        try:
            renderer.draw_batch(frames, fmt, buffer.batch_meta)
        except ValueError as e:
            raise ElementError(str(e)) from None
        return self.push(buffer)
