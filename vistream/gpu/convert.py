"""nvvideoconvert on the GPU: pixel-format conversion, crop, flip/rotate and scaling of a whole CUDA batch.

The geometry is :class:`vistream.elements.convert.VideoConverter`'s (the same :class:`ConvertPlan`, so the
metadata moves exactly as on the CPU path); the pixels stay a torch tensor on the device. Channel orders and
the grey conversion give OpenCV's values; NV12 input goes through :func:`vistream.gpu.ops.nv12_to_rgb` (BT.601
limited range, as the CPU path's OpenCV conversion), scaling through ``torch.nn.functional.interpolate``.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from vistream.elements.convert import VideoConverter
from vistream.elements.video import canonical_format
from vistream.gpu.ops import nv12_to_rgb, resize_rgb

# packed formats the GPU path reads and writes, as channel letters (canonical names: RGBx is RGBA)
_PACKED = {"RGB": "RGB", "BGR": "BGR", "RGBA": "RGBA", "BGRA": "BGRA", "GRAY8": "Y"}
# OpenCV interpolation flags -> the nvstreammux/nvinfer ids of vistream.gpu.ops (Lanczos runs bicubic there)
_CV_TO_ID = {cv2.INTER_NEAREST: 0, cv2.INTER_LINEAR: 1, cv2.INTER_CUBIC: 2, cv2.INTER_AREA: 3, cv2.INTER_LANCZOS4: 4}
# flip-method -> (rot90 turns, transpose first): rot90 on dims (1, 2) of a (B, H, W, C) batch
_FLIPS = {1: (1, False), 2: (2, False), 3: (3, False), 5: (2, True), 7: (0, True)}


def interpolation_id(cv_flag: int) -> int:
    """The :mod:`vistream.gpu.ops` interpolation id of an OpenCV interpolation flag (bilinear when unknown)."""
    return _CV_TO_ID.get(cv_flag, 1)


def gpu_convertible(in_fmt: str, out_fmt: str) -> bool:
    """Whether a batch in ``in_fmt`` converts to ``out_fmt`` on the GPU (NV12/I420 output converts on the host)."""
    s, d = canonical_format(in_fmt), canonical_format(out_fmt)
    return (s in _PACKED or s == "NV12") and d in _PACKED


def batch_frame_size(frames: torch.Tensor, fmt: str) -> tuple[int, int]:
    """``(width, height)`` of the frames of a batch in ``fmt`` (NV12 batches are ``(B, H*3/2, W)``)."""
    if canonical_format(fmt) == "NV12":
        return frames.shape[2], frames.shape[1] * 2 // 3
    return frames.shape[2], frames.shape[1]


def convert_gpu_batch(conv: VideoConverter, frames: torch.Tensor, fmt: str) -> tuple[torch.Tensor, np.ndarray]:
    """Convert a batch (NV12 ``(B, H*3/2, W)``, GRAY8 ``(B, H, W)`` or packed ``(B, H, W, C)`` uint8) as ``conv``
    does each frame; returns the output batch (packed, or ``(B, H, W)`` for GRAY8) and the 3x3 matrix mapping
    input pixel coordinates to output ones."""
    s = canonical_format(fmt)
    d = canonical_format(conv.out_format or fmt)
    in_w, in_h = batch_frame_size(frames, fmt)
    if s == d and conv.is_identity(fmt, in_w, in_h):
        return frames, np.eye(3)
    if not gpu_convertible(s, d):
        raise ValueError(f"no GPU conversion from {fmt} to {conv.out_format}")
    p = conv.plan(in_w, in_h)
    interp = interpolation_id(conv.interpolation)
    dx, dy, dw, dh = p.dest
    if s == "NV12":
        if p.crop is None and p.flip == 0:  # scaled and converted in one pass, at the destination size
            work, wfmt = nv12_to_rgb(frames, dw, dh, interpolation=interp), "RGB"
            scaled = True
        else:
            work, wfmt = nv12_to_rgb(frames), "RGB"
            scaled = False
    else:
        work, wfmt = (frames[..., None] if frames.dim() == 3 else frames), s
        scaled = False
    if p.crop is not None:
        x, y, w, h = p.crop
        work = work[:, y:y + h, x:x + w]
    if p.flip:
        work = _flip(work, p.flip)
    if not scaled and (dw, dh) != p.flipped_size:
        work = resize_rgb(work.contiguous(), dw, dh, interpolation=interp)
    if (dw, dh) != p.out_size:  # dest-crop: the picture on a black canvas
        canvas = torch.zeros((work.shape[0], p.out_size[1], p.out_size[0], work.shape[-1]), dtype=work.dtype,
                             device=work.device)
        canvas[:, dy:dy + dh, dx:dx + dw] = work
        work = canvas
    out = _channels(work, _PACKED[wfmt], _PACKED[d])
    return (out[..., 0] if d == "GRAY8" else out).contiguous(), p.matrix


def _flip(x: torch.Tensor, method: int) -> torch.Tensor:
    if method == 4:
        return x.flip(2)
    if method == 6:
        return x.flip(1)
    turns, transpose = _FLIPS[method]
    if transpose:
        x = x.transpose(1, 2)
    return torch.rot90(x, turns, dims=(1, 2)) if turns else x


def _channels(x: torch.Tensor, src: str, dst: str) -> torch.Tensor:
    """Reorder/add/drop channels of a packed batch, as OpenCV's conversions between these formats do: alpha 255
    where the source has none, grey = (9798 R + 19235 G + 3735 B + 16384) >> 15 (OpenCV's 8-bit fixed point),
    grey replicated to colour."""
    if src == dst:
        return x
    if dst == "Y":
        rgb = x[..., [src.index(c) for c in "RGB"]].to(torch.int32)
        y = (rgb[..., 0] * 9798 + rgb[..., 1] * 19235 + rgb[..., 2] * 3735 + 16384) >> 15
        return y.to(torch.uint8)[..., None]
    if src == "Y":
        x = x.expand(*x.shape[:-1], 3)
        src = "RGB"
    planes = [x[..., src.index(c)] if c in src else torch.full_like(x[..., 0], 255) for c in dst]
    return torch.stack(planes, dim=-1)
