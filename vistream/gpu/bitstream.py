"""H.264/H.265 bitstream helpers for NVDEC (no GPU needed): MP4 length-prefixed samples -> Annex-B."""

from __future__ import annotations

import struct

# FFmpeg codec names NVDEC decodes (PyNvVideoCodec / Video Codec SDK)
NVDEC_CODECS = ("h264", "hevc", "h265", "av1", "vp9", "vp8", "mpeg4", "mpeg2video", "mjpeg")
START = b"\x00\x00\x00\x01"


def avcc_parameter_sets(extradata: bytes) -> tuple[bytes, int]:
    """SPS/PPS of an ``avcC`` record as Annex-B bytes, and the NAL length size."""
    if len(extradata) < 7:
        raise ValueError("avcC record too short")
    nal_len = (extradata[4] & 3) + 1
    out = bytearray()
    pos = 5
    n_sps = extradata[pos] & 0x1F
    pos += 1
    for _ in range(n_sps):
        (size,) = struct.unpack(">H", extradata[pos:pos + 2])
        out += START + extradata[pos + 2:pos + 2 + size]
        pos += 2 + size
    n_pps = extradata[pos]
    pos += 1
    for _ in range(n_pps):
        (size,) = struct.unpack(">H", extradata[pos:pos + 2])
        out += START + extradata[pos + 2:pos + 2 + size]
        pos += 2 + size
    return bytes(out), nal_len


def hvcc_parameter_sets(extradata: bytes) -> tuple[bytes, int]:
    """VPS/SPS/PPS of an ``hvcC`` record as Annex-B bytes, and the NAL length size."""
    if len(extradata) < 23:
        raise ValueError("hvcC record too short")
    nal_len = (extradata[21] & 3) + 1
    out = bytearray()
    pos = 23
    for _ in range(extradata[22]):
        pos += 1  # array_completeness | nal_unit_type
        (count,) = struct.unpack(">H", extradata[pos:pos + 2])
        pos += 2
        for _ in range(count):
            (size,) = struct.unpack(">H", extradata[pos:pos + 2])
            out += START + extradata[pos + 2:pos + 2 + size]
            pos += 2 + size
    return bytes(out), nal_len


def length_prefixed_to_annexb(data: bytes, nal_len: int) -> bytes:
    """Rewrite length-prefixed NAL units (MP4 samples) with Annex-B start codes."""
    out = bytearray()
    pos, n = 0, len(data)
    while pos + nal_len <= n:
        size = int.from_bytes(data[pos:pos + nal_len], "big")
        pos += nal_len
        if size <= 0 or pos + size > n:
            raise ValueError(f"corrupt length-prefixed NAL unit (size {size} at byte {pos - nal_len} of {n})")
        out += START + data[pos:pos + size]
        pos += size
    return bytes(out)
