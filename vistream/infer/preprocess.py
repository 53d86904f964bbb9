"""Vectorised pre-processing: crop, colour conversion, resize (plain or letterbox), normalise into a batch.

Each image (a frame or an object crop) costs one ``cv2.resize`` and a few whole-array NumPy operations, written
straight into a preallocated float32 batch; the batch is reused across calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vistream.infer.config import COLOR_BGR, COLOR_GRAY, InferConfig

# scaling-filter (NvBufSurfTransform_Inter) -> OpenCV interpolation
INTERPOLATION = {
    0: cv2.INTER_NEAREST,  # Nearest
    1: cv2.INTER_LINEAR,  # Bilinear
    2: cv2.INTER_CUBIC,  # Algo1 (GPU cubic)
    3: cv2.INTER_AREA,  # Algo2 (GPU super-sampling)
    4: cv2.INTER_LANCZOS4,  # Algo3 (GPU Lanczos)
    5: cv2.INTER_LANCZOS4,  # Algo4 (GPU ignored / VIC smart)
    6: cv2.INTER_LINEAR,  # Default
}


@dataclass(frozen=True, slots=True)
class Transform:
    """Maps network-input pixels back to frame pixels: ``x_frame = (x_net - pad_x) / scale_x + offset_x``."""

    scale_x: float
    scale_y: float
    pad_x: float = 0.0
    pad_y: float = 0.0
    offset_x: float = 0.0
    offset_y: float = 0.0
    # the region of the frame that was fed to the network (x1, y1, x2, y2), for clipping
    src_w: float = 0.0
    src_h: float = 0.0

    def to_frame(self, xyxy: np.ndarray) -> np.ndarray:
        """Boxes ``(N, 4)`` in network pixels -> frame pixels, clipped to the source region."""
        out = np.empty_like(xyxy, dtype=np.float32)
        out[:, 0::2] = (xyxy[:, 0::2] - self.pad_x) / self.scale_x
        out[:, 1::2] = (xyxy[:, 1::2] - self.pad_y) / self.scale_y
        np.clip(out[:, 0::2], 0.0, self.src_w, out=out[:, 0::2])
        np.clip(out[:, 1::2], 0.0, self.src_h, out=out[:, 1::2])
        out[:, 0::2] += self.offset_x
        out[:, 1::2] += self.offset_y
        return out

    @staticmethod
    def common(transforms: list[Transform]) -> Transform | None:
        """The one transform every image of a batch shares (same frame size: a GPU batch), else None."""
        return transforms[0] if transforms and all(tf is transforms[0] for tf in transforms) else None

    @staticmethod
    def to_frame_many(xyxy: np.ndarray, transforms: list[Transform], index: np.ndarray) -> np.ndarray:
        """:meth:`to_frame` for boxes of several images at once: row ``k`` uses ``transforms[index[k]]``
        (the same float32 arithmetic, so the same pixels)."""
        shared = Transform.common(transforms)
        if shared is not None:
            return shared.to_frame(xyxy)
        p = np.array([(tf.pad_x, tf.pad_y, tf.scale_x, tf.scale_y, tf.src_w, tf.src_h, tf.offset_x, tf.offset_y)
                      for tf in transforms], np.float32).reshape(-1, 8)[index]
        out = np.empty_like(xyxy, dtype=np.float32)
        out[:, 0::2] = (xyxy[:, 0::2] - p[:, 0:1]) / p[:, 2:3]
        out[:, 1::2] = (xyxy[:, 1::2] - p[:, 1:2]) / p[:, 3:4]
        np.clip(out[:, 0::2], 0.0, p[:, 4:5], out=out[:, 0::2])
        np.clip(out[:, 1::2], 0.0, p[:, 5:6], out=out[:, 1::2])
        out[:, 0::2] += p[:, 6:7]
        out[:, 1::2] += p[:, 7:8]
        return out


class Preprocessor:
    """Turns RGB uint8 images into the network's input batch.

    ``net_w``/``net_h``/``channels`` come from the model (or ``infer-dims``); ``nhwc`` from
    ``network-input-order``. Pixel values become ``(pixel - offsets[c]) * net-scale-factor`` in the model's
    colour format (``model-color-format``). With ``maintain-aspect-ratio=1`` the image is scaled to fit and
    padded with ``pad-value`` (at the bottom/right, or both sides with ``symmetric-padding=1``).
    """

    def __init__(self, cfg: InferConfig, net_w: int, net_h: int, channels: int, nhwc: bool) -> None:
        self.net_w, self.net_h, self.channels, self.nhwc = net_w, net_h, channels, nhwc
        self.color = cfg.model_color_format
        self.scale = np.float32(cfg.net_scale_factor)
        offs = list(cfg.offsets) or [0.0]
        if len(offs) == 1:
            offs = offs * channels
        if len(offs) != channels:
            raise ValueError(f"offsets has {len(offs)} values but the network takes {channels} channels")
        self.offsets = np.asarray(offs, np.float32)
        self.keep_aspect = bool(cfg.maintain_aspect_ratio)
        self.symmetric = bool(cfg.symmetric_padding)
        self.interp = INTERPOLATION[cfg.scaling_filter]
        self.pad_norm = (np.float32(cfg.pad_value) - self.offsets) * self.scale
        self._batch = np.zeros((0,), np.float32)

    def _shape(self, n: int) -> tuple[int, int, int, int]:
        return (n, self.net_h, self.net_w, self.channels) if self.nhwc else (n, self.channels, self.net_h, self.net_w)

    def _buffer(self, n: int) -> np.ndarray:
        if self._batch.shape[0] < n:
            self._batch = np.zeros(self._shape(n), np.float32)
        return self._batch[:n]  # callers slice; never reallocated while a slice is being inferred

    def new_batch(self, n: int) -> np.ndarray:
        """A separate (uninitialised) batch array of ``n`` images in the network's layout."""
        return np.empty(self._shape(n), np.float32)

    def reserve(self, n: int) -> np.ndarray:
        """The preallocated batch, grown to hold at least ``n`` images (contents are kept only if not grown)."""
        return self._buffer(n)

    def __call__(self, images: list[np.ndarray], rois: list[tuple[int, int, int, int]] | None = None,
                 start: int = 0, out: np.ndarray | None = None) -> tuple[np.ndarray, list[Transform]]:
        """Fill batch slots ``start..start+len(images)`` from ``images`` (HxWx3 RGB uint8), each optionally
        cropped to ``rois[i]`` (x1,y1,x2,y2 integer pixels, already clipped to the image). Returns that view of
        the batch and one :class:`Transform` per image. Call :meth:`reserve` first when ``start > 0``.
        ``out`` (from :meth:`new_batch`) is filled instead of the shared batch: for batches still in flight."""
        batch = out if out is not None else self._buffer(start + len(images))[start:]
        transforms = []
        for i, img in enumerate(images):
            if rois is not None:
                x1, y1, x2, y2 = rois[i]
                src = img[y1:y2, x1:x2]
            else:
                x1 = y1 = 0
                src = img
            transforms.append(self._fill(batch[i], src, x1, y1))
        return batch, transforms

    def _fill(self, dst: np.ndarray, src: np.ndarray, off_x: int, off_y: int) -> Transform:
        h, w = src.shape[:2]
        if self.keep_aspect:
            r = min(self.net_w / w, self.net_h / h)
            nw, nh = max(1, min(self.net_w, int(w * r))), max(1, min(self.net_h, int(h * r)))
        else:
            nw, nh = self.net_w, self.net_h
        px = (self.net_w - nw) // 2 if self.symmetric else 0
        py = (self.net_h - nh) // 2 if self.symmetric else 0
        pix = cv2.resize(src, (nw, nh), interpolation=self.interp) if (nw, nh) != (w, h) else src
        if self.color == COLOR_GRAY:
            pix = cv2.cvtColor(np.ascontiguousarray(pix), cv2.COLOR_RGB2GRAY)[:, :, None]
        region = (slice(py, py + nh), slice(px, px + nw))
        if (nw, nh) != (self.net_w, self.net_h):
            # Only the padding strips get the pad value; the image area is written once below.
            strips = [(slice(0, py), slice(None)), (slice(py + nh, None), slice(None)),
                      (slice(py, py + nh), slice(0, px)), (slice(py, py + nh), slice(px + nw, None))]
            for ys, xs in strips:
                if self.nhwc:
                    dst[ys, xs] = self.pad_norm
                else:
                    dst[:, ys, xs] = self.pad_norm[:, None, None]
        if self.nhwc:
            out = dst[region]
            np.subtract(pix[:, :, ::-1] if self.color == COLOR_BGR else pix, self.offsets, out=out, dtype=np.float32)
            if self.scale != 1.0:
                np.multiply(out, self.scale, out=out)
        else:
            # Planar copies first (cv2.split): contiguous planes make the per-channel float pass ~2x faster.
            planes = cv2.split(np.ascontiguousarray(pix)) if self.channels > 1 else [pix[:, :, 0]]
            if self.color == COLOR_BGR:
                planes = planes[::-1]
            for c, plane in enumerate(planes):
                out = dst[(c,) + region]
                np.subtract(plane, self.offsets[c], out=out, dtype=np.float32)
                if self.scale != 1.0:
                    np.multiply(out, self.scale, out=out)
        return Transform(nw / w, nh / h, px, py, off_x, off_y, float(w), float(h))
