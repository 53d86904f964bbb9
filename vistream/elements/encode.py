"""Video encoders: x264enc, nvv4l2h264enc, nvv4l2h265enc, x265enc, avenc_mpeg4, jpeg-free codecs (FFmpeg)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from vistream.core.buffer import CLOCK_TIME_NONE, FLAG_DELTA_UNIT, Buffer, FlowReturn
from vistream.core.caps import Caps
from vistream.core.element import Element, register
from vistream.core.errors import ElementError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.media import ticks_to_ns
from vistream.elements.video import (
    AV_FORMATS,
    buffer_format,
    canonical_format,
    convert_color,
    download_buffer,
    frame_size,
)

TIME_BASE = Fraction(1, 90000)

def yuv420p_frame(frame: np.ndarray, fmt: str) -> av.VideoFrame:
    """An FFmpeg ``yuv420p`` frame from one raw frame in ``fmt`` (even width and height)."""
    frame = np.ascontiguousarray(frame)
    if fmt == "I420":
        return av.VideoFrame.from_ndarray(frame, format="yuv420p")
    if canonical_format(fmt) in ("RGB", "BGR", "RGBA", "BGRA"):
        # OpenCV is about 4x faster than FFmpeg's swscale here (0.27 vs 1.1 ms for a 640x360 frame), with the
        # same BT.601 limited-range matrix (luma within 1 level)
        return av.VideoFrame.from_ndarray(convert_color(frame, fmt, "I420"), format="yuv420p")
    return av.VideoFrame.from_ndarray(frame, format=AV_FORMATS[fmt]).reformat(format="yuv420p")


class _Encoder(Element):
    """Encodes raw frames with an FFmpeg encoder in its own thread; pushes packets with the codec's caps."""

    KLASS = "Codec/Encoder/Video"
    TIME_BASE = TIME_BASE  # MPEG-4 Part 2 caps the time base denominator at 65535
    CODEC = "libx264"
    MEDIA = "video/x-h264"
    THREADED = True
    QUEUE_SIZE = 4
    PAD_TEMPLATES = (
        PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw"),
        PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-h264"),
    )

    def _activate(self) -> None:
        super()._activate()
        self._ctx = None
        self.encoder_name: str | None = None  # the FFmpeg encoder in use, once the first frame has opened it
        self._size: tuple[int, int] | None = None
        self._count = 0
        self._last_pts = -1
        self._last_tick = -1

    # Subclasses map their properties onto FFmpeg options
    def codec_options(self) -> dict[str, str]:
        return {}

    def bitrate(self) -> int:
        return 0

    def gop(self) -> int:
        return 0

    def _open(self, width: int, height: int, rate: Fraction | None) -> None:
        self._open_codec(self.CODEC, self.codec_options(), width, height, rate)

    def _open_codec(self, codec: str, options: dict[str, str], width: int, height: int,
                    rate: Fraction | None) -> None:
        try:
            ctx = av.CodecContext.create(codec, "w")
        except (av.error.FFmpegError, ValueError) as e:
            raise ElementError(f'encoder "{codec}" is not available in this FFmpeg build: {e}', self.name) from None
        ctx.width, ctx.height = width, height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = self.TIME_BASE
        if rate:
            ctx.framerate = rate
        if self.bitrate():
            ctx.bit_rate = self.bitrate()
        if self.gop():
            ctx.gop_size = self.gop()
        ctx.options = options
        try:
            ctx.open()
        except (av.error.FFmpegError, OSError) as e:
            raise ElementError(f"could not open encoder {codec} for {width}x{height}: {e}", self.name) from None
        self._ctx = ctx
        self.encoder_name = codec
        self._size = (width, height)
        caps = Caps(self.MEDIA, width=width, height=height)
        caps.fields["codec-name"] = {"libx264": "h264", "libx265": "hevc", "libopenh264": "h264",
                                     "h264_nvenc": "h264", "hevc_nvenc": "hevc"}.get(codec, ctx.name)
        if rate:
            caps.fields["framerate"] = Fraction(rate)
        if self.MEDIA in ("video/x-h264", "video/x-h265"):
            caps.fields["stream-format"] = "byte-stream"
            caps.fields["alignment"] = "au"
        self._caps = caps

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        download_buffer(buffer)  # GPU frames: FFmpeg's encoders (NVENC included) take host frames
        fmt = buffer_format(buffer.caps)
        if fmt not in AV_FORMATS:
            raise ElementError(f"cannot encode format {fmt}", self.name)
        rate = buffer.caps.get("framerate") if buffer.caps is not None else None
        n = len(buffer.data)
        for i in range(n):
            frame = buffer.data[i]
            w, h = frame_size(frame, fmt)
            if self._ctx is None:
                self._open(w - w % 2, h - h % 2, rate)
            elif (w - w % 2, h - h % 2) != self._size:
                raise ElementError(f"frame size changed from {self._size[0]}x{self._size[1]} to {w}x{h}; "
                                   "put nvvideoconvert with a fixed size before the encoder", self.name)
            if w % 2 or h % 2:
                frame = frame[: h - h % 2, : w - w % 2]
            vf = yuv420p_frame(frame, fmt)
            pts = buffer.pts if i == 0 and buffer.pts >= 0 else -1
            if pts < 0:
                dur = buffer.duration if buffer.duration > 0 else int(1e9 / (rate or 30))
                pts = (self._last_pts + dur) if self._last_pts >= 0 else 0
            # Timestamps must increase in the codec's own ticks, or muxers refuse the packets: a repeated or
            # backwards PTS (e.g. partial batches of several streams after a tiler) moves on by one tick.
            if pts <= self._last_pts:
                pts = self._last_pts + 1
            self._last_pts = pts
            tick = int(round(pts * self.TIME_BASE.denominator / 1e9))
            if tick <= self._last_tick:
                tick = self._last_tick + 1
            self._last_tick = tick
            vf.pts = tick
            vf.time_base = self.TIME_BASE
            self._frame_dur = dur if (dur := buffer.duration) > 0 else int(1e9 / (rate or 30))
            ret = self._push_packets(self._ctx.encode(vf))
            if ret != FlowReturn.OK:
                return ret
            self._count += 1
        return FlowReturn.OK

    def _push_packets(self, packets) -> FlowReturn:
        for pkt in packets:
            pts = ticks_to_ns(pkt.pts, self.TIME_BASE) if pkt.pts is not None else CLOCK_TIME_NONE
            dts = ticks_to_ns(pkt.dts, self.TIME_BASE) if pkt.dts is not None else CLOCK_TIME_NONE
            ret = self.push(Buffer(pkt, pts=pts, dts=dts, duration=getattr(self, "_frame_dur", CLOCK_TIME_NONE),
                                   caps=self._caps, flags=0 if pkt.is_keyframe else FLAG_DELTA_UNIT))
            if ret != FlowReturn.OK:
                return ret
        return FlowReturn.OK

    def on_eos(self, pad: Pad) -> None:
        if self._ctx is not None:
            self._push_packets(self._ctx.encode(None))


