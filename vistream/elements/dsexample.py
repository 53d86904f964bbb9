"""dsexample: DeepStream's sample custom element, written in Python as a model for your own elements.

It does two genuinely useful things with no model at all:

* ``full-frame=true`` (default) — **camera health**: per frame, the mean brightness, contrast and sharpness
  (Laplacian edge energy relative to contrast) at ``processing-width x processing-height``; it attaches one full-frame
  object whose classifier meta says ``dark``/``normal``/``bright`` and ``sharp``/``blurry`` (a covered,
  unlit or out-of-focus camera shows at once), and a frame user meta :data:`FRAME_STATS_META` with the
  numbers.
* ``full-frame=false`` — **dominant colour** of each object: the object's crop, scaled to the processing
  size, is classified pixel by pixel (HSV) into :data:`COLOR_NAMES`; the most frequent name becomes a
  :class:`ClassifierMeta` on the object (``result_prob`` is its pixel share) and is appended to its label.

``blur-objects=true`` blurs every object's box in the frame (privacy masking of faces or plates).
"""

from __future__ import annotations

import cv2
import numpy as np

from vistream.core.buffer import Buffer, FlowReturn
from vistream.core.element import Element, register
from vistream.core.errors import ElementError
from vistream.core.pad import Pad, PadDirection, PadPresence, PadTemplate
from vistream.core.props import Property
from vistream.elements.video import buffer_format, convert_color, download_buffer
from vistream.meta import (
    BaseMeta,
    BatchMeta,
    ClassifierMeta,
    ColorParams,
    FrameMeta,
    LabelInfo,
    MetaType,
    ObjectMeta,
    UserMeta,
)

FRAME_STATS_META = MetaType.START_USER_META + 0x0D5E  # frame user meta type of dsexample's statistics
COLOR_NAMES = ("black", "white", "gray", "red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink")
BRIGHTNESS_NAMES = ("dark", "normal", "bright")
FOCUS_NAMES = ("sharp", "blurry")
DARK_BELOW, BRIGHT_ABOVE = 50.0, 200.0  # mean luma (0..255) thresholds
BLURRY_BELOW = 0.08  # sharpness (edge energy / contrast, at the processing size) below which a frame is blurry
FULL_FRAME_CLASS_ID = 0


def luma(frame: np.ndarray, fmt: str) -> np.ndarray:
    """The frame's 8-bit luma (BT.601)."""
    if fmt == "GRAY8":
        return frame if frame.ndim == 2 else frame[:, :, 0]
    if fmt in ("NV12", "I420"):
        return frame[: frame.shape[0] * 2 // 3]  # the Y plane
    return convert_color(frame, fmt, "GRAY8")


def frame_stats(gray: np.ndarray) -> dict[str, float]:
    """Statistics of a grayscale image: ``brightness`` (mean luma), ``contrast`` (its standard deviation),
    ``laplacian_var`` (variance of the Laplacian: edge energy) and ``sharpness`` = sqrt(laplacian_var) / contrast,
    which does not change when the picture is darker or flatter, only when it loses detail (defocus, fog, a
    smeared lens)."""
    mean, std = cv2.meanStdDev(gray)
    lap_var = float(cv2.Laplacian(gray, cv2.CV_32F).var())
    contrast = float(std[0, 0])
    return {"brightness": float(mean[0, 0]), "contrast": contrast, "laplacian_var": lap_var,
            "sharpness": float(np.sqrt(lap_var) / contrast) if contrast > 0.5 else 0.0}


def color_histogram(rgb: np.ndarray) -> np.ndarray:
    """Pixel counts per :data:`COLOR_NAMES` entry for an RGB image (vectorised HSV rules)."""
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV_FULL)  # H, S, V all 0..255
    h = hsv[..., 0].astype(np.int32) * 360 // 256
    s, v = hsv[..., 1].astype(np.int32), hsv[..., 2].astype(np.int32)
    names = np.full(h.shape, COLOR_NAMES.index("gray"), np.int8)
    chromatic = (s >= 64) & (v >= 50)
    hue_bins = np.array([15, 40, 70, 160, 200, 260, 295, 335, 360])  # upper hue edge of each colour
    hue_names = np.array([COLOR_NAMES.index(n) for n in
                          ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "red")], np.int8)
    names[chromatic] = hue_names[np.searchsorted(hue_bins, h[chromatic], side="right").clip(0, len(hue_bins) - 1)]
    names[~chromatic & (v >= 200) & (s < 40)] = COLOR_NAMES.index("white")
    names[v < 50] = COLOR_NAMES.index("black")
    return np.bincount(names.ravel(), minlength=len(COLOR_NAMES))


