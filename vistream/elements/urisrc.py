"""uridecodebin / nvurisrcbin: a source that reads a URI (file or network), demuxes and decodes it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from fractions import Fraction

from vistream.core.buffer import Buffer
from vistream.core.element import SourceElement, register
from vistream.core.errors import ElementError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.decode import VideoDecoder
from vistream.elements.media import (
    check_readable,
    encoded_caps,
    open_video,
    packet_buffers,
    ticks_to_ns,
    uri_to_location,
)
from vistream.elements.video import AV_FORMATS, FORMATS, video_caps


@register
class UriDecodeBin(SourceElement):
    """Decodes a URI: ``file://`` URIs or paths, and anything FFmpeg opens (rtsp://, http(s)://, HLS).

    Its video pad appears when the source is opened (``pad-added``); launch strings link it automatically.
    With ``file-loop`` the file restarts at EOS with timestamps that keep increasing. Network sources that
    drop are reopened every ``rtsp-reconnect-interval`` seconds (0 = never) without stopping the pipeline.
    """

    FACTORY = "uridecodebin"
    ALIASES = ("uridecodebin3", "urisourcebin")
    KLASS = "Generic/Bin/Decoder"
    DESCRIPTION = "Autoplug and decode an URI to raw media"
    SRC_PAD_NAME = "src_0"
    PAD_TEMPLATES = (PadTemplate("src_%u", PadDirection.SRC, PadPresence.SOMETIMES, "video/x-raw"),)
    PROPERTIES = (
        Property.string("uri", None, "URI to decode"),
        Property.bool("file-loop", False, "Loop file sources at EOS"),
        Property.uint("drop-frame-interval", 0, "Interval to drop frames: N outputs every Nth frame", 0, 30),
        Property.uint("latency", 100, "Jitter buffer size for RTSP sources, in ms"),
        Property.enum("select-rtp-protocol", 0, "Transport protocol to use for RTP",
                      [(0, "tcp-udp", "TCP + UDP (FFmpeg's default order)"), (4, "tcp", "TCP only"),
                       (7, "udp", "UDP only (multicast and unicast)")]),
        Property.int("rtsp-reconnect-interval", 0, "Timeout in seconds to wait since last data was received "
                     "from an RTSP source before forcing a reconnection (0 = disable)", 0),
        Property.int("rtsp-reconnect-attempts", -1, "Max reconnection attempts (-1 = unlimited)", -1),
        Property.int("init-rtsp-reconnect-interval", 0, "Initial reconnect interval in seconds "
                     "(0 = same as rtsp-reconnect-interval)", 0),
        Property.uint("gpu-id", 0, "Set GPU Device ID (the CPU path ignores it)"),
        Property.uint("cudadec-memtype", 0, "Type of memory for decoder output (accepted)"),
        Property.uint("num-extra-surfaces", 0, "Number of extra surfaces (accepted)"),
        Property.uint("source-id", 0, "Source id of this source (for messages and smart record)"),
        Property.uint("max-threads", 0, "Maximum number of decoder threads (0 = automatic)", 0, 64),
    )
    SIGNALS = ("source-setup", "child-added")

    def start(self) -> None:
        uri = self._props["uri"]
        if not uri:
            raise ElementError('property "uri" is not set', self.name)
        if self.SRC_PAD_NAME not in self.pads:
            templ = self.PAD_TEMPLATES[0]
            self.add_pad(Pad(self.SRC_PAD_NAME, PadDirection.SRC, self, templ))
        self.reconnects = 0

    def _open(self, location: str, local: bool):
        options = {}
        if not local and location.startswith("rtsp"):
            proto = self._props["select-rtp-protocol"]
            if proto == 4:
                options["rtsp_transport"] = "tcp"
            elif proto == 7:
                options["rtsp_transport"] = "udp"
            options["max_delay"] = str(self._props["latency"] * 1000)
        return open_video(location, self.name, options=options, timeout=None if local else 10.0)

    def produce(self) -> Iterator[Buffer]:
        location, local = uri_to_location(self._props["uri"])
        if local:
            check_readable(location, self.name)
        want = self.downstream_caps(self.src_pads[0]) if self.src_pads else None
        fmt = str(want.get("format", "RGB")) if want is not None else "RGB"
        if fmt not in FORMATS:
            raise ElementError(f"cannot output format {fmt}", self.name)
        drop = self._props["drop-frame-interval"]
        pts_offset, frame_num, last_end = 0, 0, 0
        attempts = 0
        caps_cache: dict = {}
        while True:
            try:
                container, stream = self._open(location, local)
            except ElementError:
                if local or not self._should_retry(attempts):
                    raise
                attempts += 1
                self._wait_reconnect(attempts)
                continue
            attempts = 0
            try:
                caps = encoded_caps(stream)
                packets = packet_buffers(container, stream, caps, self)
                nvdec = self._wants_nvdec(caps)
                if nvdec and local and self._threaded_nvdec():  # demux + decode in PyNvVideoCodec's threads
                    time_base = stream.time_base
                    container.close()
                    buffers = self._nvdec_file_buffers(location, caps, time_base, pts_offset, frame_num)
                elif nvdec:
                    buffers = self._nvdec_buffers(caps, packets, pts_offset, frame_num)
                else:
                    buffers = iter(())
                for out in buffers:
                    last_end = out.pts + out.duration
                    frame_num += 1
                    yield out
                dec = None if nvdec else VideoDecoder(caps, self.name, self._props["max-threads"])
                for frames in self._decoded(dec, packets) if dec is not None else ():
                    for frame in frames:
                        pts = dec.frame_pts(frame) + pts_offset
                        dec.frames_out += 1
                        if drop > 1 and (dec.frames_out - 1) % drop != 0:
                            continue
                        arr = frame.to_ndarray(format=AV_FORMATS[fmt])
                        out_caps = caps_cache.get((frame.width, frame.height))
                        if out_caps is None:
                            out_caps = video_caps(fmt, frame.width, frame.height, dec.framerate / max(1, drop))
                            caps_cache[(frame.width, frame.height)] = out_caps
                        last_end = pts + dec.duration
                        out = Buffer(arr[None], pts=pts, duration=dec.duration * max(1, drop), caps=out_caps,
                                     frame_num=frame_num)
                        out.extra["t_decoded"] = time.monotonic()
                        yield out
                        frame_num += 1
            except ElementError:
                if local or not self._should_retry(0):
                    raise
                self.post_warning(f'lost "{location}", reconnecting')
            finally:
                container.close()
            if self._eos_requested or self._stopping:
                return
            if local:
                if not self._props["file-loop"]:
                    return
                pts_offset = last_end
                continue
            if not self._should_retry(0):
                return
            self._wait_reconnect(1)

    # ---- GPU path: NVDEC when the frames feed nvstreammux (see :mod:`vistream.gpu`) --------------------------
    def _wants_nvdec(self, caps) -> bool:
        """NVDEC for a codec it decodes, when the GPU path is available and the pad feeds nvstreammux (other
        consumers get host frames from FFmpeg, as on the CPU path)."""
        from vistream.elements.decode import feeds_streammux
        from vistream.gpu import use_gpu
        from vistream.gpu.bitstream import NVDEC_CODECS

        if caps.get("codec-name") not in NVDEC_CODECS or not self.src_pads:
            return False
        return feeds_streammux(self.src_pads[0]) and use_gpu(self._props["gpu-id"], need_decoder=True,
                                                              element=self.name)

    @staticmethod
    def _threaded_nvdec() -> bool:
        from vistream.gpu.nvdec import threaded_decoding

        return threaded_decoding()

    def _nvdec_buffers(self, caps, packets, pts_offset: int, frame_num: int) -> Iterator[Buffer]:
        """NV12 frames in GPU memory (``video/x-raw(memory:NVMM)``), as nvv4l2decoder gives nvstreammux."""
        from vistream.gpu.nvdec import NvDecoder

        drop = self._props["drop-frame-interval"]
        try:
            dec = NvDecoder(caps.get("codec-name"), self._props["gpu-id"], caps.get("codec_data"), drop,
                            self._props["num-extra-surfaces"], self._props["cudadec-memtype"])
        except (ValueError, RuntimeError) as e:
            raise ElementError(f"NVDEC: {e}", self.name) from None

        def frames():
            for pkt in packets:
                yield from dec.decode(bytes(pkt.data), max(0, pkt.pts))
            yield from dec.flush()

        yield from self._gpu_buffers(frames(), caps, None, pts_offset, frame_num)

    def _nvdec_file_buffers(self, location: str, caps, time_base, pts_offset: int,
                            frame_num: int) -> Iterator[Buffer]:
        """The same frames from a local file demuxed and decoded in PyNvVideoCodec's C++ threads."""
        from vistream.gpu.nvdec import FileDecoder

        try:
            dec = FileDecoder(location, self._props["gpu-id"], self._props["drop-frame-interval"])
        except (ValueError, RuntimeError) as e:
            raise ElementError(f'NVDEC cannot open "{location}": {e}', self.name) from None
        frames = iter(self._gpu_buffers(dec, caps, Fraction(time_base or Fraction(1, 90000)), pts_offset, frame_num))
        try:
            while not (self._eos_requested or self._stopping):
                try:
                    out = next(frames)
                except StopIteration:
                    return
                except RuntimeError as e:  # PyNvVideoCodec's errors (corrupt data, lost device) name no file
                    raise ElementError(f'NVDEC failed decoding "{location}": {e}', self.name) from None
                yield out
        finally:
            dec.close()

    def _gpu_buffers(self, frames, caps, time_base: Fraction | None, pts_offset: int,
                     frame_num: int) -> Iterator[Buffer]:
        """``(nv12, pts)`` pairs as buffers with ``(memory:NVMM)`` caps; ``pts`` in ``time_base`` units (None:
        already ns)."""
        drop = self._props["drop-frame-interval"]
        rate = Fraction(caps.get("framerate") or Fraction(25, 1)) / max(1, drop)
        duration = int(1e9 / rate)
        out_caps = None
        for nv12, pts in frames:
            h, w = nv12.shape[0] * 2 // 3, nv12.shape[1]
            if out_caps is None or out_caps.get("width") != w or out_caps.get("height") != h:
                out_caps = video_caps("NV12", w, h, rate, ("memory:NVMM",))
            pts = ticks_to_ns(pts, time_base) if time_base is not None else pts
            out = Buffer(nv12[None], pts=max(0, pts) + pts_offset, duration=duration, caps=out_caps,
                         frame_num=frame_num)
            out.extra["t_decoded"] = time.monotonic()
            frame_num += 1
            yield out

    def _decoded(self, dec: VideoDecoder, packets) -> Iterator[list]:
        for pkt in packets:
            yield dec.decode(pkt.data)
        yield dec.flush()

    def _should_retry(self, attempts: int) -> bool:
        if self._props["rtsp-reconnect-interval"] <= 0:
            return False
        limit = self._props["rtsp-reconnect-attempts"]
        return limit < 0 or attempts < limit

    def _wait_reconnect(self, attempt: int) -> None:
        interval = self._props["init-rtsp-reconnect-interval"] if attempt <= 1 else 0
        interval = interval or self._props["rtsp-reconnect-interval"]
        self.reconnects += 1
        self.post_element_message("reconnect", uri=self._props["uri"], attempt=attempt, source_id=self._props["source-id"])
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline and not self._stopping and not self._eos_requested:
            time.sleep(0.05)


@register
class NvUriSrcBin(UriDecodeBin):
    """DeepStream's ``nvurisrcbin``: ``uridecodebin`` with DeepStream's reconnect and file-loop options."""

    FACTORY = "nvurisrcbin"
    DESCRIPTION = "Nvidia URI source bin: decode a URI with reconnection and looping"
    SRC_PAD_NAME = "vsrc_0"
    PAD_TEMPLATES = (PadTemplate("vsrc_%u", PadDirection.SRC, PadPresence.SOMETIMES, "video/x-raw"),)
