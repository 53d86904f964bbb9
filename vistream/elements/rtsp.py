"""RTSP output: ``nvrtspoutsinkbin`` (deepstream-app sink type 4) serves the stream at rtsp://host:port/ds-test."""

from __future__ import annotations

import numpy as np

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.element import register
from vistream.core.errors import ElementError, VistreamError
from vistream.core.pad import PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.basesink import BaseSink
from vistream.elements.video import buffer_format, convert_color
from vistream.live.encoder import LiveEncoder
from vistream.live.rtsp_server import RtspServer

_PIX = {"RGB": "rgb24", "BGR": "bgr24", "RGBA": "rgba", "BGRA": "bgra", "RGBx": "rgba", "BGRx": "bgra"}


@register
class NvRtspOutSinkBin(BaseSink):
    """Encodes raw frames (H.264 or H.265) and serves them over RTSP to any number of clients.

    The server is GStreamer's ``gst-rtsp-server`` in a helper process (see :mod:`vistream.live.rtsp_server`);
    it listens as soon as the pipeline starts, so a taken port fails the state change naming this element.
    Each buffer should hold one frame (put ``nvmultistreamtiler`` or ``nvstreamdemux`` before it); a batch of
    several frames is encoded frame by frame. ``udp-port`` is accepted for config compatibility: frames reach the
    server through a pipe, not through UDP.

    Example::

        ... ! nvmultistreamtiler ! nvdsosd ! nvrtspoutsinkbin rtsp-port=8554 bitrate=2000000
        # ffplay rtsp://127.0.0.1:8554/ds-test
    """

    FACTORY = "nvrtspoutsinkbin"
    ALIASES = ("rtspoutsink",)
    KLASS = "Sink/Network"
    DESCRIPTION = "Encode and stream out over RTSP (DeepStream's nvrtspoutsinkbin)"
    THREADED = True
    QUEUE_SIZE = 4
    PAD_TEMPLATES = (PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw"),)
    PROPERTIES = (
        Property.uint("rtsp-port", 8554, "Port of the RTSP server", 1, 65535),
        Property.uint("udp-port", 5400, "UDP port of the RTP stream (accepted; frames go through a pipe)", 0, 65535),
        Property.uint("udp-buffer-size", 524288, "UDP buffer size (accepted)"),
        Property.enum("codec", 0, "Video codec", [(0, "h264", "H.264"), (1, "h265", "H.265")]),
        Property.uint("bitrate", 4000000, "Encoder bitrate in bit/s", 0),
        Property.uint("iframeinterval", 30, "Keyframe interval in frames (clients join at a keyframe)", 1),
        Property.enum("enc-type", 0, "Encoder type (0 hardware where present, 1 software; the CPU path uses libx264)",
                      [(0, "hardware", "Hardware"), (1, "software", "Software")]),
        Property.uint("profile", 0, "Encoder profile (accepted)"),
        Property.string("mount-point", "/ds-test", "Path of the stream on the server"),
        Property.string("rtsp-host", "0.0.0.0", "Address the RTSP server listens on"),
        Property.enum("protocols", 0, "Lower transports clients may use",
                      [(0, "tcp-udp", "TCP and UDP"), (1, "tcp", "TCP only"), (2, "udp", "UDP only")]),
        Property.uint("gpu-id", 0, "Set GPU Device ID (the CPU path ignores it)"),
    )

    def __init__(self, name=None, _factory=None, **props):
        super().__init__(name, _factory, **props)
        self.server: RtspServer | None = None
        self.encoder: LiveEncoder | None = None
        self.frames_sent = 0

    @property
    def url(self) -> str:
        """The URL clients open (127.0.0.1 when listening on every address)."""
        host = self._props["rtsp-host"]
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        mount = self._props["mount-point"]
        return f"rtsp://{host}:{self._props['rtsp-port']}{mount if mount.startswith('/') else '/' + mount}"

    def start(self) -> None:
        codec = "h264" if self._props["codec"] == 0 else "h265"
        protocols = {0: "tcp-udp", 1: "tcp", 2: "udp"}[self._props["protocols"]]
        try:
            self.server = RtspServer(self._props["rtsp-port"], self._props["mount-point"], self._props["rtsp-host"],
                                     codec, protocols).start()
        except VistreamError as e:
            raise ElementError(str(e), self.name) from None
        self.encoder = None
        self.frames_sent = 0

    def render(self, buffer: Buffer) -> FlowReturn:
        fmt = buffer_format(buffer.caps)
        for i in range(len(buffer.data)):
            frame = buffer.data[i]
            if fmt not in _PIX:
                frame, fmt_used = convert_color(frame, fmt, "RGB"), "RGB"
            else:
                fmt_used = fmt
            if self.encoder is None:
                rate = buffer.caps.get("framerate") if buffer.caps is not None else None
                fps = float(rate) if rate else 30.0
                h, w = frame.shape[:2]
                try:
                    self.encoder = LiveEncoder(w, h, fps, "h264" if self._props["codec"] == 0 else "h265",
                                               self._props["bitrate"], self._props["iframeinterval"],
                                               pix_fmt=_PIX[fmt_used])
                except Exception as e:
                    raise ElementError(f"cannot open the RTSP output encoder for {w}x{h}: {e}", self.name) from None
            try:
                units = self.encoder.encode(np.asarray(frame))
            except VistreamError as e:
                raise ElementError(f"{e}; put nvvideoconvert with a fixed size before {self.FACTORY}",
                                   self.name) from None
            for data, key in units:
                try:
                    self.server.send(data, key)  # type: ignore[union-attr]
                except VistreamError as e:
                    raise ElementError(str(e), self.name) from None
            self.frames_sent += 1
        return FlowReturn.OK

    def stop(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.stop()
        self.encoder = None
