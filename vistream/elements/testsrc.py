"""videotestsrc: synthetic test patterns (SMPTE bars, solid colours, snow, a moving ball)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from fractions import Fraction

import cv2
import numpy as np

from vistream.core.buffer import Buffer
from vistream.core.caps import Caps
from vistream.core.element import SourceElement, register
from vistream.core.pad import PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.video import convert_color

_PATTERNS = [
    (0, "smpte", "SMPTE 100% color bars"), (1, "snow", "Random (television snow)"), (2, "black", "100% Black"),
    (3, "white", "100% White"), (4, "red", "Red"), (5, "green", "Green"), (6, "blue", "Blue"),
    (7, "checkers-1", "Checkers 1px"), (18, "ball", "Moving ball"),
]
_SOLID = {2: (0, 0, 0), 3: (255, 255, 255), 4: (255, 0, 0), 5: (0, 255, 0), 6: (0, 0, 255)}
_BARS = [(192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0), (192, 0, 192), (192, 0, 0), (0, 0, 192)]


@register
class VideoTestSrc(SourceElement):
    """Generates test video. Size, rate and format come from a caps filter downstream
    (default 320x240, 30/1, RGB)."""

    FACTORY = "videotestsrc"
    KLASS = "Source/Video"
    DESCRIPTION = "Creates a test video stream"
    PAD_TEMPLATES = (PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-raw"),)
    PROPERTIES = (
        Property.int("num-buffers", -1, "Number of buffers to output before sending EOS (-1 = unlimited)", -1),
        Property.enum("pattern", 0, "Type of test pattern to generate", _PATTERNS),
        Property.bool("is-live", False, "Whether to act as a live source (paced by the clock)"),
        Property.uint("foreground-color", 0xFFFFFFFF, "Foreground color to use (big-endian ARGB)"),
    )

    def produce(self) -> Iterator[Buffer]:
        want = self.downstream_caps() or Caps("video/x-raw")
        w, h = int(want.get("width", 320)), int(want.get("height", 240))
        fps = want.get("framerate", Fraction(30, 1))
        fps = Fraction(fps) if fps else Fraction(30, 1)
        fmt = want.get("format", "RGB")
        caps = Caps("video/x-raw", want.features, format=fmt, width=w, height=h, framerate=fps)
        duration = int(1e9 / fps) if fps > 0 else 0
        pattern = self._props["pattern"]
        rng = np.random.default_rng(0)
        base = self._base_frame(pattern, w, h)
        n, i = self._props["num-buffers"], 0
        t0 = time.monotonic()
        while n < 0 or i < n:
            if pattern == 1:
                rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            elif pattern == 18:
                rgb = np.zeros((h, w, 3), np.uint8)
                r = max(2, min(w, h) // 10)
                cx = int((w - 2 * r) * (0.5 + 0.5 * np.sin(i / 15.0))) + r
                cy = int((h - 2 * r) * (0.5 + 0.5 * np.cos(i / 23.0))) + r
                cv2.circle(rgb, (cx, cy), r, (255, 255, 255), -1)
            else:
                rgb = base.copy()
            if self._props["is-live"] and duration:
                delay = t0 + i * duration / 1e9 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            frame = convert_color(rgb, "RGB", fmt)
            yield Buffer(frame[None], pts=i * duration, duration=duration, caps=caps, frame_num=i)
            i += 1

    @staticmethod
    def _base_frame(pattern: int, w: int, h: int) -> np.ndarray:
        if pattern in _SOLID:
            return np.full((h, w, 3), _SOLID[pattern], np.uint8)
        if pattern == 7:
            yy, xx = np.indices((h, w))
            return (((xx + yy) % 2) * 255).astype(np.uint8)[..., None].repeat(3, axis=2)
        frame = np.zeros((h, w, 3), np.uint8)
        edges = np.linspace(0, w, len(_BARS) + 1).astype(int)
        for k, color in enumerate(_BARS):
            frame[: h * 2 // 3, edges[k]:edges[k + 1]] = color
        frame[h * 2 // 3:, :] = (16, 16, 16)
        return frame