_X264_PRESETS = [(0, "None", "No preset"), (1, "ultrafast", "ultrafast"), (2, "superfast", "superfast"),
                 (3, "veryfast", "veryfast"), (4, "faster", "faster"), (5, "fast", "fast"), (6, "medium", "medium"),
                 (7, "slow", "slow"), (8, "slower", "slower"), (9, "veryslow", "veryslow"), (10, "placebo", "placebo")]
_X264_TUNE = [(0, "none", "No tuning"), (1, "stillimage", "Still image"), (2, "fastdecode", "Fast decode"),
              (4, "zerolatency", "Zero latency")]


@register
class X264Enc(_Encoder):
    """H.264 encoder (libx264). ``bitrate`` in kbit/s as GStreamer's x264enc."""

    FACTORY = "x264enc"
    DESCRIPTION = "H.264 encoder (libx264)"
    PROPERTIES = (
        Property.uint("bitrate", 2048, "Bitrate in kbit/sec", 1, 2048000),
        Property.enum("speed-preset", 6, "Preset name for speed/quality tradeoff options", _X264_PRESETS),
        Property.enum("tune", 0, "Preset name for non-psychovisual tuning options", _X264_TUNE),
        Property.uint("key-int-max", 0, "Maximal distance between two key-frames (0 = automatic)"),
        Property.uint("threads", 0, "Number of threads used by the codec (0 = automatic)"),
        Property.enum("pass", 0, "Encoding pass/type", [(0, "cbr", "Constant Bitrate Encoding"),
                                                         (4, "quant", "Constant Quantizer"),
                                                         (5, "qual", "Constant Quality")]),
        Property.uint("quantizer", 21, "Constant quantizer or quality to apply", 0, 50),
    )

    def bitrate(self) -> int:
        return self._props["bitrate"] * 1000 if self._props["pass"] == 0 else 0

    def gop(self) -> int:
        return self._props["key-int-max"]

    def codec_options(self) -> dict[str, str]:
        opts = {}
        preset = self._props["speed-preset"]
        if preset:
            opts["preset"] = _X264_PRESETS[preset][1]
        tune = self._props["tune"]
        if tune:
            opts["tune"] = dict((v, n) for v, n, _ in _X264_TUNE)[tune]
        if self._props["threads"]:
            opts["threads"] = str(self._props["threads"])
        if self._props["pass"] in (4, 5):
            opts["crf" if self._props["pass"] == 5 else "qp"] = str(self._props["quantizer"])
        return opts


