"""Raw video helpers shared by elements: pixel-format conversion, scaling, frame/caps utilities."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np

from vistream.core.caps import Caps
from vistream.core.errors import ElementError

FORMATS = ("RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx", "GRAY8", "NV12", "I420")

# (src, dst) -> cv2 conversion code, for packed formats
_CV = {
    ("RGB", "BGR"): cv2.COLOR_RGB2BGR, ("BGR", "RGB"): cv2.COLOR_BGR2RGB,
    ("RGB", "RGBA"): cv2.COLOR_RGB2RGBA, ("RGB", "BGRA"): cv2.COLOR_RGB2BGRA,
    ("BGR", "BGRA"): cv2.COLOR_BGR2BGRA, ("BGR", "RGBA"): cv2.COLOR_BGR2RGBA,
    ("RGBA", "RGB"): cv2.COLOR_RGBA2RGB, ("RGBA", "BGR"): cv2.COLOR_RGBA2BGR, ("RGBA", "BGRA"): cv2.COLOR_RGBA2BGRA,
    ("BGRA", "BGR"): cv2.COLOR_BGRA2BGR, ("BGRA", "RGB"): cv2.COLOR_BGRA2RGB, ("BGRA", "RGBA"): cv2.COLOR_BGRA2RGBA,
    ("RGB", "GRAY8"): cv2.COLOR_RGB2GRAY, ("BGR", "GRAY8"): cv2.COLOR_BGR2GRAY,
    ("RGBA", "GRAY8"): cv2.COLOR_RGBA2GRAY, ("BGRA", "GRAY8"): cv2.COLOR_BGRA2GRAY,
    ("GRAY8", "RGB"): cv2.COLOR_GRAY2RGB, ("GRAY8", "BGR"): cv2.COLOR_GRAY2BGR,
    ("GRAY8", "RGBA"): cv2.COLOR_GRAY2RGBA, ("GRAY8", "BGRA"): cv2.COLOR_GRAY2BGRA,
    ("NV12", "RGB"): cv2.COLOR_YUV2RGB_NV12, ("NV12", "BGR"): cv2.COLOR_YUV2BGR_NV12,
    ("NV12", "RGBA"): cv2.COLOR_YUV2RGBA_NV12, ("NV12", "BGRA"): cv2.COLOR_YUV2BGRA_NV12,
    ("I420", "RGB"): cv2.COLOR_YUV2RGB_I420, ("I420", "BGR"): cv2.COLOR_YUV2BGR_I420,
    ("I420", "RGBA"): cv2.COLOR_YUV2RGBA_I420, ("I420", "BGRA"): cv2.COLOR_YUV2BGRA_I420,
    ("RGB", "I420"): cv2.COLOR_RGB2YUV_I420, ("BGR", "I420"): cv2.COLOR_BGR2YUV_I420,
    ("RGBA", "I420"): cv2.COLOR_RGBA2YUV_I420, ("BGRA", "I420"): cv2.COLOR_BGRA2YUV_I420,
}
_ALIAS = {"RGBx": "RGBA", "BGRx": "BGRA", "xRGB": "RGBA", "xBGR": "BGRA", "GRAY": "GRAY8", "YUV420": "I420"}
# PyAV pixel format names
AV_FORMATS = {"RGB": "rgb24", "BGR": "bgr24", "RGBA": "rgba", "BGRA": "bgra", "RGBx": "rgba", "BGRx": "bgra",
              "GRAY8": "gray", "NV12": "nv12", "I420": "yuv420p"}


def canonical_format(fmt: str) -> str:
    return _ALIAS.get(fmt, fmt)


def check_format(fmt: str, element: str | None = None) -> str:
    if fmt not in FORMATS and fmt not in _ALIAS:
        raise ElementError(f"unsupported video format {fmt!r} (supported: {', '.join(FORMATS)})", element)
    return fmt


def convert_color(frame: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Convert one frame between pixel formats (NV12/I420 frames are ``(H*3/2, W)`` planar arrays)."""
    s, d = canonical_format(src), canonical_format(dst)
    if s == d:
        return frame
    code = _CV.get((s, d))
    if code is not None:
        return cv2.cvtColor(frame, code)
    if d == "NV12":
        i420 = convert_color(frame, s, "I420")
        return i420_to_nv12(i420)
    if s in ("NV12", "I420") or d == "I420":
        return convert_color(convert_color(frame, s, "RGB"), "RGB", d)
    raise ElementError(f"cannot convert video from {src} to {dst}")


