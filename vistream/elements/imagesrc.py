"""Image sequences: ``multifilesrc``/``imagefilesrc`` read JPEG/PNG files (``img_%04d.jpg`` or one file) into
raw RGB video; ``pngdec`` (``nvimagedec``) decodes still-image buffers (and passes raw video through)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from fractions import Fraction

import cv2
import numpy as np

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.caps import Caps
from vistream.core.element import Element, SourceElement, register
from vistream.core.errors import ElementError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.snapshot import _PATTERN, check_location, format_location, payload_bytes
from vistream.elements.video import check_format, convert_color, frame_size

DEFAULT_FRAMERATE = Fraction(30, 1)


def decode_image(data: bytes, what: str, fmt: str = "RGB") -> np.ndarray:
    """Decode JPEG/PNG/BMP... bytes to an ``H x W x C`` frame in ``fmt`` (RGB by default)."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if img is None:
        raise ElementError(f"{what}: not a decodable image ({len(data)} bytes)")
    if img.dtype != np.uint8:  # 16-bit PNG: keep the top 8 bits
        img = (img >> 8).astype(np.uint8) if img.dtype == np.uint16 else img.astype(np.uint8)
    if img.ndim == 2:
        src = "GRAY8"
    elif img.shape[2] == 4:
        src = "BGRA"
    else:
        src = "BGR"
    return np.ascontiguousarray(convert_color(img, src, fmt))


