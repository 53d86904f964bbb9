"""Snapshots: ``jpegenc`` and ``pngenc`` turn raw frames into image buffers; ``multifilesink`` writes each buffer
to a numbered file (``location=snap_%05d.jpg``), encoding raw frames itself by the file extension."""

from __future__ import annotations

import os
import re
from collections import deque

import cv2
import numpy as np

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.caps import Caps
from vistream.core.element import Element, register
from vistream.core.errors import ElementError, PropertyError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.basesink import BaseSink
from vistream.elements.video import buffer_format, canonical_format, convert_color, download_buffer

_PATTERN = re.compile(r"%(?:%|[-+ 0#]*\d*(?:\.\d+)?[diuxXo])")
# cv2.imencode extensions (lower case) and their media types
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".bmp": "image/bmp",
               ".ppm": "image/x-portable-pixmap", ".pgm": "image/x-portable-graymap", ".webp": "image/webp",
               ".tif": "image/tiff", ".tiff": "image/tiff"}


def to_bgr(frame: np.ndarray, fmt: str) -> np.ndarray:
    """A frame in the channel order ``cv2.imencode`` expects (BGR, or GRAY8 as it is)."""
    fmt = canonical_format(fmt)
    if fmt == "GRAY8":
        return frame if frame.ndim == 2 else frame[:, :, 0]
    return convert_color(frame, fmt, "BGR")


def encode_image(frame: np.ndarray, fmt: str, ext: str, quality: int = 85, compression: int = 6) -> bytes:
    """Encode one raw frame (caps format ``fmt``) to the image type of extension ``ext`` (``.jpg``, ``.png``...)."""
    ext = ext.lower()
    if ext not in IMAGE_TYPES:
        raise ElementError(f"cannot encode images of type {ext!r} (supported: {', '.join(sorted(IMAGE_TYPES))})")
    params: list[int] = []
    if ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif ext == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, int(compression)]
    ok, data = cv2.imencode(ext, to_bgr(frame, fmt), params)
    if not ok:
        raise ElementError(f"encoding a {frame.shape} frame as {ext} failed")
    return data.tobytes()


def format_location(location: str, index: int) -> str:
    """``location`` with its printf pattern (``%05d``, ``%d``...) filled with ``index``."""
    try:
        return location % index if _PATTERN.search(location) else location
    except (TypeError, ValueError) as e:
        raise PropertyError(f'invalid pattern "{location}": {e} (expected one integer pattern such as %05d)',
                            None, "location") from None


def check_location(location: str, element: str) -> None:
    fields = [m for m in _PATTERN.findall(location) if m != "%%"]
    if len(fields) > 1:
        raise PropertyError(f'"{location}" has {len(fields)} patterns; use one integer pattern such as %05d',
                            element, "location")
    stripped = _PATTERN.sub("", location)
    if "%" in stripped:
        raise PropertyError(f'"{location}" has an unsupported % pattern; use an integer pattern such as %05d',
                            element, "location")


def _frame_buffers(buffer: Buffer, fmt: str):
    """``(frame, source_id, frame_num, pts)`` for each frame of a raw buffer, from the batch meta when present."""
    frames = buffer.data
    bm = buffer.batch_meta
    if bm is not None and bm.frame_meta_list:
        for fm in bm.frame_meta_list:
            yield frames[fm.batch_id], fm.source_id, fm.frame_num, fm.buf_pts if fm.buf_pts else buffer.pts, fm
    else:
        for i in range(len(frames)):
            yield frames[i], buffer.source_id, buffer.frame_num, buffer.pts, None


class _ImageEncoder(Element):
    """Base of jpegenc/pngenc: one output buffer (``bytes``) per input frame."""

    EXT = ".jpg"
    MEDIA = "image/jpeg"
    THREADED = True  # encoding is slow: run beside the upstream element

    def encode(self, frame: np.ndarray, fmt: str) -> bytes:
        raise NotImplementedError

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        download_buffer(buffer)  # a GPU batch is drawn/converted on a host copy
        caps = buffer.caps
        if caps is not None and caps.media_type != "video/x-raw":
            raise ElementError(f"{self.FACTORY} encodes raw video, got {caps.media_type}")
        fmt = buffer_format(caps)
        ret = FlowReturn.OK
        for frame, source_id, frame_num, pts, fm in _frame_buffers(buffer, fmt):
            data = self.encode(frame, fmt)
            h, w = frame.shape[:2]
            if canonical_format(fmt) in ("NV12", "I420"):
                h = h * 2 // 3
            fields = {"width": w, "height": h}
            if caps is not None and "framerate" in caps:
                fields["framerate"] = caps["framerate"]
            out = Buffer(data, pts=pts, duration=buffer.duration, caps=Caps(self.MEDIA, **fields),
                         source_id=source_id, frame_num=frame_num)
            out.extra.update(buffer.extra)
            if fm is not None:
                out.extra["frame_meta"] = fm  # the frame's metadata travels with its picture
            ret = self.push(out)
            if ret not in (FlowReturn.OK, FlowReturn.NOT_LINKED):
                return ret
        return ret


_SINK_RAW = PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw")


