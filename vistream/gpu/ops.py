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


_FUSED: dict[str, object] = {}  # matrix -> jiterator kernel, or None where it could not be built


def _fused_kernel(matrix: str):
    """One elementwise CUDA kernel (compiled at run time by NVRTC through torch's jiterator) converting NV12 to
    packed RGB at the same size: reads each luma/chroma byte once, writes each RGB byte once."""
    if matrix not in _FUSED:
        try:
            from torch.cuda import jiterator

            rv, gu, gv, bu = _yuv_coeffs(matrix)
            code = (
                "template <typename T> T nv12_rgb(T y, T u, T v, T ch) {"
                f" float l = (float(y) - 16.f) * {255.0 / 219.0:.9f}f, cu = float(u) - 128.f, cv = float(v) - 128.f;"
                f" float x = ch == 0 ? l + {rv:.9f}f * cv : (ch == 1 ? l - {gu:.9f}f * cu - {gv:.9f}f * cv"
                f" : l + {bu:.9f}f * cu);"
                " return T(fminf(fmaxf(x + 0.5f, 0.f), 255.f)); }"
            )
            _FUSED[matrix] = jiterator._create_jit_fn(code)
        except Exception:  # no jiterator in this torch build: the composite path below
            _FUSED[matrix] = None
    return _FUSED[matrix]


