"""Video decoders: nvv4l2decoder and the avdec_* names (FFmpeg through PyAV), and decodebin."""

from __future__ import annotations

import os
import time
from fractions import Fraction

import av

from vistream.core.buffer import CLOCK_TIME_NONE, Buffer, FlowReturn
from vistream.core.caps import Caps
from vistream.core.element import Element, register
from vistream.core.errors import ElementError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.media import (
    ENCODED_CAPS,
    LOCATION_CAPS,
    MEDIA_CODEC,
    FileRef,
    file_packets,
    ticks_to_ns,
)
from vistream.elements.video import AV_FORMATS, FORMATS, video_caps

MAX_CONSECUTIVE_ERRORS = 25


class VideoDecoder:
    """Decodes packets of one stream into frames as NumPy arrays in a chosen pixel format.

    FFmpeg's own frame threads do the work with the GIL released.
    """

    def __init__(self, caps: Caps, element: str, threads: int = 0):
        self.element = element
        name = caps.get("codec-name") or MEDIA_CODEC.get(caps.media_type)
        if caps.media_type == "video/mpeg":
            name = name or ("mpeg4" if caps.get("mpegversion", 4) == 4 else "mpeg2video")
        if not name:
            raise ElementError(f"cannot decode {caps.media_type}", element)
        try:
            self.ctx = av.CodecContext.create(name, "r")
        except (av.error.FFmpegError, ValueError) as e:
            raise ElementError(f'no decoder for codec "{name}": {e}', element) from None
        data = caps.get("codec_data")
        if data:
            self.ctx.extradata = data
        self.ctx.thread_type = "AUTO"
        self.ctx.thread_count = threads
        rate = caps.get("framerate")
        self.duration = int(1e9 / rate) if rate else int(1e9 / 25)
        self.framerate = Fraction(rate) if rate else Fraction(25, 1)
        self.frames_out = 0
        self.errors = 0
        self.consecutive_errors = 0
        self.last_pts = CLOCK_TIME_NONE
        stream = caps.get("_stream")
        self.time_base = stream.time_base if stream is not None else None

    def decode(self, packet) -> list:
        try:
            frames = self.ctx.decode(packet)
        except av.error.EOFError:
            return []
        except (av.error.InvalidDataError, av.error.FFmpegError) as e:
            self.errors += 1
            self.consecutive_errors += 1
            if self.consecutive_errors >= MAX_CONSECUTIVE_ERRORS:
                raise ElementError(f"could not decode stream: {self.consecutive_errors} corrupt packets in a row",
                                   self.element, str(e)) from None
            return []
        if frames:
            self.consecutive_errors = 0
        return frames

    def flush(self) -> list:
        return self.decode(None)

    def frame_pts(self, frame) -> int:
        tb = frame.time_base or self.time_base
        if frame.pts is not None and tb is not None:
            pts = ticks_to_ns(frame.pts, tb)
        else:
            pts = self.frames_out * self.duration
        if self.last_pts != CLOCK_TIME_NONE and pts <= self.last_pts:
            pts = self.last_pts + self.duration  # keep timestamps increasing for broken streams
        self.last_pts = pts
        return pts


_DECODER_PROPS = (
    Property.uint("gpu-id", 0, "Set GPU Device ID (the CPU path ignores it)"),
    Property.uint("cudadec-memtype", 0, "Set CUDA memory type for the decoder output (accepted)"),
    Property.uint("drop-frame-interval", 0, "Interval to drop frames: N outputs every Nth frame (0 = none)", 0, 30),
    Property.uint("num-extra-surfaces", 0, "Additional number of surfaces (accepted)", 0, 24),
    Property.enum("skip-frames", 0, "Type of frames to skip during decoding",
                  [(0, "decode_all", "Decode all frames"), (1, "decode_non_ref", "Decode non-ref frames"),
                   (2, "decode_key", "Decode key frames")]),
    Property.bool("low-latency-mode", False, "Low latency mode for IPPP streams (accepted)"),
    Property.bool("enable-max-performance", False, "Set to enable max performance (accepted)"),
    Property.uint("max-threads", 0, "Maximum number of decoder threads (0 = automatic)", 0, 64),
)


