"""On-screen-display parameter types, named as in DeepStream's ``NvOSD_*`` structures (pyds field names)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(slots=True)
class ColorParams:
    """RGBA colour with components in 0..1 (``NvOSD_ColorParams``)."""

    red: float = 0.0
    green: float = 0.0
    blue: float = 0.0
    alpha: float = 0.0

    def set(self, red: float, green: float, blue: float, alpha: float) -> None:
        self.red, self.green, self.blue, self.alpha = float(red), float(green), float(blue), float(alpha)

    def rgba255(self) -> tuple[int, int, int, int]:
        """The colour as 0..255 integers (R, G, B, A)."""
        return tuple(int(round(max(0.0, min(1.0, c)) * 255)) for c in (self.red, self.green, self.blue, self.alpha))  # type: ignore[return-value]

    def copy(self) -> ColorParams:
        return ColorParams(self.red, self.green, self.blue, self.alpha)


@dataclass(slots=True)
class FontParams:
    """Font of a text label (``NvOSD_FontParams``)."""

    font_name: str = "Serif"
    font_size: int = 12
    font_color: ColorParams = field(default_factory=lambda: ColorParams(1.0, 1.0, 1.0, 1.0))


@dataclass(slots=True)
class RectParams:
    """A rectangle in frame pixels (``NvOSD_RectParams``)."""

    left: float = 0.0
    top: float = 0.0
    width: float = 0.0
    height: float = 0.0
    border_width: int = 3
    border_color: ColorParams = field(default_factory=lambda: ColorParams(1.0, 0.0, 0.0, 1.0))
    has_bg_color: int = 0
    bg_color: ColorParams = field(default_factory=ColorParams)
    has_color_info: int = 0
    color_id: int = 0

    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.left, self.top, self.left + self.width, self.top + self.height)


@dataclass(slots=True)
class TextParams:
    """A text label (``NvOSD_TextParams``)."""

    display_text: str = ""
    x_offset: int = 0
    y_offset: int = 0
    font_params: FontParams = field(default_factory=FontParams)
    set_bg_clr: int = 0
    text_bg_clr: ColorParams = field(default_factory=lambda: ColorParams(0.0, 0.0, 0.0, 1.0))


@dataclass(slots=True)
class LineParams:
    """A line segment (``NvOSD_LineParams``)."""

    x1: int = 0
    y1: int = 0
    x2: int = 0
    y2: int = 0
    line_width: int = 2
    line_color: ColorParams = field(default_factory=lambda: ColorParams(0.0, 1.0, 0.0, 1.0))


ARROW_START_HEAD, ARROW_END_HEAD, ARROW_BOTH_HEAD = 0, 1, 2


@dataclass(slots=True)
class ArrowParams:
    """An arrow (``NvOSD_ArrowParams``); ``arrow_head`` is 0 start, 1 end, 2 both."""

    x1: int = 0
    y1: int = 0
    x2: int = 0
    y2: int = 0
    arrow_width: int = 2
    arrow_head: int = ARROW_END_HEAD
    arrow_color: ColorParams = field(default_factory=lambda: ColorParams(0.0, 1.0, 0.0, 1.0))


@dataclass(slots=True)
class CircleParams:
    """A circle (``NvOSD_CircleParams``)."""

    xc: int = 0
    yc: int = 0
    radius: int = 0
    circle_color: ColorParams = field(default_factory=lambda: ColorParams(0.0, 1.0, 0.0, 1.0))
    has_bg_color: int = 0
    bg_color: ColorParams = field(default_factory=ColorParams)


@dataclass(slots=True)
class MaskParams:
    """An instance mask inside an object's box (``NvOSD_MaskParams``): float mask ``height x width``."""

    data: np.ndarray | None = None
    threshold: float = 0.5
    width: int = 0
    height: int = 0

    @property
    def size(self) -> int:
        return 0 if self.data is None else int(self.data.nbytes)

    def get_mask_array(self) -> np.ndarray:
        if self.data is None:
            return np.zeros((0,), np.float32)
        return self.data.reshape(-1)