def _nv12_to_rgb_fused(nv12: torch.Tensor, matrix: str) -> torch.Tensor | None:
    """``(B, H*3/2, W)`` NV12 -> ``(B, H, W, 3)`` RGB in one kernel, chroma replicated 2x2 (FFmpeg's and OpenCV's
    NV12 conversion); None where the kernel is unavailable (the caller converts with torch operations)."""
    fn = _fused_kernel(matrix) if nv12.is_cuda else None
    if fn is None:
        return None
    b, h3, w = nv12.shape
    h = h3 * 2 // 3
    # broadcast views, no copies: luma as (B, H/2, 2, W/2, 2, 1), each chroma plane as (B, H/2, 1, W/2, 1, 1),
    # the channel index as (3,): the result's (B, H/2, 2, W/2, 2, 3) layout is (B, H, W, 3)
    y = nv12[:, :h].reshape(b, h // 2, 2, w // 2, 2, 1)
    uv = nv12[:, h:].reshape(b, h // 2, 1, w // 2, 1, 2)
    ch = torch.arange(3, dtype=torch.uint8, device=nv12.device)
    try:
        rgb = fn(y, uv[..., 0:1], uv[..., 1:2], ch)
    except Exception:  # NVRTC missing or failing: remember, and use the composite path from now on
        _FUSED[matrix] = None
        return None
    return rgb.reshape(b, h, w, 3)


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
    if (nh, nw) == (h, w) and (rgb := _nv12_to_rgb_fused(nv12, matrix)) is not None:
        return _finish_rgb(rgb, alpha, pad, nw, nh, out_w, out_h, single)
    # Few full-size passes (this runs on every frame of every stream): the chroma terms of R, G and B, with the
    # luma offset, are computed at chroma resolution and scaled once (the conversion is linear, so scaling
    # before or after it is the same); luma is added with its gain in the same pass, and the uint8 conversion
    # writes the packed (H, W, 3) layout directly. About 8 kernels and 2.5x fewer bytes than converting at
    # full size channel by channel.
    rv, gu, gv, bu = _yuv_coeffs(matrix)
    gain = 255.0 / 219.0  # limited-range luma: (y - 16) * 255/219
    uv = nv12[:, h:].reshape(b, h // 2, w // 2, 2).permute(0, 3, 1, 2).float() - 128.0
    u, v = uv[:, 0:1], uv[:, 1:2]
    # + 0.5 so that the truncating uint8 conversion below rounds to nearest
    chroma = torch.cat([rv * v, -gu * u - gv * v, bu * u], dim=1).add_(0.5 - 16.0 * gain)
    if (nh, nw) == (h, w):  # no scaling: replicate chroma as FFmpeg's and OpenCV's NV12 converters do
        chroma = F.interpolate(chroma, size=(nh, nw), mode="nearest")
    else:
        chroma = _interp(chroma, (nh, nw), "bilinear" if mode in ("bicubic", "area") else mode)
    y = _interp(nv12[:, :h].unsqueeze(1).float(), (nh, nw), mode)
    rgb_f = chroma.add_(y, alpha=gain).clamp_(0, 255)
    rgb = torch.empty((b, nh, nw, 3), dtype=torch.uint8, device=nv12.device)
    rgb.permute(0, 3, 1, 2).copy_(rgb_f)
    return _finish_rgb(rgb, alpha, pad, nw, nh, out_w, out_h, single)


def _finish_rgb(rgb: torch.Tensor, alpha: bool, pad: bool, nw: int, nh: int, out_w: int, out_h: int,
                single: bool) -> torch.Tensor:
    """Alpha channel, padding canvas and the single-frame shape of :func:`nv12_to_rgb`."""
    if alpha:
        rgb = torch.cat([rgb, torch.full_like(rgb[..., :1], 255)], dim=-1)
    if pad and (nw, nh) != (out_w, out_h):
        canvas = torch.zeros((rgb.shape[0], out_h, out_w, rgb.shape[-1]), dtype=torch.uint8, device=rgb.device)
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
    _, h, w, _ = frames.shape
    nw, nh, px, py = letterbox_size(w, h, net)
    # FP16 arithmetic for an FP16 network (half the bytes of the full-resolution intermediate); channels-last
    # strides are kept so the interpolation reads the HWC frames in place.
    work = torch.float16 if (dtype == torch.float16 and frames.is_cuda) else torch.float32
    x = _interp(frames.permute(0, 3, 1, 2).to(work), (nh, nw), INTERP_MODES[net.interpolation])
    if (nw, nh) != (w, h) and net.interpolation in (1, 2, 4, 5, 6):
        x = x.round_().clamp_(0, 255)  # the CPU path resizes uint8 images: keep the same quantisation
    return _network_input(x, net, (nw, nh, px, py), dtype, out)


def _network_input(x: torch.Tensor, net: NetInput, placement: tuple[int, int, int, int], dtype: torch.dtype,
                   out: torch.Tensor | None) -> torch.Tensor:
    """Scaled RGB pixels ``x`` ``(B, 3, nh, nw)`` (in the arithmetic dtype) -> the network input: the model's
    colour order, ``(pixel - offsets) * scale``, placed at ``(px, py)`` of ``out`` (made when None) with the
    padding strips at ``pad-value``; ``placement`` is :func:`letterbox_size`'s ``(nw, nh, px, py)``."""
    nw, nh, px, py = placement
    b = x.shape[0]
    if net.gray:
        x = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).round_()
    elif net.bgr:
        x = x.flip(1)
    offs = torch.tensor(net.offsets, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    x = (x - offs) * net.scale
    shape = (b, net.channels, net.height, net.width)
    if out is None:
        out_shape = (b, net.height, net.width, net.channels) if net.nhwc else shape
        out = torch.empty(out_shape, dtype=dtype, device=x.device)
    target = out.permute(0, 3, 1, 2) if net.nhwc else out
    if (nw, nh) != (net.width, net.height):
        target.copy_(((torch.tensor(net.pad_value, dtype=x.dtype, device=x.device) - offs) * net.scale).expand(shape))
    target[:, :, py:py + nh, px:px + nw] = x
    return out


_TAPS: dict[tuple, tuple] = {}  # (n_in, n_out, mode, device) -> sampling taps, reused batch after batch


def _taps(n_in: int, n_out: int, mode: str, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Source indices ``i0``, ``i1`` and the weight of ``i1`` for each of ``n_out`` output pixels, as
    ``F.interpolate`` computes them (``nearest``: ``i1 == i0``, weight 0; ``bilinear``: ``align_corners=False``,
    negative source positions clamped to 0)."""
    key = (n_in, n_out, mode, str(device))
    if key not in _TAPS:
        scale = torch.tensor(n_in / n_out, dtype=torch.float32)
        d = torch.arange(n_out, dtype=torch.float32)
        if mode == "nearest":
            i0 = (d * scale).floor().long().clamp_(max=n_in - 1)
            i1, w1 = i0, torch.zeros(n_out)
        else:
            src = ((d + 0.5) * scale - 0.5).clamp_(min=0)
            i0 = src.long().clamp_(max=n_in - 1)
            i1 = (i0 + 1).clamp_(max=n_in - 1)
            w1 = src - i0
        _TAPS[key] = (i0.to(device), i1.to(device), w1.to(device))
    return _TAPS[key]


def nv12_preprocess(nv12: torch.Tensor, net: NetInput, dtype: torch.dtype = torch.float16,
                    out: torch.Tensor | None = None, matrix: str = "bt601") -> torch.Tensor:
    """NV12 batch ``(B, H*3/2, W)`` -> the network input, as :func:`preprocess` of ``nv12_to_rgb(nv12)`` gives it
    but without the full-size RGB frames: only the pixels the scaling reads are gathered (luma and chroma at the
    same taps, chroma replicated 2x2 as the full-size conversion does), then interpolated, converted to RGB,
    rounded and normalised at the network size. This is how nvinfer takes nvstreammux's NV12 batches.

    Nearest and bilinear ``scaling-filter`` values; others convert the whole frames first (same result as
    before). Differences to the two-step path are rounding only (one quantisation instead of two)."""
    b, h3, w = nv12.shape
    h = h3 * 2 // 3
    mode = INTERP_MODES[net.interpolation]
    if mode not in ("nearest", "bilinear"):
        return preprocess(nv12_to_rgb(nv12, matrix=matrix), net, dtype=dtype, out=out)
    nw, nh, px, py = letterbox_size(w, h, net)
    y0, y1, wy = _taps(h, nh, mode, nv12.device)
    x0, x1, wx = _taps(w, nw, mode, nv12.device)
    luma = nv12[:, :h]
    chroma = nv12[:, h:].reshape(b, h // 2, w // 2, 2)
    if mode == "nearest":
        rows, cols = y0, x0
    else:
        rows, cols = torch.cat([y0, y1]), torch.cat([x0, x1])
    # (B, rows, cols, 3) YUV at the taps: two gathers per plane, each over the few rows/columns the scaling reads
    yuv = torch.cat([luma.index_select(1, rows).index_select(2, cols)[..., None],
                     chroma.index_select(1, rows // 2).index_select(2, cols // 2)], -1).float()
    if mode == "bilinear":  # rows/columns [:n] are the i0 taps, [n:] the i1 taps
        yuv = torch.lerp(yuv[:, :nh], yuv[:, nh:], wy[None, :, None, None])
        yuv = torch.lerp(yuv[:, :, :nw], yuv[:, :, nw:], wx[None, None, :, None])
    # the full-size conversion's arithmetic (see _fused_kernel), element by element: no matrix product, whose
    # TF32 rounding could move a pixel across a rounding boundary
    rv, gu, gv, bu = _yuv_coeffs(matrix)
    lum = (yuv[..., 0] - 16.0) * (255.0 / 219.0)
    cu, cv = yuv[..., 1] - 128.0, yuv[..., 2] - 128.0
    x = torch.stack([lum + rv * cv, lum - gu * cu - gv * cv, lum + bu * cu], 1)
    x = x.add_(0.5).clamp_(0, 255).floor_()  # the uint8 frames' quantisation
    return _network_input(x, net, (nw, nh, px, py), dtype, out)


def to_numpy(t):
    """A CUDA tensor as a NumPy array on the host (other inputs pass through)."""
    if hasattr(t, "detach") and hasattr(t, "cpu"):
        return t.detach().cpu().numpy()
    return t