def feeds_streammux(srcpad: Pad) -> bool:
    """Whether frames pushed on ``srcpad`` reach nvstreammux directly or through queue/identity elements (GPU
    decoders then keep them in GPU memory)."""
    pad = srcpad.peer
    for _ in range(8):
        el = pad.parent if pad is not None else None
        if el is None:
            return False
        if getattr(el, "FACTORY", "") == "nvstreammux":
            return True
        if getattr(el, "FACTORY", "") not in ("queue", "identity"):
            return False
        srcs = el.src_pads
        if len(srcs) != 1:
            return False
        pad = srcs[0].peer
    return False


def torch_flip_rgb(rgb):
    """RGB(A) -> BGR(A) on a GPU tensor (alpha stays last)."""
    return rgb[..., [2, 1, 0, 3][: rgb.shape[-1]]].contiguous()


@register
class NvV4l2Decoder(Element):
    """Decodes H.264, H.265, MPEG-4, MJPEG, VP8/9 and AV1 into raw frames (RGB unless a caps filter
    downstream asks for another format: BGR, RGBA, BGRA, GRAY8, NV12, I420).

    On the CPU path FFmpeg decodes (multi-threaded); frame count and timestamps follow the stream exactly.
    With an NVIDIA GPU and ``vistream[gpu]`` (see :mod:`vistream.gpu`; ``VISTREAM_DEVICE=cpu`` forces the
    CPU) H.264/H.265/AV1/VP9/... decode on NVDEC: frames feeding nvstreammux stay in GPU memory (NV12,
    ``video/x-raw(memory:NVMM)``). Runs in its own thread.
    """

    FACTORY = "nvv4l2decoder"
    ALIASES = ("avdec_h264", "avdec_h265", "avdec_mpeg4", "avdec_mjpeg", "avdec_vp9", "avdec_vp8", "avdec_av1",
               "nvdec", "vp9dec", "vp8dec")
    KLASS = "Codec/Decoder/Video"
    DESCRIPTION = "Decode video streams (FFmpeg on the CPU; NVDEC on NVIDIA GPUs)"
    PAD_TEMPLATES = (
        PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, f"{ENCODED_CAPS};{LOCATION_CAPS}"),
        PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-raw"),
    )
    PROPERTIES = _DECODER_PROPS
    THREADED = True
    QUEUE_SIZE = 8

    def _activate(self) -> None:
        super()._activate()
        self._decoder: VideoDecoder | None = None
        self._dec_caps_key: tuple | None = None
        self._eos_requested = False
        self._count = 0

    def send_eos(self) -> None:
        self._eos_requested = True

    def _out_format(self) -> str:
        want = self.downstream_caps()
        fmt = str(want.get("format", "RGB")) if want is not None else "RGB"
        if fmt not in FORMATS:
            raise ElementError(f"cannot output format {fmt} (supported: {', '.join(FORMATS)})", self.name)
        return fmt

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        if isinstance(buffer.data, FileRef):  # forgiving: filesrc ! nvv4l2decoder demuxes as decodebin would
            packets = file_packets(buffer.data.path, self)
            for pkt in packets:
                ret = self._decode_buffer(pkt)
                if ret != FlowReturn.OK:
                    packets.close()
                    return ret
            return FlowReturn.OK
        return self._decode_buffer(buffer)

    def _threads(self) -> int:
        """``max-threads``, or with 0 the cores shared out among the pipeline's decoders. FFmpeg's automatic
        count gives each decoder every core; with several streams the extra frame threads only cost (two
        streams on two cores: ~2560 FPS with automatic threads, ~2770 with one thread each)."""
        if self._props["max-threads"]:
            return self._props["max-threads"]
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        siblings = sum(1 for e in getattr(self.parent, "elements", ()) if isinstance(e, NvV4l2Decoder))
        return max(1, cores // max(1, siblings))

    def _decode_buffer(self, buffer: Buffer) -> FlowReturn:
        caps = buffer.caps or Caps("video/x-h264")
        key = (caps.media_type, caps.get("codec_data"))
        if getattr(self, "_nvdec", None) is not None or (self._decoder is None and self._wants_nvdec(caps)):
            return self._gpu_decode(buffer, caps, key)
        if self._decoder is None or key != self._dec_caps_key:
            if self._decoder is not None:
                ret = self._emit(self._decoder.flush())
                if ret != FlowReturn.OK:
                    return ret
            self._decoder = VideoDecoder(caps, self.name, self._threads())
            self._dec_caps_key = key
            self._fmt = self._out_format()
            self._in_caps = caps
            self._caps_cache: dict[tuple[int, int], object] = {}
        if self._props["skip-frames"] == 2 and buffer.flags:
            return FlowReturn.OK
        return self._emit(self._decoder.decode(buffer.data))

    def _emit(self, frames: list) -> FlowReturn:
        dec = self._decoder
        assert dec is not None
        drop = self._props["drop-frame-interval"]
        for frame in frames:
            pts = dec.frame_pts(frame)
            dec.frames_out += 1
            self._count += 1
            if drop > 1 and (dec.frames_out - 1) % drop != 0:
                continue
            avfmt = AV_FORMATS[self._fmt]
            # no format argument when the decoder's output already is the format: PyAV skips its reformat
            # check (40 -> 24 us per frame at 640x360, a visible share of decode-only throughput)
            arr = frame.to_ndarray() if frame.format.name == avfmt else frame.to_ndarray(format=avfmt)
            if arr.ndim == 2 and self._fmt not in ("NV12", "I420", "GRAY8"):
                arr = arr[..., None]
            caps = self._caps_cache.get((frame.width, frame.height))
            if caps is None:  # one caps object per size: downstream pads compare caps by identity first
                caps = video_caps(self._fmt, frame.width, frame.height, dec.framerate / max(1, drop))
                self._caps_cache[(frame.width, frame.height)] = caps
            out = Buffer(arr[None], pts=pts, duration=dec.duration * max(1, drop), caps=caps,
                         frame_num=dec.frames_out - 1)
            out.extra["t_decoded"] = time.monotonic()
            ret = self.push(out)
            if ret != FlowReturn.OK:
                return ret
        return FlowReturn.OK

    # ---- GPU path (NVDEC through PyNvVideoCodec) ----------------------------------------------------------------
    def _wants_nvdec(self, caps: Caps) -> bool:
        """NVDEC when the element is nvv4l2decoder/decodebin (not an avdec_* software decoder), the codec is one
        NVDEC decodes and the GPU path is available (``VISTREAM_DEVICE``, see :mod:`vistream.gpu`)."""
        if self.factory_name.startswith("avdec_") or self.factory_name in ("jpegdec", "vp8dec", "vp9dec"):
            return False
        from vistream.gpu import use_gpu
        from vistream.gpu.bitstream import NVDEC_CODECS

        name = caps.get("codec-name") or MEDIA_CODEC.get(caps.media_type)
        return name in NVDEC_CODECS and use_gpu(self._props["gpu-id"], need_decoder=True, element=self.name)

    def _gpu_decode(self, buffer: Buffer, caps: Caps, key) -> FlowReturn:
        from vistream.gpu.nvdec import NvDecoder

        if getattr(self, "_nvdec", None) is None or key != self._dec_caps_key:
            if getattr(self, "_nvdec", None) is not None:
                ret = self._gpu_emit(self._nvdec.flush())
                if ret != FlowReturn.OK:
                    return ret
            name = caps.get("codec-name") or MEDIA_CODEC.get(caps.media_type)
            try:
                self._nvdec = NvDecoder(name, self._props["gpu-id"], caps.get("codec_data"),
                                        self._props["drop-frame-interval"], self._props["num-extra-surfaces"],
                                        self._props["cudadec-memtype"], self._props["low-latency-mode"])
            except (ValueError, RuntimeError) as e:
                raise ElementError(f"NVDEC: {e}", self.name) from None
            self._dec_caps_key = key
            self._fmt = self._out_format()
            rate = caps.get("framerate")
            self._gpu_rate = Fraction(rate) if rate else Fraction(25, 1)
            # Frames stay on the GPU (NV12, memory:NVMM) when nvstreammux batches them; any other consumer gets
            # host frames in the format it asks for, as from the CPU decoder.
            self._gpu_out = self._feeds_streammux()
        if self._props["skip-frames"] == 2 and buffer.flags:
            return FlowReturn.OK
        data = buffer.data if isinstance(buffer.data, (bytes, bytearray)) else bytes(buffer.data)
        try:
            frames = self._nvdec.decode(data, max(0, buffer.pts))
        except ValueError as e:
            raise ElementError(f"NVDEC: {e}", self.name) from None
        return self._gpu_emit(frames)

    def _feeds_streammux(self) -> bool:
        """Whether the frames reach nvstreammux directly or through queue/identity elements."""
        return feeds_streammux(self.srcpad)

    def _gpu_emit(self, frames: list) -> FlowReturn:
        from vistream.gpu.ops import nv12_to_rgb

        drop = max(1, self._props["drop-frame-interval"])
        duration = int(1e9 / self._gpu_rate) * drop
        rate = self._gpu_rate / drop
        for nv12, pts in frames:
            w, h = nv12.shape[1], nv12.shape[0] * 2 // 3
            self._count += 1
            if self._gpu_out:
                data, caps = nv12[None], video_caps("NV12", w, h, rate, ("memory:NVMM",))
            elif self._fmt == "NV12":
                data, caps = nv12[None].cpu().numpy(), video_caps("NV12", w, h, rate)
            else:
                rgb = nv12_to_rgb(nv12, alpha=self._fmt in ("RGBA", "BGRA", "RGBx", "BGRx"))
                if self._fmt.startswith("BGR"):
                    rgb = torch_flip_rgb(rgb)
                arr = rgb.cpu().numpy()
                if self._fmt == "GRAY8":
                    from vistream.elements.video import convert_color

                    arr = convert_color(arr, "RGB", "GRAY8")[..., None]
                data, caps = arr[None], video_caps(self._fmt, w, h, rate)
            ret = self.push(Buffer(data, pts=pts, duration=duration, caps=caps, frame_num=self._count - 1))
            if ret != FlowReturn.OK:
                return ret
        return FlowReturn.OK

    def on_eos(self, pad: Pad) -> None:
        if getattr(self, "_nvdec", None) is not None:
            self._gpu_emit(self._nvdec.flush())
            if self._count == 0:
                raise ElementError("NVDEC could not decode any frame", self.name)
            return
        dec = self._decoder
        if dec is None:
            return
        self._emit(dec.flush())
        if dec.frames_out == 0 and dec.errors:
            raise ElementError(f"could not decode any frame ({dec.errors} corrupt packets)", self.name)
        if dec.errors:
            self.post_warning(f"skipped {dec.errors} corrupt packet(s) while decoding")


@register
class DecodeBin(NvV4l2Decoder):
    """Demuxes and decodes whatever it gets (a file from ``filesrc`` or encoded packets)."""

    FACTORY = "decodebin"
    ALIASES = ("decodebin3",)
    KLASS = "Generic/Bin/Decoder"
    DESCRIPTION = "Autoplug and decode to raw media"