@register
class JpegEnc(_ImageEncoder):
    """Encodes each raw frame to a JPEG image (``image/jpeg`` buffer holding ``bytes``), e.g.
    ``... ! jpegenc quality=90 ! multifilesink location=snap_%05d.jpg``. A batch gives one image per frame."""

    FACTORY = "jpegenc"
    ALIASES = ("nvjpegenc", "nvimageenc")
    KLASS = "Codec/Encoder/Image"
    DESCRIPTION = "Encode images in JPEG format"
    PAD_TEMPLATES = (_SINK_RAW, PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "image/jpeg"))
    PROPERTIES = (
        Property.int("quality", 85, "Quality of encoding", 0, 100),
        Property.int("idct-method", 1, "The IDCT algorithm to use (accepted)", 0, 2),
        Property.uint("gpu-id", 0, "GPU device ID (accepted)"),
    )

    def encode(self, frame: np.ndarray, fmt: str) -> bytes:
        return encode_image(frame, fmt, ".jpg", quality=self._props["quality"])


@register
class PngEnc(_ImageEncoder):
    """Encodes each raw frame to a PNG image (``image/png``). ``snapshot=true`` ends the stream after the
    first image, as GStreamer's pngenc."""

    FACTORY = "pngenc"
    MEDIA = "image/png"
    KLASS = "Codec/Encoder/Image"
    DESCRIPTION = "Encode a video frame to a .png image"
    PAD_TEMPLATES = (_SINK_RAW, PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "image/png"))
    PROPERTIES = (
        Property.uint("compression-level", 6, "PNG compression level", 0, 9),
        Property.bool("snapshot", False, "Send EOS after encoding a frame, useful for snapshots"),
    )

    def encode(self, frame: np.ndarray, fmt: str) -> bytes:
        return encode_image(frame, fmt, ".png", compression=self._props["compression-level"])

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        download_buffer(buffer)  # a GPU batch is drawn/converted on a host copy
        ret = super().chain(pad, buffer)
        if self._props["snapshot"] and ret == FlowReturn.OK:
            self._send_eos_once()
            return FlowReturn.EOS
        return ret


def payload_bytes(data) -> bytes:
    """The bytes of an encoded buffer's payload (bytes, bytearray, memoryview, 1-D uint8 array, ``av.Packet``)."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 1:
        return data.tobytes()
    try:
        return bytes(data)  # av.Packet supports the buffer protocol
    except TypeError:
        raise ElementError(f"cannot write a {type(data).__name__} payload to a file") from None


@register
class MultiFileSink(BaseSink):
    """Writes each buffer to its own file: ``location`` with a printf pattern (``snap_%05d.jpg``) gets the
    running ``index``. Encoded buffers (``jpegenc``, ``pngenc``, bytes) are written as they are; raw video is
    encoded by the file extension (.jpg, .png, .bmp, .ppm, .webp, .tif), one file per frame of a batch.
    ``max-files`` keeps only the newest files (0 = all). ``post-messages`` posts a ``GstMultiFileSink`` element
    message (filename, index, timestamp) per file.
    """

    FACTORY = "multifilesink"
    KLASS = "Sink/File"
    DESCRIPTION = "Write buffers to a sequentially named set of files"
    PAD_TEMPLATES = (PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "ANY"),)
    PROPERTIES = (
        Property.string("location", "%05d", "Location of the file to write"),
        Property.int("index", 0, "Index to use with location property to create file names", 0),
        Property.uint("max-files", 0, "Maximum number of files to keep on disk (0 = no limit)"),
        Property.bool("post-messages", False, "Post a message for each file with information of the buffer"),
        Property.int("quality", 85, "JPEG quality when raw frames are encoded here", 0, 100),
    )

    def __init__(self, name=None, _factory=None, **props):
        super().__init__(name, _factory, **props)
        self._written: deque[str] = deque()
        self.files: deque[str] = deque(maxlen=10000)  # the newest names written (bounded for long runs)
        self.files_written = 0

    def property_changed(self, name: str, value) -> None:
        if name == "location" and value is not None:
            check_location(value, self.name)

    def start(self) -> None:
        loc = self._props["location"]
        if not loc:
            raise ElementError("no location set: set location=name_%05d.jpg", self.name)
        check_location(loc, self.name)
        folder = os.path.dirname(format_location(loc, 0)) or "."
        if not os.path.isdir(folder):
            raise ElementError(f'cannot write "{loc}": folder "{folder}" does not exist', self.name)
        self._written.clear()
        self.files.clear()
        self.files_written = 0

    def render(self, buffer: Buffer) -> FlowReturn | None:
        caps = buffer.caps
        if caps is not None and caps.media_type == "video/x-raw" or isinstance(buffer.data, np.ndarray) and buffer.data.ndim >= 3:
            fmt = buffer_format(caps)
            ext = os.path.splitext(self._props["location"])[1].lower()
            if ext not in IMAGE_TYPES:
                raise ElementError(f'raw video needs an image file extension in location "{self._props["location"]}" '
                                   f"({', '.join(sorted(IMAGE_TYPES))}), or an encoder such as jpegenc before the sink")
            for frame, _src, _num, pts, _fm in _frame_buffers(buffer, fmt):
                self._write(encode_image(frame, fmt, ext, quality=self._props["quality"]), pts)
        else:
            self._write(payload_bytes(buffer.data), buffer.pts)
        return FlowReturn.OK

    def _write(self, data: bytes, pts: int) -> None:
        index = self._props["index"]
        path = format_location(self._props["location"], index)
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as e:
            raise ElementError(f'could not write "{path}": {e.strerror}') from None
        self._props["index"] = index + 1
        self.files.append(path)
        self.files_written += 1
        limit = self._props["max-files"]
        if limit and (not self._written or self._written[-1] != path):  # no pattern: the same file again
            self._written.append(path)
            while len(self._written) > limit:
                old = self._written.popleft()
                try:
                    os.remove(old)
                except OSError:
                    pass  # already gone: nothing to keep within the limit
        if self._props["post-messages"]:
            self.post_element_message("GstMultiFileSink", filename=path, index=index, timestamp=pts)