_NV_PRESETS = [(0, "DisablePreset", "Disable HW-Preset"), (1, "UltraFastPreset", "UltraFastPreset"),
               (2, "FastPreset", "FastPreset"), (3, "MediumPreset", "MediumPreset"), (4, "SlowPreset", "SlowPreset")]
_NV_TO_X264 = {0: "veryfast", 1: "ultrafast", 2: "superfast", 3: "veryfast", 4: "medium"}


_NV_TO_NVENC = {0: "p4", 1: "p1", 2: "p2", 3: "p4", 4: "p6"}  # preset-level -> NVENC preset (p1 fastest)
_NV_TUNING = {1: "hq", 2: "ll", 3: "ull", 4: "lossless"}  # tuning-info-id -> NVENC tune
_NV_H264_PROFILES = {0: "baseline", 1: "baseline", 2: "main", 4: "high"}  # V4L2 H.264 profile ids


def nvenc_usable_here() -> bool:
    """Whether the nv encoders try NVENC: an NVIDIA driver is present and ``VISTREAM_DEVICE`` is not ``cpu``
    (whether this GPU has an NVENC engine shows when the encoder opens)."""
    from vistream.gpu import _nvidia_driver_present, device_mode

    return device_mode() != "cpu" and _nvidia_driver_present()