def i420_to_nv12(i420: np.ndarray) -> np.ndarray:
    h = i420.shape[0] * 2 // 3
    w = i420.shape[1]
    out = np.empty_like(i420)
    out[:h] = i420[:h]
    u = i420[h:h + h // 4].reshape(-1)
    v = i420[h + h // 4:].reshape(-1)
    uv = out[h:].reshape(-1)
    uv[0::2] = u[: uv.size // 2]
    uv[1::2] = v[: uv.size // 2]
    del w
    return out


def frame_size(frame: np.ndarray, fmt: str) -> tuple[int, int]:
    """``(width, height)`` of a frame in format ``fmt``."""
    if canonical_format(fmt) in ("NV12", "I420"):
        return frame.shape[1], frame.shape[0] * 2 // 3
    return frame.shape[1], frame.shape[0]


def resize(frame: np.ndarray, width: int, height: int, fmt: str = "RGB", interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Scale a frame to ``width x height`` (planar YUV goes through RGB)."""
    w, h = frame_size(frame, fmt)
    if (w, h) == (width, height):
        return frame
    if canonical_format(fmt) in ("NV12", "I420"):
        rgb = convert_color(frame, fmt, "RGB")
        return convert_color(cv2.resize(rgb, (width, height), interpolation=interpolation), "RGB", fmt)
    return cv2.resize(frame, (width, height), interpolation=interpolation)


def letterbox_params(w: int, h: int, out_w: int, out_h: int, symmetric: bool = True) -> tuple[float, int, int, int, int]:
    """Scale and placement to fit ``w x h`` inside ``out_w x out_h`` keeping the aspect ratio:
    ``(scale, new_w, new_h, x_offset, y_offset)``."""
    r = min(out_w / w, out_h / h)
    nw, nh = max(1, int(round(w * r))), max(1, int(round(h * r)))
    if symmetric:
        return r, nw, nh, (out_w - nw) // 2, (out_h - nh) // 2
    return r, nw, nh, 0, 0


def stack_frames(frames: list[np.ndarray]):
    """One ``(B, H, W, C)`` array when all frames share a shape, else the list itself."""
    if frames and all(f.shape == frames[0].shape for f in frames):
        return np.stack(frames)
    return list(frames)


def video_caps(fmt: str, width: int, height: int, framerate: Fraction | None = None, features=(), **extra) -> Caps:
    caps = Caps("video/x-raw", tuple(features), format=fmt, width=int(width), height=int(height))
    if framerate:
        caps.fields["framerate"] = Fraction(framerate)
    caps.fields.update({k.replace("_", "-"): v for k, v in extra.items()})
    return caps


def buffer_format(caps: Caps | None) -> str:
    return str(caps.get("format", "RGB")) if caps is not None else "RGB"


def color_from_rgba(color) -> tuple[int, int, int]:
    """A ``ColorParams`` as an RGB 0..255 tuple."""
    r, g, b, _ = color.rgba255()
    return (r, g, b)


def rgb_frames(buffer) -> list[np.ndarray] | np.ndarray:
    """The buffer's frames as RGB ``H x W x 3`` arrays (no copy when they already are)."""
    fmt = canonical_format(buffer_format(buffer.caps))
    if fmt == "RGB":
        return buffer.data
    if is_gpu_data(buffer.data):  # GPU batch: convert on the GPU, keep it there
        from vistream.gpu.ops import nv12_to_rgb

        if fmt == "NV12":
            return nv12_to_rgb(buffer.data)
        if fmt in ("RGBA", "BGR", "BGRA"):
            rgb = buffer.data[..., :3]
            return (rgb.flip(-1) if fmt.startswith("BGR") else rgb).contiguous()
        buffer = type(buffer)(to_numpy_frames(buffer), caps=buffer.caps)
    return [convert_color(f, fmt, "RGB") for f in buffer.data]


def host_rgb_frames(buffer) -> list[np.ndarray] | np.ndarray:
    """:func:`rgb_frames` on the host: a GPU batch is converted on the GPU, then downloaded (for code that works
    on NumPy frames: ONNX Runtime engines, re-ID embedders)."""
    frames = rgb_frames(buffer)
    return frames.detach().cpu().numpy() if is_gpu_data(frames) else frames


def is_gpu_data(data) -> bool:
    """True for a torch CUDA tensor (a GPU frame or batch), without importing torch."""
    # torch CUDA tensors, recognised without importing torch or vistream.gpu on the CPU path
    return type(data).__module__.startswith("torch") and getattr(getattr(data, "device", None), "type", None) == "cuda"


def to_numpy_frames(buffer):
    """The buffer's frames on the host: a GPU batch (torch CUDA tensor, ``memory:NVMM`` caps) is downloaded to a
    NumPy array of the same layout (``(B, H, W, C)``, NV12 ``(B, H*3/2, W)``); host frames pass through unchanged.

    Elements that work on pixels with NumPy/OpenCV (nvvideoconvert, nvdsosd, nvmultistreamtiler, encoders, sinks
    that need pixels) call it first; the buffer itself is not modified.
    """
    data = buffer.data
    if is_gpu_data(data):
        return data.detach().cpu().numpy()
    if isinstance(data, list) and data and is_gpu_data(data[0]):
        return [f.detach().cpu().numpy() for f in data]
    return data


def download_buffer(buffer) -> None:
    """Replace a GPU batch in ``buffer.data`` by its host copy and drop ``memory:NVMM`` from its caps (in place)."""
    if not is_gpu_data(buffer.data) and not (isinstance(buffer.data, list) and buffer.data and is_gpu_data(buffer.data[0])):
        return
    buffer.data = to_numpy_frames(buffer)
    caps = buffer.caps
    if caps is not None and caps.features:
        buffer.caps = Caps(caps.media_type, tuple(f for f in caps.features if f != "memory:NVMM"), **caps.fields)
