"""NVDEC decoding through PyNvVideoCodec: packets in, NV12 frames out as torch CUDA tensors (DLPack, no copy
to the host).

``NvDecoder`` takes the same packets as the CPU decoder (MP4/Matroska ``avcC``/``hvcC`` length-prefixed NAL
units with their ``codec_data``, or Annex-B elementary streams) and returns ``(frame, pts)`` pairs; each frame is
a ``(H*3/2, W)`` uint8 CUDA tensor, the same NV12 layout as the CPU path's NV12 frames.

>>> dec = NvDecoder("h264", gpu_id=0)                      # doctest: +SKIP
>>> for data, pts in packets:                              # doctest: +SKIP
...     for nv12, t in dec.decode(data, pts): ...
>>> tail = dec.flush()                                     # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import torch

from vistream.gpu import require_gpu
from vistream.gpu.bitstream import NVDEC_CODECS as CODECS
from vistream.gpu.bitstream import avcc_parameter_sets, hvcc_parameter_sets, length_prefixed_to_annexb

_NV_NAMES = {"h264": "H264", "hevc": "HEVC", "h265": "HEVC", "av1": "AV1", "vp9": "VP9", "vp8": "VP8",
             "mpeg4": "MPEG4", "mpeg2video": "MPEG2", "mjpeg": "JPEG"}
class NvDecoder:
    """One NVDEC session. ``codec``: an FFmpeg codec name (``h264``, ``hevc``, ``av1``, ``vp9``, ...);
    ``extradata``: the stream's ``codec_data`` (``avcC``/``hvcC``) when packets are length-prefixed;
    ``drop_frame_interval``: keep every Nth frame (DeepStream's property); ``num_extra_surfaces`` and
    ``cudadec_memtype`` are accepted (PyNvVideoCodec manages its surfaces and always outputs device memory).

    ``decode(data, pts)`` returns the frames ready so far as ``(nv12_tensor, pts)``; the tensors are copies,
    so they stay valid after the next call (NVDEC reuses its surfaces).
    """

    def __init__(self, codec: str, gpu_id: int = 0, extradata: bytes | None = None, drop_frame_interval: int = 0,
                 num_extra_surfaces: int = 0, cudadec_memtype: int = 0, low_latency: bool = False) -> None:
        require_gpu(gpu_id, need_decoder=True, what="NVDEC decoding")
        import PyNvVideoCodec as nvc

        codec = codec.lower()
        if codec not in _NV_NAMES:
            raise ValueError(f"NVDEC cannot decode codec {codec!r} (supported: {', '.join(CODECS)})")
        self._nvc = nvc
        self.codec = codec
        self.gpu_id = gpu_id
        self.device = torch.device("cuda", gpu_id)
        self.drop = max(1, int(drop_frame_interval))
        self.num_extra_surfaces = num_extra_surfaces
        self.cudadec_memtype = cudadec_memtype
        kwargs = {}
        if low_latency:
            kwargs["latency"] = nvc.DisplayDecodeLatencyType.LOW
        self._dec = nvc.CreateDecoder(gpuid=gpu_id, codec=getattr(nvc.cudaVideoCodec, _NV_NAMES[codec]),
                                      usedevicememory=True, **kwargs)
        self._prefix = b""
        self._nal_len = 0
        if extradata and codec == "h264" and extradata[0] == 1:
            self._prefix, self._nal_len = avcc_parameter_sets(bytes(extradata))
        elif extradata and codec in ("hevc", "h265") and extradata[0] == 1:
            self._prefix, self._nal_len = hvcc_parameter_sets(bytes(extradata))
        self.frames_decoded = 0

    def _packet(self, data: bytes | None, pts: int):
        pkt = self._nvc.PacketData()
        if data is None:  # flush
            return pkt, None
        if self._nal_len:
            data = length_prefixed_to_annexb(data, self._nal_len)
            if self._prefix:  # parameter sets once, before the first picture
                data, self._prefix = self._prefix + data, b""
        arr = np.frombuffer(data, np.uint8)
        pkt.bsl_data = arr.ctypes.data
        pkt.bsl = arr.size
        pkt.pts = int(pts)
        return pkt, arr  # keep arr alive until Decode returns

    def decode(self, data: bytes | None, pts: int = 0) -> list[tuple[torch.Tensor, int]]:
        """Feed one packet (``None`` flushes); returns the decoded frames, in display order, with their pts."""
        pkt, keep = self._packet(data, pts)
        frames = self._dec.Decode(pkt)
        del keep
        out = []
        for fr in frames:
            self.frames_decoded += 1
            if (self.frames_decoded - 1) % self.drop:
                continue
            out.append((torch.from_dlpack(fr).clone(), int(fr.getPTS())))
        return out

    def flush(self) -> list[tuple[torch.Tensor, int]]:
        return self.decode(None)


def decode_file(path: str, gpu_id: int = 0, copy: bool = True) -> Iterator[tuple[torch.Tensor, int]]:
    """Demux (FFmpeg inside PyNvVideoCodec) and decode a whole file: ``(nv12_tensor, pts)`` per frame.

    With ``copy=False`` the tensors alias NVDEC's surfaces and are valid only until the next frame (for
    decode-only measurements).
    """
    require_gpu(gpu_id, need_decoder=True, what="NVDEC decoding")
    import PyNvVideoCodec as nvc

    dmx = nvc.CreateDemuxer(filename=str(path))
    dec = nvc.CreateDecoder(gpuid=gpu_id, codec=dmx.GetNvCodecId(), usedevicememory=True)
    for pkt in dmx:
        for fr in dec.Decode(pkt):
            t = torch.from_dlpack(fr)
            yield (t.clone() if copy else t), int(fr.getPTS())
    for fr in dec.Decode(nvc.PacketData()):
        t = torch.from_dlpack(fr)
        yield (t.clone() if copy else t), int(fr.getPTS())


def threaded_decoding() -> bool:
    """Whether local files are demuxed and decoded in PyNvVideoCodec's C++ threads (:class:`FileDecoder`):
    its ``ThreadedDecoder`` exists and ``VISTREAM_NVDEC_THREADED`` is not ``0``."""
    if os.environ.get("VISTREAM_NVDEC_THREADED", "1").strip() == "0":
        return False
    try:
        import PyNvVideoCodec as nvc
    except ImportError:
        return False
    return hasattr(nvc, "ThreadedDecoder")


class FileDecoder:
    """A local file demuxed and decoded by PyNvVideoCodec's ``ThreadedDecoder``: FFmpeg's demuxer and NVDEC run
    in its own C++ threads, which keep ``buffer`` frames decoded ahead; Python only collects frames, ``batch``
    at a time. Per packet this costs no Python call and no interpreter lock, which is what lets one process
    decode many streams (a decode loop feeding :class:`NvDecoder` packet by packet holds the lock while NVDEC
    works).

    Iterating yields ``(nv12_tensor, pts)`` in display order, ``pts`` in the stream's time-base units; tensors
    are copies. ``drop_frame_interval`` keeps every Nth frame. :meth:`restart` decodes the file again,
    :meth:`close` stops the threads.
    """

    def __init__(self, path: str, gpu_id: int = 0, drop_frame_interval: int = 0, buffer: int = 16,
                 batch: int = 4) -> None:
        require_gpu(gpu_id, need_decoder=True, what="NVDEC decoding")
        import PyNvVideoCodec as nvc

        self.path = str(path)
        self.gpu_id = gpu_id
        self.drop = max(1, int(drop_frame_interval))
        self.batch = max(1, min(batch, buffer))
        self._dec = nvc.ThreadedDecoder(self.path, buffer, gpu_id=gpu_id, use_device_memory=True)
        self.frames_decoded = 0

    def __iter__(self) -> Iterator[tuple[torch.Tensor, int]]:
        while self._dec is not None:
            frames = self._dec.get_batch_frames(self.batch)
            if not frames:  # end of the file
                return
            for fr in frames:
                self.frames_decoded += 1
                if (self.frames_decoded - 1) % self.drop:
                    continue
                yield torch.from_dlpack(fr).clone(), int(fr.getPTS())

    def restart(self) -> None:
        """Decode the file again from its start (the NVDEC session is reused): a looping source. The
        ``drop_frame_interval`` count starts again too, as with a new decoder."""
        if self._dec is not None:
            self._dec.reconfigure_decoder(self.path)
            self.frames_decoded = 0

    def close(self) -> None:
        if self._dec is not None:
            self._dec.end()
            self._dec = None
