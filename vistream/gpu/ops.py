"""Batched image operations on torch CUDA tensors: NV12 -> RGB, scaling/letterboxing, network pre-processing.

Layouts match the CPU path so the two are interchangeable: an NV12 frame is a ``(H*3/2, W)`` uint8 plane pair
(a batch ``(B, H*3/2, W)``), RGB frames are ``(B, H, W, 3)`` uint8. Colour conversion uses BT.601 limited range,
FFmpeg's default for streams without colour metadata (what the CPU decoder gives), or BT.709 when asked.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

# (Kr, Kb) of the luma equation for each matrix
_MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}
# nvstreammux / nvinfer interpolation ids -> torch modes (no GPU Lanczos in torch: bicubic stands in)
INTERP_MODES = {0: "nearest", 1: "bilinear", 2: "bicubic", 3: "area", 4: "bicubic", 5: "bilinear", 6: "bilinear"}


def _yuv_coeffs(matrix: str) -> tuple[float, float, float, float]:
    kr, kb = _MATRICES[matrix]
    kg = 1.0 - kr - kb
    # limited range: Y in 16..235, chroma in 16..240
    rv = 2 * (1 - kr) * 255 / 224
    bu = 2 * (1 - kb) * 255 / 224
    gu = bu * kb / kg
    gv = rv * kr / kg
    return rv, gu, gv, bu


def _interp(x: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if mode in ("bilinear", "bicubic"):
        return F.interpolate(x, size=size, mode=mode, align_corners=False)
    return F.interpolate(x, size=size, mode=mode)


def nv12_to_rgb(nv12: torch.Tensor, out_w: int | None = None, out_h: int | None = None, *, pad: bool = False,
                interpolation: int = 1, matrix: str = "bt601", alpha: bool = False) -> torch.Tensor:
    """NV12 batch ``(B, H*3/2, W)`` (or one frame ``(H*3/2, W)``) -> RGB(A) ``(B, out_h, out_w, 3|4)`` uint8.

    Scaling happens on the planes before the colour conversion (one pass at the output size). With ``pad`` the
    aspect ratio is kept and the picture sits at the top-left of a black canvas, as ``nvstreammux
    enable-padding=1`` does on the CPU path.
    """
    single = nv12.dim() == 2
    if single:
        nv12 = nv12[None]
    b, h3, w = nv12.shape
    h = h3 * 2 // 3
    out_w, out_h = out_w or w, out_h or h
    nw, nh = out_w, out_h
    if pad:
        r = min(out_w / w, out_h / h)
        nw, nh = max(1, int(round(w * r))), max(1, int(round(h * r)))
    mode = INTERP_MODES[interpolation]
    y = nv12[:, :h].unsqueeze(1).float()
    uv = nv12[:, h:].reshape(b, h // 2, w // 2, 2).permute(0, 3, 1, 2).float()
    y = _interp(y, (nh, nw), mode)
    if (nh, nw) == (h, w):  # no scaling: replicate chroma as FFmpeg's and OpenCV's NV12 converters do
        uv = uv.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    else:
        uv = _interp(uv, (nh, nw), "bilinear" if mode in ("bicubic", "area") else mode)
    rv, gu, gv, bu = _yuv_coeffs(matrix)
    yy = (y - 16.0) * (255.0 / 219.0)
    u = uv[:, 0:1] - 128.0
    v = uv[:, 1:2] - 128.0
    rgb = torch.cat([yy + rv * v, yy - gu * u - gv * v, yy + bu * u], dim=1)
    rgb = rgb.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    if alpha:
        rgb = torch.cat([rgb, torch.full_like(rgb[..., :1], 255)], dim=-1)
    if pad and (nw, nh) != (out_w, out_h):
        canvas = torch.zeros((b, out_h, out_w, rgb.shape[-1]), dtype=torch.uint8, device=rgb.device)
        canvas[:, :nh, :nw] = rgb
        rgb = canvas
    rgb = rgb.contiguous()
    return rgb[0] if single else rgb


def resize_rgb(frames: torch.Tensor, out_w: int, out_h: int, *, pad: bool = False,
               interpolation: int = 1) -> torch.Tensor:
    """Scale a packed ``(B, H, W, C)`` uint8 batch to ``(B, out_h, out_w, C)`` (``pad``: keep aspect, top-left)."""
    b, h, w, c = frames.shape
    if (w, h) == (out_w, out_h):
        return frames
    nw, nh = out_w, out_h
    if pad:
        r = min(out_w / w, out_h / h)
        nw, nh = max(1, int(round(w * r))), max(1, int(round(h * r)))
    x = _interp(frames.permute(0, 3, 1, 2).float(), (nh, nw), INTERP_MODES[interpolation])
    x = x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    if (nw, nh) != (out_w, out_h):
        canvas = torch.zeros((b, out_h, out_w, c), dtype=torch.uint8, device=frames.device)
        canvas[:, :nh, :nw] = x
        x = canvas
    return x.contiguous()


@dataclass(frozen=True)
class NetInput:
    """What the network expects (from the nvinfer config): size, colour order, normalisation, letterboxing."""

    width: int
    height: int
    channels: int = 3
    bgr: bool = False
    gray: bool = False
    offsets: tuple[float, ...] = (0.0, 0.0, 0.0)
    scale: float = 1.0
    keep_aspect: bool = False
    symmetric: bool = False
    pad_value: float = 0.0
    interpolation: int = 1
    nhwc: bool = False


def letterbox_size(w: int, h: int, net: NetInput) -> tuple[int, int, int, int]:
    """``(new_w, new_h, pad_x, pad_y)`` exactly as the CPU :class:`~vistream.infer.preprocess.Preprocessor`."""
    if net.keep_aspect:
        r = min(net.width / w, net.height / h)
        nw, nh = max(1, min(net.width, int(w * r))), max(1, min(net.height, int(h * r)))
    else:
        nw, nh = net.width, net.height
    px = (net.width - nw) // 2 if net.symmetric else 0
    py = (net.height - nh) // 2 if net.symmetric else 0
    return nw, nh, px, py


def preprocess(frames: torch.Tensor, net: NetInput, dtype: torch.dtype = torch.float16,
               out: torch.Tensor | None = None) -> torch.Tensor:
    """RGB uint8 batch ``(B, H, W, 3)`` -> the network input ``(B, C, net_h, net_w)`` (NHWC if ``net.nhwc``).

    One interpolation for the whole batch (all frames of a mux batch share a size), then
    ``(pixel - offsets) * scale`` in the model's colour order, padding strips filled with ``pad-value``.
    ``out`` (e.g. a CUDA-graph input buffer) is written in place when given.
    """
    b, h, w, _ = frames.shape
    nw, nh, px, py = letterbox_size(w, h, net)
    # FP16 arithmetic for an FP16 network (half the bytes of the full-resolution intermediate); channels-last
    # strides are kept so the interpolation reads the HWC frames in place.
    work = torch.float16 if (dtype == torch.float16 and frames.is_cuda) else torch.float32
    x = _interp(frames.permute(0, 3, 1, 2).to(work), (nh, nw), INTERP_MODES[net.interpolation])
    if (nw, nh) != (w, h) and net.interpolation in (1, 2, 4, 5, 6):
        x = x.round_().clamp_(0, 255)  # the CPU path resizes uint8 images: keep the same quantisation
    if net.gray:
        x = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).round_()
    elif net.bgr:
        x = x.flip(1)
    offs = torch.tensor(net.offsets, dtype=work, device=frames.device).view(1, -1, 1, 1)
    x = (x - offs) * net.scale
    shape = (b, net.channels, net.height, net.width)
    if out is None:
        out_shape = (b, net.height, net.width, net.channels) if net.nhwc else shape
        out = torch.empty(out_shape, dtype=dtype, device=frames.device)
    target = out.permute(0, 3, 1, 2) if net.nhwc else out
    if (nw, nh) != (net.width, net.height):
        target.copy_(((torch.tensor(net.pad_value, dtype=work, device=frames.device) - offs) * net.scale).expand(shape))
    target[:, :, py:py + nh, px:px + nw] = x
    return out


def to_numpy(t):
    """A CUDA tensor as a NumPy array on the host (other inputs pass through)."""
    if hasattr(t, "detach") and hasattr(t, "cpu"):
        return t.detach().cpu().numpy()
    return t
