"""nvinfer as a library: DeepStream config files, pre-processing, backends, output decoders, clustering.

>>> from vistream.infer import InferEngine
>>> engine = InferEngine("samples/configs/config_infer_primary_yoloX.txt")  # doctest: +SKIP
>>> engine.process(frames, batch_meta)  # doctest: +SKIP
"""

from vistream.infer.config import ClassAttrs, ConfigError, InferConfig, load_infer_config
from vistream.infer.engine import InferEngine, InferResult, PendingBatch
from vistream.infer.types import (
    DetectionParams,
    InferTensorMeta,
    LayerInfo,
    NetworkInfo,
    ObjectDetectionInfo,
    SegmentationMeta,
)

__all__ = [
    "ClassAttrs", "ConfigError", "DetectionParams", "InferConfig", "InferEngine", "InferResult", "InferTensorMeta", "PendingBatch",
    "LayerInfo", "NetworkInfo", "ObjectDetectionInfo", "SegmentationMeta", "load_infer_config",
]
