"""Container muxers: mp4mux / qtmux / matroskamux (FFmpeg through PyAV). No re-encoding."""

from __future__ import annotations

import io
from fractions import Fraction

import av

from vistream.core.buffer import CLOCK_TIME_NONE, Buffer, FlowReturn
from vistream.core.caps import Caps
from vistream.core.element import Element, register
from vistream.core.errors import ElementError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.filesrc import FileMuxOutput
from vistream.elements.media import ENCODED_CAPS, MEDIA_CODEC

_NS = Fraction(1, 1_000_000_000)


class _Muxer(Element):
    """Writes encoded packets into a container. When a ``filesink`` follows, the muxer writes its file
    directly (MP4 needs to seek back to finish its index); otherwise the finished file is pushed as one
    bytes buffer at EOS."""

    KLASS = "Codec/Muxer"
    FORMAT = "mp4"
    OUT_CAPS = "video/quicktime"
    PROPERTIES = (
        Property.bool("faststart", False, "Put the index at the start of the file (for streaming playback)"),
        Property.uint("fragment-duration", 0, "Fragment durations in ms (accepted)"),
        Property.bool("streamable", False, "Write a streamable file (accepted)"),
    )

    def _activate(self) -> None:
        super()._activate()
        self._out = None
        self._stream = None
        self._bytes: io.BytesIO | None = None
        self._target: str | None = None
        self._t0: int | None = None
        self.packets = 0

    def _downstream_filesink(self) -> Element | None:
        pad = self.srcpad
        for _ in range(16):
            if pad.peer is None:
                return None
            el = pad.peer.parent
            if el.FACTORY == "filesink":
                return el
            if not el.TRANSPARENT or not el.src_pads:
                return None
            pad = el.src_pads[0]
        return None

    def _open(self, caps: Caps) -> None:
        sink = self._downstream_filesink()
        options = {"movflags": "+faststart"} if self._props.get("faststart") else {}
        try:
            if sink is not None:
                self._target = sink.get_property("location")
                self._out = av.open(self._target, "w", format=self.FORMAT, options=options)
            else:
                self._bytes = io.BytesIO()
                self._out = av.open(self._bytes, "w", format=self.FORMAT, options=options)
        except (av.error.FFmpegError, OSError) as e:
            raise ElementError(f"could not open output for writing: {e}", self.name) from None
        template = caps.get("_stream")
        codec = caps.get("codec-name") or MEDIA_CODEC.get(caps.media_type)
        if template is not None and caps.get("codec_data"):
            self._stream = self._out.add_stream_from_template(template)
        else:
            if codec is None:
                raise ElementError(f"cannot mux {caps.media_type}", self.name)
            rate = caps.get("framerate")
            self._stream = self._out.add_mux_stream(codec, rate=Fraction(rate) if rate else None,
                                                    width=caps.get("width"), height=caps.get("height"))
        self._stream.time_base = Fraction(1, 90000)

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        packet = buffer.data
        if not isinstance(packet, av.Packet):
            raise ElementError(f"{self.FACTORY} takes encoded video (put an encoder before it), got {buffer.caps}",
                               self.name)
        if self._out is None:
            self._open(buffer.caps or Caps("video/x-h264"))
        # Re-stamp in the output time base; timestamps start at zero like GStreamer's muxers do.
        # Decode timestamps may be negative (B-frame delay); only CLOCK_TIME_NONE means "unset".
        pts = buffer.pts
        dts = buffer.dts if buffer.dts != CLOCK_TIME_NONE else pts
        if self._t0 is None:
            known = [v for v in (pts, dts) if v != CLOCK_TIME_NONE]
            self._t0 = min(known) if known else 0
        tb = self._stream.time_base
        packet.stream = self._stream
        packet.time_base = tb
        if pts != CLOCK_TIME_NONE:
            packet.pts = int(round((pts - self._t0) * _NS / tb))
        if dts != CLOCK_TIME_NONE:
            packet.dts = int(round((dts - self._t0) * _NS / tb))
        if buffer.duration > 0:
            packet.duration = int(round(buffer.duration * _NS / tb))
        try:
            self._out.mux(packet)
        except av.error.FFmpegError as e:
            raise ElementError(f"could not write packet: {e}", self.name) from None
        self.packets += 1
        return FlowReturn.OK

    def on_eos(self, pad: Pad) -> None:
        self._finish()
        if self._target is not None:
            self.push(Buffer(FileMuxOutput(self._target), caps=Caps(self.OUT_CAPS)))
        elif self._bytes is not None:
            self.push(Buffer(self._bytes.getvalue(), caps=Caps(self.OUT_CAPS)))

    def _finish(self) -> None:
        if self._out is not None:
            try:
                self._out.close()
            finally:
                self._out = None

    def stop(self) -> None:
        # Without EOS the file is not finalised, as in GStreamer; close handles quietly.
        if self._out is not None:
            try:
                self._out.close()
            except av.error.FFmpegError:
                pass
            self._out = None


def _muxer(factory: str, fmt: str, out_caps: str, desc: str, aliases: tuple[str, ...] = ()) -> type[_Muxer]:
    cls = type(factory.title(), (_Muxer,), {
        "FACTORY": factory, "ALIASES": aliases, "FORMAT": fmt, "OUT_CAPS": out_caps, "DESCRIPTION": desc,
        "__doc__": f"{desc}. " + (_Muxer.__doc__ or ""),
        "PAD_TEMPLATES": (
            PadTemplate("video_%u", PadDirection.SINK, PadPresence.REQUEST, ENCODED_CAPS),
            PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, out_caps),
        ),
    })
    return register(cls)


Mp4Mux = _muxer("mp4mux", "mp4", "video/quicktime", "Muxes into an MP4 file", ("qtmux", "isomp4mux"))
MatroskaMux = _muxer("matroskamux", "matroska", "video/x-matroska", "Muxes into a Matroska (MKV) file",
                     ("webmmux",))
MpegTsMux = _muxer("mpegtsmux", "mpegts", "video/mpegts", "Muxes into an MPEG transport stream")
FlvMux = _muxer("flvmux", "flv", "video/x-flv", "Muxes into an FLV file")
AviMux = _muxer("avimux", "avi", "video/x-msvideo", "Muxes into an AVI file")
