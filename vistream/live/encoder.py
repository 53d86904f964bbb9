"""Live H.264/H.265 encoding into Annex B access units with in-band SPS/PPS (what RTP payloaders need)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from vistream.core.errors import VistreamError

CODECS = {"h264": "libx264", "h265": "libx265"}


class LiveEncoder:
    """Encodes RGB/BGR/RGBA frames into Annex B access units; every keyframe repeats the parameter sets, so a
    client can join at any keyframe. Low latency: no B-frames, ``zerolatency`` tuning.

    >>> enc = LiveEncoder(640, 360, fps=30)                    # doctest: +SKIP
    >>> for data, key in enc.encode(frame_rgb): server.send(data, key)   # doctest: +SKIP
    """

    def __init__(self, width: int, height: int, fps: float = 30.0, codec: str = "h264", bitrate: int = 2_000_000,
                 gop: int = 30, preset: str = "ultrafast", threads: int = 2, pix_fmt: str = "rgb24"):
        if codec not in CODECS:
            raise VistreamError(f'codec must be one of {", ".join(CODECS)}, not "{codec}"')
        self.width, self.height = width - width % 2, height - height % 2
        ctx = av.CodecContext.create(CODECS[codec], "w")
        ctx.width, ctx.height = self.width, self.height
        ctx.pix_fmt = "yuv420p"
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30)
        ctx.time_base = 1 / rate
        ctx.framerate = rate
        if bitrate:
            ctx.bit_rate = bitrate
        ctx.gop_size = max(1, gop)
        # one slice per frame: sliced threads (zerolatency's default) split access units into several slices,
        # which RTP clients then decode as separate, faded pictures
        params = "repeat-headers=1:" + ("log-level=error" if codec == "h265" else "sliced-threads=0")
        ctx.options = {"preset": preset, "tune": "zerolatency", "threads": str(threads), "bframes": "0",
                       f"{'x264' if codec == 'h264' else 'x265'}-params": params}
        ctx.open()
        self.ctx = ctx
        self.pix_fmt = pix_fmt
        self.frames = 0

    def encode(self, frame: np.ndarray) -> list[tuple[bytes, bool]]:
        """Encode one frame (H x W x C, uint8 in ``pix_fmt``); returns ``[(access_unit, is_keyframe)]``."""
        if frame.shape[0] < self.height or frame.shape[1] < self.width:
            raise VistreamError(f"frame of {frame.shape[1]}x{frame.shape[0]} is smaller than the encoder's "
                                f"{self.width}x{self.height}")
        frame = np.ascontiguousarray(frame[: self.height, : self.width])
        vf = av.VideoFrame.from_ndarray(frame, format=self.pix_fmt).reformat(format="yuv420p")
        vf.pts = self.frames
        self.frames += 1
        return [(bytes(p), p.is_keyframe) for p in self.ctx.encode(vf)]

    def flush(self) -> list[tuple[bytes, bool]]:
        return [(bytes(p), p.is_keyframe) for p in self.ctx.encode(None)]
