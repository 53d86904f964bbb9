"""nvinferserver as a library: DeepStream's nvinferserver config (protobuf text), Triton model repositories,
a Triton Inference Server client backend and an in-process backend.

>>> from vistream.inferserver import InferServerEngine
>>> eng = InferServerEngine("samples/configs/inferserver/config_infer_primary_yoloX.txt")  # doctest: +SKIP
>>> eng.process(frames, batch_meta)  # doctest: +SKIP
"""

from vistream.inferserver.config import InferServerConfig, load_inferserver_config
from vistream.inferserver.engine import InferServerEngine
from vistream.inferserver.repository import InProcessBackend, find_model

__all__ = ["InProcessBackend", "InferServerConfig", "InferServerEngine", "find_model", "load_inferserver_config"]
