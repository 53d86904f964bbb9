"""``InferServerEngine``: what the ``nvinferserver`` element does, as a library working on a
:class:`~vistream.meta.BatchMeta`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vistream.infer.config import ConfigError
from vistream.infer.custom import import_python_module
from vistream.infer.engine import InferEngine
from vistream.infer.types import InferTensorMeta
from vistream.inferserver.config import InferServerConfig, load_inferserver_config
from vistream.inferserver.repository import InProcessBackend
from vistream.meta import BatchMeta, FrameMeta, MetaType


class InferServerEngine:
    """DeepStream ``nvinferserver`` semantics on NumPy frames and a :class:`~vistream.meta.BatchMeta`.

    ``InferServerEngine(config, overrides=None, *, threads=None, backend=None, shared_memory="auto",
    server_timeout=10.0)``:
    ``config`` is an nvinferserver config path (protobuf text) or an :class:`InferServerConfig`; ``overrides``
    are element properties (``unique-id``, ``process-mode``, ``infer-on-gie-id``, ``infer-on-class-ids``,
    ``batch-size``, ``interval``). The model comes from ``backend { triton { ... } }``:

    - ``model_repo { root: "..." }``: the repository is read here and the model runs in this process with
      ONNX Runtime (:class:`~vistream.inferserver.repository.InProcessBackend`), no server needed;
    - ``grpc { url: "host:port" }`` (or ``"http://host:port"``): requests go to a Triton Inference Server
      (:class:`~vistream.inferserver.triton.TritonClientBackend`, async requests, shared memory on the same host).

    ``threads``: ONNX Runtime threads of the in-process backend (default 2); ``shared_memory``: ``auto`` |
    ``system`` | ``none`` (Triton transport); ``server_timeout``: seconds to wait for the server to report the
    model ready. ``backend`` replaces both with a ready :class:`~vistream.infer.backends.Backend`.

    Pre-processing, output decoding, clustering and the metadata written are nvinfer's (:class:`~vistream.infer.InferEngine`), so
    ``process(frames, batch_meta)`` attaches exactly what ``nvinfer`` with the equivalent key file would:
    ``frames[i]`` is the RGB uint8 image of ``frame_meta.batch_id == i``; returns the number of images run.
    ``extra { custom_process_funcion: "name" }`` with ``custom_lib { path: "file.py" }`` (or
    ``"module:function"``) names a factory ``name(config) -> processor``; after each batch
    ``processor.inference_done(outputs, frame_meta)`` gets every inferred frame's output tensors (a dict of
    arrays without batch dimension) and may attach its own metadata. ``reset(source_id)`` on EOS;
    ``close()`` releases the server connection and shared memory.

    >>> eng = InferServerEngine("samples/configs/inferserver/config_infer_primary_yoloX.txt")  # doctest: +SKIP
    >>> eng.process([rgb_frame], batch_meta)  # doctest: +SKIP
    >>> [o.obj_label for o in batch_meta.frame_meta_list[0].obj_meta_list]  # doctest: +SKIP
    """

    def __init__(self, config: InferServerConfig | str | Path, overrides: Mapping[str, Any] | None = None, *,
                 threads: int | None = None, backend: Any = None, shared_memory: str = "auto",
                 server_timeout: float = 10.0) -> None:
        cfg = config if isinstance(config, InferServerConfig) else load_inferserver_config(config, overrides)
        self.config = cfg
        self._processor = None
        if cfg.custom_process:
            cfg.infer.output_tensor_meta = 1  # the processor reads the raw outputs from the tensor meta
        tpath = f"infer_config.backend.{cfg.message.infer_config.backend.WhichOneof('infer_backend')}"
        self._owns_backend = backend is None
        if backend is None:
            if cfg.backend_kind == "model_repo":
                backend = InProcessBackend(cfg.repo_roots, cfg.model_name, cfg.model_version,
                                           strict=cfg.strict_model_config, threads=threads or 2,
                                           where=cfg.where(f"{tpath}.model_repo.root"))
            else:
                from vistream.inferserver.triton import TritonClientBackend

                backend = TritonClientBackend(cfg.url, cfg.model_name, cfg.model_version,
                                              shared_memory=shared_memory, where=cfg.where(f"{tpath}.grpc.url"),
                                              timeout=server_timeout)
        self.backend = backend
        try:
            if cfg.input_name and cfg.input_name != backend.input_name:
                raise ConfigError(f"{cfg.where('infer_config.backend.inputs')}: input '{cfg.input_name}' but model "
                                  f"'{cfg.model_name}' has '{backend.input_name}'")
            self.engine = InferEngine(cfg.infer, backend=backend)
            if cfg.custom_process:
                self._processor = _load_processor(cfg)(cfg)
        except Exception:
            self.close()
            raise
        self.unique_id = self.engine.unique_id

    def __repr__(self) -> str:
        where = self.config.url or ",".join(self.config.repo_roots)
        return (f"InferServerEngine(gie {self.unique_id}, model '{self.config.model_name}' via "
                f"{self.config.backend_kind} {where}, decoder={self.engine.decoder_name or 'none'}, "
                f"batch-size={self.engine.config.batch_size})")

    def process(self, frames: Sequence[np.ndarray] | np.ndarray, batch_meta: BatchMeta) -> int:
        """Infer one batch and attach the results in place (see the class docstring)."""
        n = self.engine.process(frames, batch_meta)
        if self._processor is not None and n:
            for fm in batch_meta.frame_meta_list:
                tensors = _own_tensor_meta(fm, self.unique_id)
                if tensors is not None:
                    self._processor.inference_done({li.layerName: li.buffer for li in tensors.output_layers_info},
                                                   fm)
        return n

    def infer_arrays(self, frames: Sequence[np.ndarray] | np.ndarray) -> list:
        """Full-frame inference without metadata, one result per frame (see :meth:`InferEngine.infer_arrays`)."""
        return self.engine.infer_arrays(frames)

    def reset(self, source_id: int | None = None) -> None:
        """Forget a stream's interval count and cached classifier results (call on its EOS)."""
        self.engine.reset(source_id)

    def close(self) -> None:
        """Stop the engine's worker thread and close the backend's server connection (idempotent)."""
        if getattr(self, "engine", None) is not None:
            self.engine.close()
        backend = getattr(self, "backend", None)
        if self._owns_backend and backend is not None and hasattr(backend, "close"):
            backend.close()

    def __enter__(self) -> InferServerEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _own_tensor_meta(fm: FrameMeta, unique_id: int) -> InferTensorMeta | None:
    for um in fm.frame_user_meta_list:
        data = um.user_meta_data
        if um.base_meta.meta_type == MetaType.TENSOR_OUTPUT and isinstance(data, InferTensorMeta) \
                and data.unique_id == unique_id:
            return data
    return None


def _load_processor(cfg: InferServerConfig) -> Callable:
    name, lib = cfg.custom_process, cfg.infer.custom_lib_path
    where = cfg.where("infer_config.extra.custom_process_funcion")
    if ":" in name and not lib:
        lib, name = name.rsplit(":", 1)
    if not lib:
        raise ConfigError(f"{where}: set custom_lib {{ path }} to the .py file or module defining '{name}', "
                          "or write 'module:function'")
    if lib.endswith(".so"):
        raise ConfigError(f"{cfg.where('infer_config.custom_lib.path')}: {Path(lib).name} is a C++ library; "
                          "vistream loads custom processors written in Python (.py file or module)")
    module = import_python_module(lib, cfg.where('infer_config.custom_lib.path'), "processor")
    factory = getattr(module, name, None)
    if not callable(factory):
        raise ConfigError(f"{where}: {lib} has no function '{name}'")
    return factory
