"""Shared media helpers: file references, opening containers with PyAV, caps of encoded streams."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from urllib.parse import unquote, urlparse

import av

from vistream.core.buffer import CLOCK_TIME_NONE, FLAG_DELTA_UNIT, Buffer
from vistream.core.caps import Caps
from vistream.core.errors import ElementError

LOCATION_CAPS = "application/x-vistream-location"

# FFmpeg codec name -> caps media type
CODEC_MEDIA = {
    "h264": "video/x-h264", "hevc": "video/x-h265", "mpeg4": "video/mpeg", "mjpeg": "image/jpeg",
    "vp9": "video/x-vp9", "vp8": "video/x-vp8", "av1": "video/x-av1", "mpeg2video": "video/mpeg",
}
MEDIA_CODEC = {"video/x-h264": "h264", "video/x-h265": "hevc", "image/jpeg": "mjpeg", "video/x-vp9": "vp9",
               "video/x-vp8": "vp8", "video/x-av1": "av1"}
ENCODED_CAPS = ";".join(sorted(set(CODEC_MEDIA.values())))


@dataclass(frozen=True)
class FileRef:
    """What ``filesrc`` hands downstream: the file to read (demuxers open it with FFmpeg)."""

    path: str
    format: str | None = None


def uri_to_location(uri: str) -> tuple[str, bool]:
    """``(location, is_local_file)`` for a URI or a plain path; ``file://`` URIs become paths."""
    if "://" not in uri:
        return uri, True
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.netloc + parsed.path), True
    return uri, False


def check_readable(path: str, element: str) -> None:
    if not os.path.exists(path):
        raise ElementError(f'Resource not found: could not open file "{path}" for reading', element,
                           "no such file or directory")
    if os.path.isdir(path):
        raise ElementError(f'"{path}" is a directory', element)
    if not os.access(path, os.R_OK):
        raise ElementError(f'Could not open file "{path}" for reading: permission denied', element)


def open_video(location: str, element: str, fmt: str | None = None, options: dict[str, str] | None = None,
               timeout: float | None = None):
    """Open a container and return ``(container, video_stream)``, with a clear error naming the file."""
    try:
        container = av.open(location, format=fmt, options=options or {}, timeout=timeout)
    except av.error.FileNotFoundError:
        raise ElementError(f'Resource not found: could not open "{location}"', element) from None
    except av.error.InvalidDataError as e:
        raise ElementError(f'could not demux "{location}": invalid data, the file is corrupt, truncated or not a '
                           f'video container', element, str(e)) from None
    except (av.error.FFmpegError, OSError) as e:
        raise ElementError(f'could not open "{location}": {e}', element) from None
    if not container.streams.video:
        container.close()
        raise ElementError(f'no video stream in "{location}"', element)
    stream = container.streams.video[0]
    if stream.codec_context.name not in CODEC_MEDIA and stream.codec_context.name not in ("rawvideo",):
        name = stream.codec_context.name
        container.close()
        raise ElementError(f'unsupported codec "{name}" in "{location}" (supported: {", ".join(CODEC_MEDIA)})', element)
    return container, stream


def stream_rate(stream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return Fraction(rate) if rate else Fraction(0, 1)


def encoded_caps(stream, default_rate: Fraction | None = None) -> Caps:
    """Caps of an encoded video stream, carrying the codec's extradata and the stream as a muxing template."""
    cc = stream.codec_context
    media = CODEC_MEDIA.get(cc.name, f"video/x-{cc.name}")
    extradata = bytes(cc.extradata) if cc.extradata else b""
    caps = Caps(media, width=cc.width, height=cc.height)
    rate = stream_rate(stream) or default_rate
    if rate:
        caps.fields["framerate"] = rate
    if media == "video/mpeg":
        caps.fields["mpegversion"] = 4 if cc.name == "mpeg4" else 2
    if cc.name in ("h264", "hevc"):
        caps.fields["stream-format"] = "avc" if extradata[:1] == b"\x01" else "byte-stream"
        caps.fields["alignment"] = "au"
    caps.fields["codec-name"] = cc.name
    if extradata:
        caps.fields["codec_data"] = extradata
    caps.fields["_stream"] = stream
    return caps


def file_packets(path: str, element: Any, fmt: str | None = None, default_rate: Fraction | None = None,
                 check=None):
    """Open ``path`` and yield its video packets as encoded buffers, closing the file at the end (or when the
    consumer stops early). ``check(stream)`` may reject the stream before any packet flows."""
    container, stream = open_video(path, element.name, fmt)
    try:
        if check is not None:
            check(stream)
        yield from packet_buffers(container, stream, encoded_caps(stream, default_rate), element)
    finally:
        container.close()


def ticks_to_ns(ticks: int, time_base: Fraction) -> int:
    """``ticks`` of ``time_base`` in nanoseconds, truncated toward zero like ``int(ticks * time_base * 1e9)``
    but in integers: no Fraction arithmetic per packet or frame."""
    n = ticks * time_base.numerator * 1_000_000_000
    return n // time_base.denominator if n >= 0 else -(-n // time_base.denominator)


def packet_buffers(container, stream, caps: Caps, element: Any):
    """Yield encoded buffers for each packet of ``stream`` (timestamps in ns; missing pts left unset)."""
    tb = stream.time_base
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            pts = ticks_to_ns(packet.pts, tb) if packet.pts is not None else CLOCK_TIME_NONE
            dts = ticks_to_ns(packet.dts, tb) if packet.dts is not None else CLOCK_TIME_NONE
            dur = ticks_to_ns(packet.duration, tb) if packet.duration else CLOCK_TIME_NONE
            yield Buffer(packet, pts=pts, dts=dts, duration=dur, caps=caps,
                         flags=0 if packet.is_keyframe else FLAG_DELTA_UNIT)
            if element._eos_requested or element._stopping:
                return
    except av.error.InvalidDataError as e:
        raise ElementError(f'corrupt data in "{container.name}": {e}', element.name) from None
    except av.error.FFmpegError as e:
        raise ElementError(f'error reading "{container.name}": {e}', element.name) from None