class DsExample:
    """The processing behind the ``dsexample`` element, usable on its own.

    API: ``DsExample(full_frame=True, blur_objects=False, processing_width=640, processing_height=480,
    unique_id=15)`` then ``process(frames, fmt, batch_meta)``: updates ``batch_meta`` (and, with
    ``blur_objects``, the frames) in place and returns the number of metas attached.

    >>> import numpy as np
    >>> from vistream.meta import BaseMeta, BatchMeta, FrameMeta
    >>> frames = np.full((1, 90, 160, 3), 20, np.uint8)            # a very dark frame
    >>> bm = BatchMeta(frame_meta_list=[FrameMeta(batch_id=0)])
    >>> DsExample().process(frames, "RGB", bm)
    1
    >>> obj = bm.frame_meta_list[0].obj_meta_list[0]
    >>> obj.classifier_meta_list[0].label_info_list[0].result_label, obj.text_params.display_text
    ('dark', 'dark blurry (brightness 20)')
    """

    def __init__(self, full_frame: bool = True, blur_objects: bool = False, processing_width: int = 640,
                 processing_height: int = 480, unique_id: int = 15):
        self.full_frame = full_frame
        self.blur_objects = blur_objects
        self.processing_width = int(processing_width)
        self.processing_height = int(processing_height)
        self.unique_id = int(unique_id)

    def process(self, frames, fmt: str, batch_meta: BatchMeta | None) -> int:
        if batch_meta is None:
            raise ElementError("dsexample needs batched buffers with metadata: put nvstreammux before it")
        n = 0
        for fm in batch_meta.frame_meta_list:
            if not 0 <= fm.batch_id < len(frames):
                raise ElementError(f"frame meta batch_id {fm.batch_id} is outside the buffer's {len(frames)} frame(s)")
            frame = frames[fm.batch_id]
            if self.full_frame:
                n += self._full_frame(frame, fmt, fm)
            else:
                n += self._objects(frame, fmt, fm)
            if self.blur_objects:
                self._blur(frame, fmt, fm)
        return n

    # --- full frame: camera health --------------------------------------------------------------------------
    def _full_frame(self, frame: np.ndarray, fmt: str, fm: FrameMeta) -> int:
        gray = luma(frame, fmt)
        small = cv2.resize(gray, (self.processing_width, self.processing_height), interpolation=cv2.INTER_AREA)
        stats = frame_stats(small)
        b = stats["brightness"]
        bright = 0 if b < DARK_BELOW else 2 if b > BRIGHT_ABOVE else 1
        blurry = int(stats["sharpness"] < BLURRY_BELOW)
        h, w = gray.shape[:2]
        obj = ObjectMeta(unique_component_id=self.unique_id, class_id=FULL_FRAME_CLASS_ID, confidence=1.0,
                         obj_label="frame")
        r = obj.rect_params
        r.left, r.top, r.width, r.height, r.border_width = 0.0, 0.0, float(w), float(h), 0
        r.border_color = ColorParams(0.0, 1.0, 1.0, 1.0)
        obj.detector_bbox_info.org_bbox_coords.width, obj.detector_bbox_info.org_bbox_coords.height = float(w), float(h)
        cm = ClassifierMeta(unique_component_id=self.unique_id, classifier_type="dsexample-frame-health")
        cm.label_info_list.append(LabelInfo(BRIGHTNESS_NAMES[bright], bright, b / 255.0, 0, len(BRIGHTNESS_NAMES)))
        cm.label_info_list.append(LabelInfo(FOCUS_NAMES[blurry], blurry, min(1.0, stats["sharpness"]), 1,
                                            len(FOCUS_NAMES)))
        obj.add_classifier_meta(cm)
        obj.text_params.display_text = f"{BRIGHTNESS_NAMES[bright]} {FOCUS_NAMES[blurry]} (brightness {b:.0f})"
        obj.text_params.x_offset, obj.text_params.y_offset = 0, 0
        obj.text_params.set_bg_clr = 1
        obj.text_params.text_bg_clr = ColorParams(0.0, 0.0, 0.0, 0.6)
        fm.add_obj_meta(obj)
        fm.add_user_meta(UserMeta(dict(stats, unique_id=self.unique_id), BaseMeta(int(FRAME_STATS_META))))
        return 1

    # --- per object: dominant colour ------------------------------------------------------------------------
    def _objects(self, frame: np.ndarray, fmt: str, fm: FrameMeta) -> int:
        n = 0
        rgb = None
        for obj in fm.obj_meta_list:
            if obj.unique_component_id == self.unique_id:
                continue
            if rgb is None:
                rgb = frame if fmt == "RGB" else convert_color(frame, fmt, "RGB")
                if rgb.ndim == 2 or rgb.shape[2] == 1:
                    rgb = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_GRAY2RGB)
            box = _box(obj, rgb.shape[1], rgb.shape[0])
            if box is None:
                continue
            x0, y0, x1, y1 = box
            crop = cv2.resize(rgb[y0:y1, x0:x1], (self.processing_width, self.processing_height),
                              interpolation=cv2.INTER_AREA)
            hist = color_histogram(crop)
            best = int(hist.argmax())
            cm = ClassifierMeta(unique_component_id=self.unique_id, classifier_type="dsexample-color")
            cm.label_info_list.append(LabelInfo(COLOR_NAMES[best], best, float(hist[best] / hist.sum()), 0,
                                                len(COLOR_NAMES)))
            obj.add_classifier_meta(cm)
            text = obj.text_params.display_text
            obj.text_params.display_text = f"{text} {COLOR_NAMES[best]}" if text else COLOR_NAMES[best]
            n += 1
        return n

    def _blur(self, frame: np.ndarray, fmt: str, fm: FrameMeta) -> None:
        if fmt in ("NV12", "I420"):
            raise ElementError(f"blur-objects needs a packed RGB/BGR/GRAY format, got {fmt}: convert first")
        for obj in fm.obj_meta_list:
            if obj.unique_component_id == self.unique_id and self.full_frame:
                continue  # never blur the whole frame for our own full-frame object
            box = _box(obj, frame.shape[1], frame.shape[0])
            if box is None:
                continue
            x0, y0, x1, y1 = box
            roi = frame[y0:y1, x0:x1]
            k = max(3, (min(x1 - x0, y1 - y0) // 4) | 1)  # odd kernel ~ a quarter of the box: unreadable
            roi[...] = cv2.GaussianBlur(roi, (k, k), 0).reshape(roi.shape)


def _box(obj: ObjectMeta, width: int, height: int) -> tuple[int, int, int, int] | None:
    r = obj.rect_params
    x0, y0 = max(0, int(np.floor(r.left))), max(0, int(np.floor(r.top)))
    x1, y1 = min(width, int(np.ceil(r.left + r.width))), min(height, int(np.ceil(r.top + r.height)))
    return (x0, y0, x1, y1) if x1 - x0 >= 2 and y1 - y0 >= 2 else None


@register
class DsExampleElement(Element):
    """Sample custom element (DeepStream's ``dsexample``): frame health with ``full-frame=true``, dominant
    object colour with ``full-frame=false``, object blurring with ``blur-objects=true``.

    Writing your own element takes the same few steps: subclass :class:`~vistream.core.Element`, declare
    ``FACTORY``, ``PAD_TEMPLATES`` and typed ``PROPERTIES``, implement ``chain(pad, buffer)`` (work on
    ``buffer.data[frame_meta.batch_id]`` and ``buffer.batch_meta``) and end with ``self.push(buffer)``;
    decorate with ``@register`` so launch strings find it.
    """

    FACTORY = "dsexample"
    KLASS = "Filter/Video"
    DESCRIPTION = "Sample custom element: frame health, dominant object colour, object blurring"
    PAD_TEMPLATES = (PadTemplate("sink", PadDirection.SINK, PadPresence.ALWAYS, "video/x-raw"),
                     PadTemplate("src", PadDirection.SRC, PadPresence.ALWAYS, "video/x-raw"))
    PROPERTIES = (
        Property.uint("unique-id", 15, "Unique ID for the element. Can be used to identify output of the element"),
        Property.int("processing-width", 640, "Width of the input buffer to algorithm", 1, 10000),
        Property.int("processing-height", 480, "Height of the input buffer to algorithm", 1, 10000),
        Property.bool("full-frame", True, "Enable to process full frame or disable to process objects detected "
                                          "by primary detector"),
        Property.bool("blur-objects", False, "Enable to blur the objects detected in full-frame=0 mode"),
        Property.uint("gpu-id", 0, "Set GPU Device ID (accepted)"),
        Property.uint("batch-size", 1, "Maximum batch size for processing (accepted)"),
    )

    def chain(self, pad: Pad, buffer: Buffer) -> FlowReturn:
        download_buffer(buffer)  # a GPU batch is drawn/converted on a host copy
        pr = self._props
        core = DsExample(pr["full-frame"], pr["blur-objects"], pr["processing-width"], pr["processing-height"],
                         pr["unique-id"])
        frames = buffer.data
        if pr["blur-objects"] and isinstance(frames, np.ndarray) and not frames.flags.writeable:
            frames = buffer.data = frames.copy()
        core.process(frames, buffer_format(buffer.caps), buffer.batch_meta)
        return self.push(buffer)
