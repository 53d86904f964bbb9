"""Live sources and outputs: ``rtspsrc`` (+ ``rtph264depay``/``rtph265depay``), ``v4l2src`` (USB cameras) and
``nvrtspoutsinkbin`` (deepstream-app sink type 4: the stream served at rtsp://host:port/ds-test)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from fractions import Fraction

import numpy as np

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.element import Element, SourceElement, register
from vistream.core.errors import ElementError, VistreamError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.basesink import BaseSink
from vistream.elements.media import ENCODED_CAPS, encoded_caps, open_video, packet_buffers
from vistream.elements.video import (
    AV_FORMATS,
    FORMATS,
    buffer_format,
    convert_color,
    download_buffer,
    video_caps,
)
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
        download_buffer(buffer)  # a GPU batch is encoded from a host copy
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


_PROTOCOLS = [(0, "tcp-udp", "TCP or UDP, as the server offers (FFmpeg's order)"), (4, "tcp", "TCP only"),
              (1, "udp", "UDP only"), (2, "udp-mcast", "UDP multicast")]


class _Reconnecting:
    """DeepStream's reconnect policy (``rtsp-reconnect-interval`` / ``-attempts`` / ``init-rtsp-reconnect-interval``):
    the bus gets an ELEMENT message ``reconnect`` per attempt, ``self.reconnects`` counts them."""

    reconnects = 0

    def _should_retry(self, attempts: int) -> bool:
        if self._props["rtsp-reconnect-interval"] <= 0:
            return False
        limit = self._props["rtsp-reconnect-attempts"]
        return limit < 0 or attempts < limit

    def _wait_reconnect(self, attempt: int, location: str) -> None:
        interval = self._props["init-rtsp-reconnect-interval"] if attempt <= 1 else 0
        interval = interval or self._props["rtsp-reconnect-interval"]
        self.reconnects += 1
        self.post_element_message("reconnect", uri=location, attempt=attempt, source_id=self._props["source-id"])
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline and not self._stopping and not self._eos_requested:
            time.sleep(0.05)


RECONNECT_PROPERTIES = (
    Property.int("rtsp-reconnect-interval", 0, "Seconds without data before reconnecting (0 = never)", 0),
    Property.int("rtsp-reconnect-attempts", -1, "Max reconnection attempts (-1 = unlimited)", -1),
    Property.int("init-rtsp-reconnect-interval", 0, "First reconnect interval in seconds (0 = as the others)", 0),
    Property.uint("source-id", 0, "Source id reported in reconnect messages"),
)


@register
class RtspSrc(_Reconnecting, SourceElement):
    """Reads an RTSP stream (FFmpeg's RTSP client) and pushes its encoded video packets, as GStreamer's
    ``rtspsrc ! rtph264depay`` would: link it to ``rtph264depay ! h264parse ! nvv4l2decoder``.

    ``protocols`` picks the transport (``tcp`` is the robust choice through NAT and firewalls); ``latency``
    (ms) bounds FFmpeg's reorder buffer; ``drop-on-latency`` drops packets that arrive later than that instead
    of waiting. A dropped server is retried every ``rtsp-reconnect-interval`` seconds without stopping the
    pipeline; timestamps keep increasing across reconnections.
    """

    FACTORY = "rtspsrc"
    KLASS = "Source/Network"
    DESCRIPTION = "Receive data over the network via RTSP (RFC 2326)"
    PAD_TEMPLATES = (PadTemplate("stream_%u", PadDirection.SRC, PadPresence.SOMETIMES, ENCODED_CAPS),)
    PROPERTIES = (
        Property.string("location", None, "Location of the RTSP url to read"),
        Property.uint("latency", 2000, "Amount of ms to buffer", 0),
        Property.enum("protocols", 0, "Allowed lower transport protocols", _PROTOCOLS),
        Property.bool("drop-on-latency", False, "Drop buffers that arrive later than latency"),
        Property.int64("tcp-timeout", 20_000_000, "Fail after timeout microseconds on TCP connections (0 = none)", 0),
        Property.string("user-id", None, "RTSP location URI user id for authentication"),
        Property.string("user-pw", None, "RTSP location URI user password for authentication"),
        *RECONNECT_PROPERTIES,
    )

    def start(self) -> None:
        loc = self._props["location"]
        if not loc:
            raise ElementError('property "location" is not set', self.name)
        if not loc.startswith(("rtsp://", "rtsps://", "rtspt://")):
            raise ElementError(f'location "{loc}" is not an rtsp:// URL', self.name, "rtspsrc")
        if "stream_0" not in self.pads:
            self.add_pad(Pad("stream_0", PadDirection.SRC, self, self.PAD_TEMPLATES[0]))
        self.reconnects = 0

    def _url(self) -> str:
        loc = self._props["location"].replace("rtspt://", "rtsp://", 1)
        user, pw = self._props["user-id"], self._props["user-pw"]
        if user and "@" not in loc.split("/")[2]:
            scheme, rest = loc.split("://", 1)
            loc = f"{scheme}://{user}:{pw or ''}@{rest}"
        return loc

    def _options(self) -> dict[str, str]:
        opts = {"max_delay": str(self._props["latency"] * 1000)}
        proto = self._props["protocols"]
        if proto == 4 or self._props["location"].startswith("rtspt://"):
            opts["rtsp_transport"] = "tcp"
        elif proto == 1:
            opts["rtsp_transport"] = "udp"
        elif proto == 2:
            opts["rtsp_transport"] = "udp_multicast"
        if self._props["tcp-timeout"]:
            opts["timeout"] = str(self._props["tcp-timeout"])
        if self._props["drop-on-latency"]:
            opts["fflags"] = "discardcorrupt"
            opts["reorder_queue_size"] = "0"
        return opts

    def produce(self) -> Iterator[Buffer]:
        url = self._url()
        attempts = 0
        offset, last_end = 0, 0
        while True:
            try:
                container, stream = open_video(url, self.name, options=self._options(), timeout=10.0)
            except ElementError:
                if not self._should_retry(attempts):
                    raise
                attempts += 1
                self._wait_reconnect(attempts, self._props["location"])
                continue
            attempts = 0
            first = None
            try:
                caps = encoded_caps(stream)
                for buf in packet_buffers(container, stream, caps, self):
                    if buf.pts >= 0:
                        if first is None:
                            first = buf.pts
                        buf.pts = buf.pts - first + offset  # timestamps continue across reconnections
                        if buf.dts >= 0:
                            buf.dts = buf.dts - first + offset
                        last_end = max(last_end, buf.pts + max(buf.duration, 0))
                    yield buf
            except ElementError:
                if not self._should_retry(0):
                    raise
                self.post_warning(f'lost "{self._props["location"]}", reconnecting')
            finally:
                container.close()
            if self._eos_requested or self._stopping or not self._should_retry(0):
                return
            offset = last_end
            self._wait_reconnect(1, self._props["location"])


def _depay(factory: str, media: str, codec: str) -> type[Element]:
    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        caps = buffer.caps
        if caps is not None and caps.media_type != media:
            raise ElementError(f"{factory} takes {media}, got {caps.media_type}", self.name)
        return self.push(buffer)

    cls = type(factory.title().replace("depay", "Depay"), (Element,), {
        "FACTORY": factory, "KLASS": "Codec/Depayloader/Network/RTP", "TRANSPARENT": True,
        "DESCRIPTION": f"Extracts {codec} video from RTP packets (rtspsrc already hands over whole access units)",
        "__doc__": f"{codec} depayloader: ``rtspsrc`` delivers whole {codec} access units, so it passes them on.",
        "PAD_TEMPLATES": (PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, media),
                          PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, media)),
        "chain": chain,
    })
    return register(cls)


RtpH264Depay = _depay("rtph264depay", "video/x-h264", "H.264")
RtpH265Depay = _depay("rtph265depay", "video/x-h265", "H.265")


@register
class V4l2Src(SourceElement):
    """USB (UVC) and other Video4Linux2 cameras through FFmpeg's v4l2 input.

    Size, frame rate and pixel format come from a caps filter after it
    (``v4l2src device=/dev/video0 ! video/x-raw,width=1280,height=720,framerate=30/1 ! ...``); without one the
    camera's default mode is used. A missing device is an error naming the device and this element.
    """

    FACTORY = "v4l2src"
    ALIASES = ("nvv4l2camerasrc",)
    KLASS = "Source/Video"
    DESCRIPTION = "Reads frames from a Video4Linux2 device"
    PAD_TEMPLATES = (PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-raw"),)
    PROPERTIES = (
        Property.string("device", "/dev/video0", "Device location"),
        Property.int("num-buffers", -1, "Number of buffers to output before sending EOS (-1 = unlimited)", -1),
        Property.enum("io-mode", 0, "I/O mode (accepted)", [(0, "auto", "auto"), (2, "mmap", "mmap"),
                                                             (4, "dmabuf", "dmabuf")]),
        Property.bool("do-timestamp", True, "Timestamp buffers with the capture time"),
    )

    def start(self) -> None:
        dev = self._props["device"]
        if not os.path.exists(dev):
            raise ElementError(f'Cannot identify device "{dev}": no such device (is the camera plugged in? '
                               f'list them with "ls /dev/video*")', self.name)
        if not os.access(dev, os.R_OK | os.W_OK):
            raise ElementError(f'Cannot open device "{dev}": permission denied (add the user to the "video" group)',
                               self.name)

    def produce(self) -> Iterator[Buffer]:
        want = self.downstream_caps()
        fmt = str(want.get("format", "RGB")) if want is not None else "RGB"
        if fmt not in FORMATS:
            raise ElementError(f"cannot output format {fmt}", self.name)
        opts: dict[str, str] = {}
        if want is not None:
            if want.get("width") and want.get("height"):
                opts["video_size"] = f"{want.get('width')}x{want.get('height')}"
            rate = want.get("framerate")
            if rate:
                opts["framerate"] = str(Fraction(rate))
        container, stream = open_video(self._props["device"], self.name, fmt="video4linux2", options=opts,
                                       timeout=10.0)
        limit = self._props["num-buffers"]
        t0 = time.monotonic_ns()
        n = 0
        try:
            rate = Fraction(stream.average_rate or 30)
            for frame in container.decode(stream):
                arr = frame.to_ndarray(format=AV_FORMATS[fmt])
                pts = time.monotonic_ns() - t0
                yield Buffer(arr[None], pts=pts, duration=int(1e9 / rate), caps=video_caps(fmt, frame.width,
                                                                                          frame.height, rate),
                             frame_num=n)
                n += 1
                if 0 <= limit <= n or self._stopping or self._eos_requested:
                    return
        finally:
            container.close()
