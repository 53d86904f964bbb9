"""Demuxers and parsers: qtdemux, matroskademux, h264parse, h265parse and friends (FFmpeg through PyAV).

They read the file handed over by ``filesrc`` and push encoded packets; parsers pass packets through and
read elementary streams (``filesrc location=x.h264 ! h264parse``) themselves.
"""

from __future__ import annotations

from fractions import Fraction

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.element import Element, register
from vistream.core.errors import ElementError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.media import (
    ENCODED_CAPS,
    LOCATION_CAPS,
    FileRef,
    file_packets,
)


class _Demuxer(Element):
    """Opens the container named by an upstream :class:`FileRef` and pushes its video packets."""

    KLASS = "Codec/Demuxer"
    FORMAT: str | None = None  # FFmpeg demuxer name; None lets FFmpeg probe
    PAD_TEMPLATES = (
        PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, f"{LOCATION_CAPS};{ENCODED_CAPS}"),
        PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, ENCODED_CAPS),
    )

    def _activate(self) -> None:
        super()._activate()
        self._eos_requested = False

    def send_eos(self) -> None:
        """Stop reading and let EOS through (``gst-launch -e``)."""
        self._eos_requested = True

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        if not isinstance(buffer.data, FileRef):
            return self.push(buffer)  # already demuxed packets: pass through
        packets = file_packets(buffer.data.path, self, self.FORMAT, self.default_framerate(), self.stream_opened)
        for out in packets:
            ret = self.push(out)
            if ret != FlowReturn.OK:
                packets.close()
                return ret
        return FlowReturn.OK

    def stream_opened(self, stream) -> None:
        """Hook: check the stream before packets flow."""

    def default_framerate(self):
        return None


@register
class QtDemux(_Demuxer):
    """Demuxes MP4/QuickTime files."""

    FACTORY = "qtdemux"
    DESCRIPTION = "Demultiplex a QuickTime file into audio and video streams"


@register
class MatroskaDemux(_Demuxer):
    """Demuxes Matroska/WebM files."""

    FACTORY = "matroskademux"
    DESCRIPTION = "Demuxes Matroska/WebM streams into video/audio/subtitles"
    FORMAT = "matroska"


@register
class AnyDemux(_Demuxer):
    """Demuxes any container FFmpeg can probe (AVI, MPEG-TS, FLV, ...)."""

    FACTORY = "avidemux"
    ALIASES = ("tsdemux", "flvdemux", "parsebin")
    DESCRIPTION = "Demultiplex a container into its video stream (format probed by FFmpeg)"


class _Parser(_Demuxer):
    """Passes demuxed packets through; given a file directly, reads it as an elementary stream."""

    KLASS = "Codec/Parser/Converter/Video"
    CODEC = ""
    PROPERTIES = (
        Property.int("config-interval", 0, "Send SPS/PPS with every IDR frame (accepted)", -1, 3600),
        Property.fraction("framerate", Fraction(0, 1),
                          "Frame rate of an elementary stream without timing (0/1 = as probed, else 25/1)"),
    )

    def stream_opened(self, stream) -> None:
        if stream.codec_context.name != self.CODEC:
            raise ElementError(f'expected a {self.CODEC} stream but the file holds {stream.codec_context.name}',
                               self.name)

    def default_framerate(self):
        fr = self._props["framerate"]
        return fr if fr else None

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        if isinstance(buffer.data, FileRef):
            return super().chain(pad, buffer)
        caps = buffer.caps
        if caps is not None and caps.get("codec-name") not in (None, self.CODEC):
            raise ElementError(f'cannot parse {caps.media_type}: this parser takes {self.CODEC}', self.name)
        return self.push(buffer)


def _parser(factory: str, codec: str, fmt: str, desc: str, aliases: tuple[str, ...] = ()) -> type[_Parser]:
    media = {"h264": "video/x-h264", "hevc": "video/x-h265", "mpeg4": "video/mpeg", "mjpeg": "image/jpeg",
             "vp9": "video/x-vp9"}[codec]
    cls = type(factory.title().replace("parse", "Parse"), (_Parser,), {
        "FACTORY": factory, "ALIASES": aliases, "CODEC": codec, "FORMAT": fmt, "DESCRIPTION": desc,
        "__doc__": f"{desc}. Passes demuxed packets through; reads elementary .{fmt} files itself.",
        "PAD_TEMPLATES": (PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, f"{LOCATION_CAPS};{media}"),
                          PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, media)),
    })
    return register(cls)


H264Parse = _parser("h264parse", "h264", "h264", "Parses H.264 streams")
H265Parse = _parser("h265parse", "hevc", "hevc", "Parses H.265 streams")
Mpeg4VideoParse = _parser("mpeg4videoparse", "mpeg4", "m4v", "Parses MPEG-4 Part 2 elementary video streams")
JpegParse = _parser("jpegparse", "mjpeg", "mjpeg", "Parses JPEG images / MJPEG streams")
Vp9Parse = _parser("vp9parse", "vp9", "ivf", "Parses VP9 streams")

