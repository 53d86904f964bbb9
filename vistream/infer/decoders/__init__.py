"""Built-in output decoders, one module per model family.

Detector decoders share one signature: ``decode(outputs, net, num_classes, min_score) -> (xyxy, scores,
class_ids)`` where ``outputs`` maps output names to one image's tensors (batch dimension removed), ``net`` is
the :class:`~vistream.infer.types.NetworkInfo` and boxes are in network-input pixels, before clustering.

``parse-bbox-func-name`` picks one by name (DeepStream's and DeepStream-Yolo's names work too); when it is
empty the family is recognised from the output shapes (see :func:`detect_family`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from vistream.infer.decoders.detectnet import decode_detectnet_v2, find_detectnet_layers
from vistream.infer.decoders.ssd import decode_ssd, find_ssd_layers
from vistream.infer.decoders.yolo import (
    decode_yolo_nms,
    decode_yolov5,
    decode_yolov8,
    decode_yolox,
    yolox_anchor_count,
)
from vistream.infer.types import NetworkInfo

DetectorDecoder = Callable[[Mapping[str, np.ndarray], NetworkInfo, int, float],
                           tuple[np.ndarray, np.ndarray, np.ndarray]]

DETECTORS: dict[str, DetectorDecoder] = {
    "detectnet_v2": decode_detectnet_v2,
    "yolox": decode_yolox,
    "yolov5": decode_yolov5,
    "yolov8": decode_yolov8,
    "yolo_nms": decode_yolo_nms,
    "ssd": decode_ssd,
}
# Names used by DeepStream, its samples and DeepStream-Yolo -> built-in family.
ALIASES = {
    "nvdsinferparsecustomresnet": "detectnet_v2", "nvdsinferparsecustomtlt": "detectnet_v2",
    "nvdsinferparsecustomdetectnetv2": "detectnet_v2", "detectnet": "detectnet_v2",
    "nvdsinferparseyolox": "yolox", "nvdsinferparsecustomyolox": "yolox",
    "nvdsinferparseyolov5": "yolov5", "nvdsinferparseyolo": "yolov5", "nvdsinferparsecustomyolov5": "yolov5",
    "nvdsinferparseyolov8": "yolov8", "nvdsinferparsecustomyolov8": "yolov8",
    "nvdsinferparseyolonms": "yolo_nms", "nvdsinferparsecustombatchednms": "yolo_nms",
    "nvdsinferparsecustomefficientnms": "yolo_nms",
    "nvdsinferparsecustomssd": "ssd", "nvdsinferparsecustomtfssd": "ssd", "nvdsinferparseultraface": "ssd",
    "ultraface": "ssd",
}


def builtin_detector(name: str) -> str | None:
    """The built-in family a ``parse-bbox-func-name`` value names, or None."""
    key = name.strip().lower()
    return key if key in DETECTORS else ALIASES.get(key)


def detect_family(output_shapes: Mapping[str, tuple], net: NetworkInfo, num_classes: int) -> str | None:
    """Recognise the decoder from output shapes (batch dimension removed); None if unknown."""
    shapes = {k: tuple(v) for k, v in output_shapes.items()}
    if find_detectnet_layers(shapes, num_classes) is not None:
        return "detectnet_v2"
    if find_ssd_layers(shapes) is not None:
        return "ssd"
    if len(shapes) == 4:
        return "yolo_nms"
    if len(shapes) == 1:
        (shape,) = shapes.values()
        if len(shape) == 2:
            n, k = shape
            if k in (6, 7) and (num_classes == 0 or num_classes + 5 != k):
                return "yolo_nms"
            if n is not None and k is not None and n < k:
                return "yolov8"
            if n == yolox_anchor_count(net):
                return "yolox"
            return "yolov5"
    return None


__all__ = ["ALIASES", "DETECTORS", "builtin_detector", "detect_family"]