@register
class MultiFileSrc(SourceElement):
    """Reads a numbered image sequence (``location=img_%04d.jpg`` from ``start-index`` to ``stop-index``) or a
    single image file, decoding each to an RGB raw video frame (format from a downstream caps filter, RGB by
    default) with pts from the frame rate (``framerate`` property, or the ``caps`` property / a downstream caps
    filter's framerate, else 30/1). The sequence ends at the first missing file (or ``stop-index``); ``loop``
    starts it again. A missing first file is an error naming the location.
    """

    FACTORY = "multifilesrc"
    ALIASES = ("imagefilesrc",)
    KLASS = "Source/File"
    DESCRIPTION = "Read a sequentially named set of image files as raw video"
    PAD_TEMPLATES = (PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-raw"),)
    PROPERTIES = (
        Property.string("location", None, "Pattern (img_%04d.jpg) or name of the image file(s) to read"),
        Property.int("index", 0, "Index to use with location property to create file names", 0),
        Property.int("start-index", 0, "Start value of index (-1 = index)", -1),
        Property.int("stop-index", -1, "Stop value of index; -1 = up to the last file", -1),
        Property.bool("loop", False, "Whether to repeat from the beginning when the sequence ends"),
        Property.caps("caps", "Caps describing the files (its framerate sets the pts)"),
        Property.fraction("framerate", Fraction(0, 1), "Frame rate of the sequence (0/1 = from caps, else 30/1)"),
        Property.int("num-buffers", -1, "Number of buffers to output before sending EOS (-1 = unlimited)", -1),
        Property.bool("is-live", False, "Pace the output at the frame rate"),
    )

    def property_changed(self, name: str, value) -> None:
        if name == "location" and value:
            check_location(value, self.name)

    def start(self) -> None:
        loc = self._props["location"]
        if not loc:
            raise ElementError("no location set: set location=img_%04d.jpg (or one image file)", self.name)

    def _framerate(self, want: Caps | None) -> Fraction:
        fr = self._props["framerate"]
        if fr and fr > 0:
            return Fraction(fr)
        for caps in (self._props["caps"], want):
            if caps is not None and isinstance(caps.get("framerate"), (Fraction, int)) and caps.get("framerate") > 0:
                return Fraction(caps.get("framerate"))
        return DEFAULT_FRAMERATE

    def paths(self) -> Iterator[str]:
        """The file names of one pass over the sequence (the first file may be missing: checked by the caller)."""
        loc = self._props["location"]
        if not _PATTERN.search(loc.replace("%%", "")):
            yield loc
            return
        start = self._props["start-index"]
        i = self._props["index"] if start < 0 else start
        stop = self._props["stop-index"]
        while stop < 0 or i <= stop:
            yield format_location(loc, i)
            i += 1

    def _missing_first(self, path: str) -> ElementError:
        loc = self._props["location"]
        hint = ""
        if _PATTERN.search(loc.replace("%%", "")):
            start = max(0, self._props["start-index"])
            for k in range(start + 1, start + 3):
                if os.path.exists(format_location(loc, k)):
                    hint = f" (but {format_location(loc, k)} exists: set start-index={k})"
                    break
        return ElementError(f'could not open "{path}" (location "{loc}"): no such file{hint}')

    def produce(self) -> Iterator[Buffer]:
        want = self.downstream_caps()
        fps = self._framerate(want)
        duration = int(round(1e9 / fps))
        fmt = check_format(str(want.get("format", "RGB")) if want is not None and not want.is_any else "RGB", self.name)
        features = want.features if want is not None and not want.is_any else ()
        limit, n = self._props["num-buffers"], 0
        t0 = time.monotonic()
        caps: Caps | None = None
        while True:
            produced = 0
            for path in self.paths():
                if 0 <= limit <= n:
                    return
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except FileNotFoundError:
                    if produced == 0 and n == 0:
                        raise self._missing_first(path) from None
                    break
                except OSError as e:
                    raise ElementError(f'could not read "{path}": {e.strerror}') from None
                frame = decode_image(data, f'"{path}"', fmt)
                w, h = frame_size(frame, fmt)
                if caps is None or caps.get("width") != w or caps.get("height") != h:
                    caps = Caps("video/x-raw", features, format=fmt, width=w, height=h, framerate=fps)
                if self._props["is-live"]:
                    delay = t0 + n * duration / 1e9 - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                buf = Buffer(frame[None], pts=n * duration, duration=duration, caps=caps, frame_num=n)
                buf.extra["location"] = path
                yield buf
                n += 1
                produced += 1
            if not self._props["loop"] or produced == 0:
                return


@register
class ImageDec(Element):
    """Decodes still-image buffers (PNG, JPEG, BMP... as written by ``pngenc``/``jpegenc`` or read by
    ``filesrc``) to raw RGB video (format from a downstream caps filter); raw video passes through, so
    ``multifilesrc ! pngdec`` launch lines written for GStreamer work unchanged."""

    FACTORY = "pngdec"
    ALIASES = ("nvimagedec", "imagedec", "jpegdec", "nvjpegdec")
    KLASS = "Codec/Decoder/Image"
    DESCRIPTION = "Decode still images (PNG, JPEG, BMP, ...) to raw video"
    PAD_TEMPLATES = (PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "image/png;image/jpeg;video/x-raw"),
                     PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-raw"))
    PROPERTIES = (Property.uint("gpu-id", 0, "GPU device ID (accepted)"),)

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        caps = buffer.caps
        if caps is not None and caps.media_type == "video/x-raw":
            return self.push(buffer)  # already decoded (multifilesrc decodes itself)
        want = self.downstream_caps()
        fmt = check_format(str(want.get("format", "RGB")) if want is not None and not want.is_any else "RGB", self.name)
        frame = decode_image(payload_bytes(buffer.data), f"buffer {buffer.frame_num}", fmt)
        w, h = frame_size(frame, fmt)
        fields = {"format": fmt, "width": w, "height": h}
        if caps is not None and "framerate" in caps:
            fields["framerate"] = caps["framerate"]
        out = Buffer(frame[None], pts=buffer.pts, duration=buffer.duration, caps=Caps("video/x-raw", **fields),
                     source_id=buffer.source_id, frame_num=buffer.frame_num)
        out.extra.update(buffer.extra)
        return self.push(out)
