"""Data types shared by decoders, custom parsers and the metadata the engine attaches (DeepStream names)."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    """``NvDsInferNetworkInfo``: the network input size."""

    width: int
    height: int
    channels: int


@dataclass(slots=True)
class LayerInfo:
    """``NvDsInferLayerInfo``: one output tensor of one image (batch dimension removed)."""

    layerName: str  # noqa: N815 - DeepStream name
    buffer: np.ndarray

    @property
    def dims(self) -> tuple[int, ...]:
        return tuple(self.buffer.shape)

    @property
    def inferDims(self) -> tuple[int, ...]:  # noqa: N802 - DeepStream name
        return self.dims


@dataclass(slots=True)
class DetectionParams:
    """``NvDsInferParseDetectionParams`` given to custom bbox parsers."""

    numClassesConfigured: int  # noqa: N815
    perClassPreclusterThreshold: list[float]  # noqa: N815
    perClassPostclusterThreshold: list[float]  # noqa: N815


@dataclass(slots=True)
class ObjectDetectionInfo:
    """``NvDsInferObjectDetectionInfo`` / ``NvDsInferInstanceMaskInfo``: what a custom bbox parser returns, in
    network-input pixels. ``mask`` (instance segmentation, network-type=3): a float ``H x W`` mask covering
    the box, stored in the object's ``mask_params``."""

    classId: int  # noqa: N815
    left: float
    top: float
    width: float
    height: float
    detectionConfidence: float  # noqa: N815
    mask: np.ndarray | None = None


@dataclass(slots=True)
class InferTensorMeta:
    """``NvDsInferTensorMeta``: raw output tensors, attached when ``output-tensor-meta=1``.

    Attached as frame user meta (full-frame mode) or object user meta (object mode) with
    ``MetaType.TENSOR_OUTPUT``. ``output_layers_info[i].buffer`` is a NumPy array without batch dimension.
    """

    unique_id: int
    output_layers_info: list[LayerInfo]
    network_info: NetworkInfo
    maintain_aspect_ratio: bool = False

    @property
    def num_output_layers(self) -> int:
        return len(self.output_layers_info)

    def layer(self, name: str) -> np.ndarray:
        for li in self.output_layers_info:
            if li.layerName == name:
                return li.buffer
        raise KeyError(f"no output layer {name!r}; have {[li.layerName for li in self.output_layers_info]}")


@dataclass(slots=True)
class SegmentationMeta:
    """``NvDsInferSegmentationMeta``: per-pixel classes at the network's output resolution.

    ``class_map[y, x]`` is the class index, or -1 where the best score is below ``segmentation-threshold``.
    ``frame_class_map()`` undoes the letterbox/resize and returns the map at the frame's resolution (nearest).
    """

    unique_id: int
    classes: int
    width: int
    height: int
    class_map: np.ndarray
    labels: list[str] = field(default_factory=list)
    frame_width: int = 0
    frame_height: int = 0
    # the part of the network input that holds the image (x, y, w, h) in network pixels, and the net size
    content: tuple[int, int, int, int] = (0, 0, 0, 0)
    net_size: tuple[int, int] = (0, 0)

    def frame_class_map(self) -> np.ndarray:
        """The class map resized to ``frame_width x frame_height`` (nearest neighbour)."""
        sx, sy = self.width / self.net_size[0], self.height / self.net_size[1]
        x, y, w, h = self.content
        x0, y0 = int(round(x * sx)), int(round(y * sy))
        x1, y1 = max(x0 + 1, int(round((x + w) * sx))), max(y0 + 1, int(round((y + h) * sy)))
        crop = np.ascontiguousarray(self.class_map[y0:y1, x0:x1]).astype(np.int16)
        return cv2.resize(crop, (self.frame_width, self.frame_height), interpolation=cv2.INTER_NEAREST).astype(np.int32)

    def class_fractions(self) -> dict[int, float]:
        """Fraction of pixels of each class present in the map."""
        ids, counts = np.unique(self.class_map, return_counts=True)
        return {int(i): float(c) / self.class_map.size for i, c in zip(ids, counts, strict=True)}