@register
class NvV4l2H264Enc(_Encoder):
    """DeepStream's H.264 encoder: NVENC (FFmpeg's ``h264_nvenc``) on an NVIDIA GPU that has an NVENC engine,
    else libx264 tuned for speed, with a warning on the bus saying why (the software names ``openh264enc`` and
    ``avenc_h264`` always run libx264). ``bitrate`` in bit/s, ``iframeinterval``
    as GOP length, ``preset-level``, ``control-rate``, ``profile``, ``tuning-info-id``, ``maxbitrate`` and
    ``gpu-id`` map onto NVENC's options (onto x264's preset on the CPU)."""

    FACTORY = "nvv4l2h264enc"
    NVENC = "h264_nvenc"
    NVENC_NAMES = ("nvv4l2h264enc", "nvh264enc")  # the software aliases (openh264enc, ...) never try NVENC
    ALIASES = ("nvh264enc", "openh264enc", "avenc_h264")
    DESCRIPTION = "H.264 encoder (NVENC on NVIDIA GPUs, libx264 on the CPU)"
    PROPERTIES = (
        Property.uint("bitrate", 4000000, "Set bitrate for v4l2 encode (bit/s)", 0),
        Property.uint("iframeinterval", 30, "Encoding Intra Frame occurrence frequency", 0),
        Property.uint("idrinterval", 256, "Encoding IDR Frame occurrence frequency (accepted)", 0),
        Property.enum("preset-level", 1, "HW preset level for encoder", _NV_PRESETS),
        Property.enum("control-rate", 1, "Set control rate for v4l2 encode",
                      [(0, "variable_bitrate", "VBR"), (1, "constant_bitrate", "CBR")]),
        Property.uint("profile", 0, "Set profile for v4l2 encode: H.264 0 baseline, 2 main, 4 high (NVENC; H.265: main)"),
        Property.bool("insert-sps-pps", False, "Insert H.264 SPS, PPS at every IDR frame (accepted)"),
        Property.uint("gpu-id", 0, "Set GPU Device ID (NVENC)"),
        Property.uint("tuning-info-id", 0, "Tuning info: 1 high quality, 2 low latency, 3 ultra low latency, 4 lossless "
                      "(NVENC)"),
        Property.uint("maxbitrate", 0, "Max bitrate for VBR (NVENC)"),
    )

    def bitrate(self) -> int:
        return self._props["bitrate"]

    def gop(self) -> int:
        return self._props["iframeinterval"]

    def codec_options(self) -> dict[str, str]:
        return {"preset": _NV_TO_X264.get(self._props["preset-level"], "veryfast")}

    def nvenc_options(self) -> dict[str, str]:
        """FFmpeg options of the NVENC encoder for the element's properties (no B-frames, as DeepStream)."""
        pr = self._props
        opts = {"preset": _NV_TO_NVENC.get(pr["preset-level"], "p4"), "rc": "cbr" if pr["control-rate"] == 1 else "vbr",
                "gpu": str(pr["gpu-id"]), "bf": "0"}
        if pr["tuning-info-id"] in _NV_TUNING:
            opts["tune"] = _NV_TUNING[pr["tuning-info-id"]]
        if pr["control-rate"] == 0 and pr["maxbitrate"]:
            opts["maxrate"] = str(pr["maxbitrate"])
        profile = self.nvenc_profile()
        if profile:
            opts["profile"] = profile
        return opts

    def nvenc_profile(self) -> str | None:
        return _NV_H264_PROFILES.get(self._props["profile"])

    def _open(self, width: int, height: int, rate: Fraction | None) -> None:
        if self.factory_name in self.NVENC_NAMES and nvenc_usable_here():
            try:
                self._open_codec(self.NVENC, self.nvenc_options(), width, height, rate)
                return
            except ElementError as e:
                self.post_warning(f"NVENC is not usable here ({e.message}; H100/H200-class GPUs have no NVENC "
                                  f"engine): encoding with {self.CODEC} on the CPU")
        super()._open(width, height, rate)


@register
class NvV4l2H265Enc(NvV4l2H264Enc):
    """DeepStream's H.265 encoder: NVENC (``hevc_nvenc``) where the GPU has it, else libx265 (see
    :class:`NvV4l2H264Enc`)."""

    FACTORY = "nvv4l2h265enc"
    NVENC = "hevc_nvenc"
    NVENC_NAMES = ("nvv4l2h265enc", "nvh265enc")
    ALIASES = ("nvh265enc", "x265enc", "avenc_hevc")
    DESCRIPTION = "H.265 encoder (NVENC on NVIDIA GPUs, libx265 on the CPU)"
    CODEC = "libx265"
    MEDIA = "video/x-h265"
    PAD_TEMPLATES = (
        PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw"),
        PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-h265"),
    )

    def codec_options(self) -> dict[str, str]:
        return {"preset": _NV_TO_X264.get(self._props["preset-level"], "veryfast"), "x265-params": "log-level=error"}

    def nvenc_profile(self) -> str | None:
        return "main"  # 8-bit input: Main (Main10 needs 10-bit frames)


@register
class AvEncMpeg4(_Encoder):
    """MPEG-4 Part 2 encoder (FFmpeg's mpeg4)."""

    FACTORY = "avenc_mpeg4"
    DESCRIPTION = "MPEG-4 part 2 encoder"
    CODEC = "mpeg4"
    MEDIA = "video/mpeg"
    TIME_BASE = Fraction(1, 60000)
    PAD_TEMPLATES = (
        PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw"),
        PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/mpeg"),
    )
    PROPERTIES = (
        Property.uint("bitrate", 200000, "Target bitrate (bit/s)", 0),
        Property.int("gop-size", 250, "Number of frames within one GOP", 0),
    )

    def bitrate(self) -> int:
        return self._props["bitrate"]

    def gop(self) -> int:
        return self._props["gop-size"]
