"""nvvideoconvert (videoconvert, videoscale, nvvidconv): pixel-format conversion, cropping, flipping and scaling,
with the batch metadata moved along so boxes stay on their objects.

Geometry helpers here (:func:`flip_frame`, :func:`remap_frame_meta`) are shared with the tiler.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import cv2
import numpy as np

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.caps import Caps
from vistream.core.element import Element, register
from vistream.core.errors import ElementError, PropertyError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.video import (
    buffer_format,
    canonical_format,
    check_format,
    convert_color,
    download_buffer,
    frame_size,
    is_gpu_data,
)
from vistream.meta import BatchMeta, DisplayMeta, FrameMeta, ObjectMeta, RectParams, TextParams

FLIP_METHODS = [
    (0, "none", "Identity (no rotation)"),
    (1, "counterclockwise", "Rotate counter-clockwise 90 degrees"),
    (2, "rotate-180", "Rotate 180 degrees"),
    (3, "clockwise", "Rotate clockwise 90 degrees"),
    (4, "horizontal-flip", "Flip horizontally"),
    (5, "upper-right-diagonal", "Flip across upper right/lower left diagonal"),
    (6, "vertical-flip", "Flip vertically"),
    (7, "upper-left-diagonal", "Flip across upper left/lower right diagonal"),
]
INTERPOLATION_METHODS = [
    (0, "Nearest", "Nearest"), (1, "Bilinear", "Bilinear"), (2, "Algo-1", "GPU - Cubic, VIC - 5 Tap"),
    (3, "Algo-2", "GPU - Super, VIC - 10 Tap"), (4, "Algo-3", "GPU - Lanczos, VIC - Smart"),
    (5, "Algo-4", "GPU - Ignored, VIC - Nicest"), (6, "Default", "GPU - Nearest, VIC - Nearest"),
]
# CPU equivalents. "Default" is bilinear here: nearest-neighbour makes CPU-scaled video visibly worse and
# costs about the same.
CV_INTERPOLATION = {0: cv2.INTER_NEAREST, 1: cv2.INTER_LINEAR, 2: cv2.INTER_CUBIC, 3: cv2.INTER_AREA,
                    4: cv2.INTER_LANCZOS4, 5: cv2.INTER_AREA, 6: cv2.INTER_LINEAR}
_SWAPS_AXES = (1, 3, 5, 7)  # flip methods that exchange width and height


# --- geometry ---------------------------------------------------------------------------------------------
def parse_crop(text: str | None, element: str | None = None, prop: str = "src-crop") -> tuple[int, int, int, int] | None:
    """``"left:top:width:height"`` → a tuple; empty or a zero width/height means no crop."""
    if text is None or not str(text).strip():
        return None
    parts = str(text).strip().split(":")
    try:
        vals = tuple(int(p) for p in parts)
    except ValueError:
        vals = ()
    if len(vals) != 4 or any(v < 0 for v in vals):
        raise PropertyError(f'invalid value "{text}": expected left:top:width:height, four integers >= 0', element, prop)
    if vals[2] == 0 or vals[3] == 0:
        return None
    return vals  # type: ignore[return-value]


def flip_matrix(method: int, w: float, h: float) -> np.ndarray:
    """3x3 matrix mapping continuous pixel coordinates of a ``w x h`` image through ``flip-method``."""
    m = {
        0: ((1, 0, 0), (0, 1, 0)),
        1: ((0, 1, 0), (-1, 0, w)),  # counter-clockwise: (x, y) -> (y, w - x)
        2: ((-1, 0, w), (0, -1, h)),
        3: ((0, -1, h), (1, 0, 0)),  # clockwise: (x, y) -> (h - y, x)
        4: ((-1, 0, w), (0, 1, 0)),
        5: ((0, -1, h), (-1, 0, w)),  # upper-right diagonal: (x, y) -> (h - y, w - x)
        6: ((1, 0, 0), (0, -1, h)),
        7: ((0, 1, 0), (1, 0, 0)),  # transpose
    }[method]
    return np.array([m[0], m[1], (0, 0, 1)], np.float64)


def flip_frame(frame: np.ndarray, method: int) -> np.ndarray:
    """Apply ``flip-method`` to an image (or a 2-D mask)."""
    if method == 0:
        return frame
    if method == 1:
        return cv2.rotate(frame, cv2.ROTATE_90_COUNTERCLOCKWISE)
    if method == 2:
        return cv2.rotate(frame, cv2.ROTATE_180)
    if method == 3:
        return cv2.rotate(frame, cv2.ROTATE_90_CLOCKWISE)
    if method == 4:
        return cv2.flip(frame, 1)
    if method == 6:
        return cv2.flip(frame, 0)
    t = np.ascontiguousarray(np.swapaxes(frame, 0, 1))
    return cv2.rotate(t, cv2.ROTATE_180) if method == 5 else t


def _translate(dx: float, dy: float) -> np.ndarray:
    return np.array([(1, 0, dx), (0, 1, dy), (0, 0, 1)], np.float64)


def _scale(sx: float, sy: float) -> np.ndarray:
    return np.array([(sx, 0, 0), (0, sy, 0), (0, 0, 1)], np.float64)


def _copy_rect(r: RectParams) -> RectParams:
    return dataclasses.replace(r, border_color=r.border_color.copy(), bg_color=r.bg_color.copy())


def _copy_text(t: TextParams) -> TextParams:
    fp = dataclasses.replace(t.font_params, font_color=t.font_params.font_color.copy())
    return dataclasses.replace(t, font_params=fp, text_bg_clr=t.text_bg_clr.copy())


class _Mapper:
    """Maps points and boxes through an affine matrix ``m`` and clips them to ``clip`` (x0, y0, x1, y1)."""

    def __init__(self, m: np.ndarray, clip: tuple[float, float, float, float], flip: int = 0):
        self.m = m
        self.clip = clip
        self.flip = flip
        self.scale = float(np.sqrt(abs(np.linalg.det(m[:2, :2]))))

    def point(self, x: float, y: float) -> tuple[float, float]:
        v = self.m @ (x, y, 1.0)
        return float(v[0]), float(v[1])

    def ipoint(self, x: float, y: float) -> tuple[int, int]:
        px, py = self.point(x, y)
        return int(round(px)), int(round(py))

    def box(self, left: float, top: float, width: float, height: float) -> tuple[float, float, float, float]:
        """The mapped box ``(left, top, width, height)`` clipped to the visible area (zero size if outside)."""
        xs, ys = zip(self.point(left, top), self.point(left + width, top + height), strict=True)
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        cx0, cy0, cx1, cy1 = self.clip
        x0, x1 = min(max(x0, cx0), cx1), min(max(x1, cx0), cx1)
        y0, y1 = min(max(y0, cy0), cy1), min(max(y1, cy0), cy1)
        return x0, y0, x1 - x0, y1 - y0

    def rect(self, r: RectParams) -> RectParams:
        out = _copy_rect(r)
        out.left, out.top, out.width, out.height = self.box(r.left, r.top, r.width, r.height)
        return out

    def text(self, t: TextParams, anchor: tuple[RectParams, RectParams] | None = None) -> TextParams:
        """Move a label. An object's label keeps its offset from the object's box corner (scaled), so it stays
        readable above the box whatever the rotation; other labels move with their anchor point."""
        out = _copy_text(t)
        if anchor is not None and self.flip != 0:
            old, new = anchor
            x, y = new.left + (t.x_offset - old.left) * self.scale, new.top + (t.y_offset - old.top) * self.scale
        else:
            x, y = self.point(t.x_offset, t.y_offset)
        if np.isfinite((x, y)).all():
            out.x_offset, out.y_offset = max(0, int(round(x))), max(0, int(round(y)))
        return out


def remap_frame_meta(fm: FrameMeta, m: np.ndarray, clip: tuple[float, float, float, float], flip: int = 0,
                     batch_id: int | None = None) -> FrameMeta:
    """A copy of ``fm`` whose drawable geometry is mapped through the affine matrix ``m`` (3x3).

    Moved: object ``rect_params``, ``text_params`` offsets and ``mask_params`` (flipped like the frame), and
    every :class:`DisplayMeta` (rects, texts, lines, arrows, circles). Boxes are clipped to ``clip``; objects
    cut off entirely keep zero width/height (they are not removed). Classifier, user meta and detector/tracker
    boxes are shared with the original, unchanged. The copy makes a ``tee`` upstream safe: the other branch
    keeps the original coordinates.
    """
    mp = _Mapper(m, clip, flip)
    out = dataclasses.replace(fm, obj_meta_list=[], display_meta_list=[],
                              frame_user_meta_list=list(fm.frame_user_meta_list), misc_frame_info=list(fm.misc_frame_info))
    if batch_id is not None:
        out.batch_id = batch_id
    mapping: dict[int, ObjectMeta] = {}
    for obj in fm.obj_meta_list:
        rect = mp.rect(obj.rect_params)
        new = dataclasses.replace(obj, rect_params=rect, text_params=mp.text(obj.text_params, (obj.rect_params, rect)),
                                  classifier_meta_list=list(obj.classifier_meta_list),
                                  obj_user_meta_list=list(obj.obj_user_meta_list), misc_obj_info=list(obj.misc_obj_info))
        if obj.mask_params.data is not None:
            new.mask_params = dataclasses.replace(obj.mask_params, data=flip_frame(np.asarray(obj.mask_params.data), flip))
            new.mask_params.height, new.mask_params.width = new.mask_params.data.shape[:2]
        mapping[id(obj)] = new
        out.obj_meta_list.append(new)
    for new in out.obj_meta_list:
        if new.parent is not None:
            new.parent = mapping.get(id(new.parent), new.parent)
    for dm in fm.display_meta_list:
        nd = DisplayMeta(user_data=dm.user_data)
        nd.rect_params = [mp.rect(r) for r in dm.rect_params]
        nd.text_params = [mp.text(t) for t in dm.text_params]
        for lp in dm.line_params:
            n = dataclasses.replace(lp, line_color=lp.line_color.copy())
            (n.x1, n.y1), (n.x2, n.y2) = mp.ipoint(lp.x1, lp.y1), mp.ipoint(lp.x2, lp.y2)
            nd.line_params.append(n)
        for ap in dm.arrow_params:
            n = dataclasses.replace(ap, arrow_color=ap.arrow_color.copy())
            (n.x1, n.y1), (n.x2, n.y2) = mp.ipoint(ap.x1, ap.y1), mp.ipoint(ap.x2, ap.y2)
            nd.arrow_params.append(n)
        for cp in dm.circle_params:
            n = dataclasses.replace(cp, circle_color=cp.circle_color.copy(), bg_color=cp.bg_color.copy())
            n.xc, n.yc = mp.ipoint(cp.xc, cp.yc)
            n.radius = max(1, int(round(cp.radius * mp.scale))) if cp.radius > 0 else 0
            nd.circle_params.append(n)
        out.display_meta_list.append(nd)
    return out


# --- the converter ------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ConvertPlan:
    """What :class:`VideoConverter` does to a frame of one size: ``crop`` (x, y, w, h) or None, then
    ``flip`` (a flip-method; ``flipped_size`` after it), scaled into ``dest`` (x, y, w, h) of an
    ``out_size`` frame; ``matrix`` maps input pixel coordinates to output ones."""

    crop: tuple[int, int, int, int] | None
    flip: int
    flipped_size: tuple[int, int]
    dest: tuple[int, int, int, int]
    out_size: tuple[int, int]
    matrix: np.ndarray


class VideoConverter:
    """Converts frames: source crop → flip/rotate → scale into the destination rectangle → pixel format.

    API: ``VideoConverter(out_format=None, width=None, height=None, src_crop=None, dest_crop=None,
    flip_method=0, interpolation=cv2.INTER_LINEAR)``; ``convert_frame(frame, fmt)`` returns
    ``(out_frame, matrix)`` and ``convert(frames, fmt, batch_meta)`` returns ``(frames, batch_meta)`` where the
    returned :class:`BatchMeta` is a copy with boxes, labels, masks and display meta mapped into the output
    frames (see :func:`remap_frame_meta`). ``None`` for format/width/height keeps the input's (after crop and
    rotation); when only one of width/height is given the other keeps the aspect ratio. Crops are
    ``(left, top, width, height)`` tuples, clamped to the image. The part of the output outside
    ``dest_crop`` is black.

    >>> import numpy as np
    >>> conv = VideoConverter("BGR", 320, 180)
    >>> frame = np.zeros((360, 640, 3), np.uint8); frame[..., 0] = 255          # pure red in RGB
    >>> out, m = conv.convert_frame(frame, "RGB")
    >>> out.shape, out[0, 0].tolist(), float(m[0, 0])
    ((180, 320, 3), [0, 0, 255], 0.5)
    """

    def __init__(self, out_format: str | None = None, width: int | None = None, height: int | None = None,
                 src_crop: tuple[int, int, int, int] | None = None, dest_crop: tuple[int, int, int, int] | None = None,
                 flip_method: int = 0, interpolation: int = cv2.INTER_LINEAR):
        if out_format is not None:
            check_format(out_format)
        self.out_format = out_format
        self.width, self.height = width, height
        self.src_crop, self.dest_crop = src_crop, dest_crop
        self.flip_method = int(flip_method)
        self.interpolation = interpolation

    def is_identity(self, fmt: str, width: int, height: int) -> bool:
        """True when frames of this format and size would come out unchanged."""
        return (self.src_crop is None and self.dest_crop is None and self.flip_method == 0
                and (self.out_format is None or self.out_format == fmt)
                and self.output_size(width, height) == (width, height))

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """Output ``(width, height)`` for an input frame of ``width x height``."""
        if self.src_crop is not None:
            x, y, w, h = self._clamp(self.src_crop, width, height, "src-crop")
            width, height = w, h
        if self.flip_method in _SWAPS_AXES:
            width, height = height, width
        ow, oh = self.width, self.height
        if ow and not oh:
            oh = max(1, int(round(ow * height / width)))
        elif oh and not ow:
            ow = max(1, int(round(oh * width / height)))
        return int(ow or width), int(oh or height)

    @staticmethod
    def _clamp(crop: tuple[int, int, int, int], width: int, height: int, what: str) -> tuple[int, int, int, int]:
        x, y, w, h = crop
        x0, y0 = min(x, width), min(y, height)
        x1, y1 = min(x + w, width), min(y + h, height)
        if x1 <= x0 or y1 <= y0:
            raise ElementError(f"{what} {x}:{y}:{w}:{h} lies outside the {width}x{height} frame")
        return x0, y0, x1 - x0, y1 - y0

    def plan(self, in_w: int, in_h: int) -> ConvertPlan:
        """The geometry for a ``in_w x in_h`` input: what is cropped, flipped, scaled and placed where, and the
        3x3 matrix mapping input pixel coordinates to output ones (shared by the CPU and GPU converters)."""
        out_w, out_h = self.output_size(in_w, in_h)
        m = np.eye(3)
        crop = None
        w, h = in_w, in_h
        if self.src_crop is not None:
            crop = self._clamp(self.src_crop, in_w, in_h, "src-crop")
            w, h = crop[2], crop[3]
            m = _translate(-crop[0], -crop[1]) @ m
        if self.flip_method:
            m = flip_matrix(self.flip_method, w, h) @ m
            if self.flip_method in _SWAPS_AXES:
                w, h = h, w
        if self.dest_crop is not None:
            dest = self._clamp(self.dest_crop, out_w, out_h, "dest-crop")
        else:
            dest = (0, 0, out_w, out_h)
        if (dest[2], dest[3]) != (w, h):
            m = _scale(dest[2] / w, dest[3] / h) @ m
        if self.dest_crop is not None:
            m = _translate(dest[0], dest[1]) @ m
        return ConvertPlan(crop, self.flip_method, (w, h), dest, (out_w, out_h), m)

    def convert_frame(self, frame: np.ndarray, fmt: str) -> tuple[np.ndarray, np.ndarray]:
        """Convert one frame; returns it with the 3x3 matrix mapping input pixel coordinates to output ones."""
        in_w, in_h = frame_size(frame, fmt)
        out_fmt = self.out_format or fmt
        work, wfmt = frame, fmt
        if canonical_format(fmt) in ("NV12", "I420"):
            if self.is_identity(fmt, in_w, in_h):
                return frame, np.eye(3)
            work, wfmt = convert_color(frame, fmt, "RGB"), "RGB"
        p = self.plan(in_w, in_h)
        if p.crop is not None:
            x, y, w, h = p.crop
            work = work[y:y + h, x:x + w]
        work = flip_frame(work, p.flip)
        dx, dy, dw, dh = p.dest
        if (dw, dh) != p.flipped_size:
            work = cv2.resize(work, (dw, dh), interpolation=self.interpolation)
        if self.dest_crop is not None:
            canvas = np.zeros((p.out_size[1], p.out_size[0]) + work.shape[2:], work.dtype)
            canvas[dy:dy + dh, dx:dx + dw] = work
            work = canvas
        work = convert_color(work, wfmt, out_fmt)
        if canonical_format(out_fmt) in ("NV12", "I420") and (p.out_size[0] % 2 or p.out_size[1] % 2):
            raise ElementError(f"{out_fmt} needs an even width and height, got {p.out_size[0]}x{p.out_size[1]}")
        return np.ascontiguousarray(work), p.matrix

    def convert(self, frames, fmt: str, batch_meta: BatchMeta | None = None):
        """Convert every frame of a batch; returns ``(frames, batch_meta)`` (a ``(B, H, W, C)`` array when the
        outputs share a size, else a list) and the remapped batch meta (``None`` stays ``None``; when only the
        pixel format changes, the same ``batch_meta`` object is returned)."""
        outs, mats = [], []
        for frame in frames:
            o, mat = self.convert_frame(frame, fmt)
            outs.append(o)
            mats.append(mat)
        if len(outs) == 1:
            data = outs[0][None]  # a view: no copy for the common single-frame buffer
        elif outs and all(o.shape == outs[0].shape for o in outs):
            data = np.stack(outs)
        else:
            data = outs
        out_fmt = self.out_format or fmt
        return data, self.remap_batch(batch_meta, mats, [frame_size(o, out_fmt) for o in outs])

    def remap_batch(self, batch_meta: BatchMeta | None, mats: list[np.ndarray],
                    sizes: list[tuple[int, int]]) -> BatchMeta | None:
        """``batch_meta`` with each frame's geometry mapped through ``mats[batch_id]`` and clipped to
        ``sizes[batch_id]`` (the output frames' ``(width, height)``); the same object when nothing moved."""
        if batch_meta is None:
            return None
        if all(np.array_equal(mat, np.eye(3)) for mat in mats):
            return batch_meta  # only the pixel format changed: the metadata stays the same objects
        new = dataclasses.replace(batch_meta, frame_meta_list=[], batch_user_meta_list=list(batch_meta.batch_user_meta_list))
        for fm in batch_meta.frame_meta_list:
            if not 0 <= fm.batch_id < len(mats):
                raise ElementError(f"frame meta batch_id {fm.batch_id} is outside the buffer's {len(mats)} frame(s)")
            ow, oh = sizes[fm.batch_id]
            new.frame_meta_list.append(remap_frame_meta(fm, mats[fm.batch_id], (0, 0, ow, oh), self.flip_method))
        return new


_MEMORY_TYPES = [(0, "nvbuf-mem-default", "Default memory allocated, specific to particular platform"),
                 (1, "nvbuf-mem-cuda-pinned", "Allocate Pinned/Host cuda memory"),
                 (2, "nvbuf-mem-cuda-device", "Allocate Device cuda memory"),
                 (3, "nvbuf-mem-cuda-unified", "Allocate Unified cuda memory"),
                 (4, "nvbuf-mem-surface-array", "Allocate Surface Array memory")]
COMPUTE_HW = [(0, "Default", "Default, GPU for Tesla, VIC for Jetson"), (1, "GPU", "GPU"), (2, "VIC", "VIC")]
_VIDEOSCALE_METHODS = [(0, "nearest-neighbour", "Nearest Neighbour"), (1, "bilinear", "Bilinear (2-tap)"),
                       (2, "4-tap", "4-tap Sinc"), (3, "lanczos", "Lanczos")]
_VIDEOSCALE_CV = {0: cv2.INTER_NEAREST, 1: cv2.INTER_LINEAR, 2: cv2.INTER_CUBIC, 3: cv2.INTER_LANCZOS4}


@register
class NvVideoConvert(Element):
    """Converts the pixel format and size of raw video to what a downstream caps filter asks for
    (``nvvideoconvert ! video/x-raw(memory:NVMM),format=RGBA,width=640,height=480``), with optional
    ``src-crop``, ``dest-crop`` and ``flip-method``. Scaling a batched buffer also moves its metadata (object
    boxes, labels, masks, display meta) into the new frame coordinates, so an ``nvdsosd`` after it draws in
    the right place. Without a caps filter and with no crop/flip, buffers pass through untouched.
    """

    FACTORY = "nvvideoconvert"
    ALIASES = ("videoconvert", "videoscale", "videoconvertscale", "nvvidconv", "autovideoconvert")
    KLASS = "Filter/Converter/Video/Scaler"
    DESCRIPTION = "Converts video from one colour format to another and scales/crops/flips it"
    PAD_TEMPLATES = (PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw"),
                     PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-raw"))
    PROPERTIES = (
        Property.string("src-crop", "", "Pixel location left:top:width:height of the input image to crop"),
        Property.string("dest-crop", "", "Pixel location left:top:width:height of the output image to draw into"),
        Property.enum("flip-method", 0, "Video flip methods", FLIP_METHODS),
        Property.enum("interpolation-method", 6, "Set interpolation methods", INTERPOLATION_METHODS),
        Property.enum("method", 1, "videoscale: the resampling method (used when set)", _VIDEOSCALE_METHODS),
        Property.uint("gpu-id", 0, "Set GPU Device ID (accepted)"),
        Property.enum("nvbuf-memory-type", 0, "Type of NvBufSurface memory allocated (accepted)", _MEMORY_TYPES),
        Property.enum("compute-hw", 0, "Compute scaling hardware (accepted; GPU batches convert on the GPU)", COMPUTE_HW),
        Property.uint("output-buffers", 4, "Number of output buffers (accepted)"),
        Property.bool("disable-passthrough", False, "Convert even when input and output caps are equal"),
    )

    def property_changed(self, name: str, value) -> None:
        if name in ("src-crop", "dest-crop"):
            parse_crop(value, self.name, name)

    def _converter(self, want: Caps | None) -> VideoConverter:
        pr = self._props
        interp = (_VIDEOSCALE_CV[pr["method"]] if "method" in self._set_props
                  else CV_INTERPOLATION[pr["interpolation-method"]])
        fmt = width = height = None
        if want is not None and not want.is_any:
            if want.media_type != "video/x-raw":
                raise ElementError(f"cannot convert video/x-raw to {want.media_type}")
            fmt = want.get("format")
            if fmt is not None:
                check_format(str(fmt), self.name)
            width, height = want.get("width"), want.get("height")
            for key, v in (("width", width), ("height", height)):
                if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v <= 0):
                    raise ElementError(f"the caps after the converter ask for {key}={v!r}: expected a positive integer")
        return VideoConverter(fmt, width, height, parse_crop(pr["src-crop"], self.name, "src-crop"),
                              parse_crop(pr["dest-crop"], self.name, "dest-crop"), pr["flip-method"], interp)

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        caps = buffer.caps
        if caps is not None and caps.media_type != "video/x-raw":
            raise ElementError(f"nvvideoconvert converts raw video, got {caps.media_type}")
        want = self.downstream_caps()
        conv = self._converter(want)
        fmt = buffer_format(caps)
        features = want.features if want is not None and not want.is_any else (caps.features if caps else ())
        if is_gpu_data(buffer.data) and "memory:NVMM" in features:
            from vistream.gpu.convert import batch_frame_size, gpu_convertible

            out_fmt = conv.out_format or fmt
            if gpu_convertible(fmt, out_fmt) or (canonical_format(fmt) == canonical_format(out_fmt)
                                                 and conv.is_identity(fmt, *batch_frame_size(buffer.data, fmt))):
                return self._chain_gpu(buffer, conv, fmt, features, want)
        download_buffer(buffer)  # a GPU batch to host memory (caps without memory:NVMM), or an NV12/I420 output
        caps = buffer.caps
        if want is None or want.is_any:
            features = caps.features if caps else ()
        frames = buffer.data
        if frames is None or len(frames) == 0:
            return self.push(buffer)
        w0, h0 = frame_size(frames[0], fmt)
        if conv.is_identity(fmt, w0, h0) and all(frame_size(f, fmt) == (w0, h0) for f in frames) \
                and not self._props["disable-passthrough"]:
            return self._push_unchanged(buffer, features)
        data, meta = conv.convert(frames, fmt, buffer.batch_meta)
        out_fmt = conv.out_format or fmt
        ow, oh = frame_size(data[0], out_fmt)
        return self.push(self._output(buffer, data, meta, out_fmt, ow, oh, features, want))

    def _chain_gpu(self, buffer: Buffer, conv: VideoConverter, fmt: str, features, want: Caps | None) -> FlowReturn:
        """A CUDA batch converted on the GPU (``memory:NVMM`` downstream): the output stays in GPU memory."""
        from vistream.gpu.convert import convert_gpu_batch

        data = buffer.data
        out_fmt = conv.out_format or fmt
        if len(data) == 0:
            return self.push(buffer)
        if self._props["disable-passthrough"] and canonical_format(out_fmt) == canonical_format(fmt):
            data = data.clone()  # a converted copy even when nothing changes
        out, m = convert_gpu_batch(conv, data, fmt)
        if out is buffer.data:
            return self._push_unchanged(buffer, features)
        oh, ow = out.shape[1], out.shape[2]
        meta = conv.remap_batch(buffer.batch_meta, [m] * out.shape[0], [(ow, oh)] * out.shape[0])
        return self.push(self._output(buffer, out, meta, out_fmt, ow, oh, features, want))

    def _push_unchanged(self, buffer: Buffer, features) -> FlowReturn:
        """Pass ``buffer`` through, its caps taking the memory features asked for downstream."""
        if buffer.caps is not None and tuple(buffer.caps.features) != tuple(features):
            buffer.caps = buffer.caps.copy()
            buffer.caps.features = tuple(features)
        return self.push(buffer)

    @staticmethod
    def _output(buffer: Buffer, data, meta, out_fmt: str, ow: int, oh: int, features, want: Caps | None) -> Buffer:
        caps = buffer.caps
        out_caps = Caps("video/x-raw", tuple(features), **(dict(caps.fields) if caps is not None else {}))
        out_caps.fields.update({"format": out_fmt, "width": ow, "height": oh})
        if want is not None and isinstance(want.get("framerate"), Fraction) and "framerate" not in out_caps.fields:
            out_caps.fields["framerate"] = want.get("framerate")
        out = Buffer(data, pts=buffer.pts, duration=buffer.duration, caps=out_caps, batch_meta=meta,
                     source_id=buffer.source_id, frame_num=buffer.frame_num, dts=buffer.dts, flags=buffer.flags)
        out.extra.update(buffer.extra)
        return out
