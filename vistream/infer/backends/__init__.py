"""Inference backends behind one interface (:class:`Backend`).

``onnxruntime`` (CPU, the default) and ``onnxruntime-cuda`` (needs onnxruntime-gpu) are built in. Other
runtimes (e.g. a PyTorch CUDA backend) are added with :func:`register_backend` under the name given by the
config key ``backend``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from vistream.infer.config import ConfigError


class BackendUnavailable(ConfigError):
    """Raised by a backend factory when it cannot run on this machine (the engine adds the ``backend`` key's
    file:line)."""


@runtime_checkable
class Backend(Protocol):
    """What the engine needs from a backend.

    ``input_name``/``input_shape``: the single network input and its shape with the batch dimension first
    (``None`` or ``-1`` for dynamic dims); ``output_names`` in model order; ``max_batch``: the largest batch
    one call accepts (1 for models with a fixed batch of 1, ``0`` for dynamic); ``infer(batch)`` runs a
    float32 batch of any size and returns every output with the batch dimension first.
    """

    input_name: str
    input_shape: tuple[int | None, ...]
    output_names: list[str]
    output_shapes: dict[str, tuple[int | None, ...]]
    max_batch: int

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]: ...


_REGISTRY: dict[str, Callable[..., Backend]] = {}


def register_backend(name: str, factory: Callable[..., Backend]) -> None:
    """Make ``factory(model_path, *, key, threads, precision, device_id)`` available as ``backend=name``."""
    _REGISTRY[name] = factory


def create_backend(name: str, model_path: str, **kwargs) -> Backend:
    if name in ("onnxruntime", "onnxruntime-cuda") and name not in _REGISTRY:
        from vistream.infer.backends.onnxruntime import OnnxRuntimeBackend, cuda_backend

        register_backend("onnxruntime", OnnxRuntimeBackend)
        register_backend("onnxruntime-cuda", cuda_backend)
    if name not in _REGISTRY:
        raise KeyError(name)
    return _REGISTRY[name](model_path, **kwargs)


def available_backends() -> list[str]:
    return sorted({"onnxruntime", "onnxruntime-cuda", *_REGISTRY})
from vistream.infer.backends import torch_cuda as _torch_cuda  # noqa: E402,F401  registers backend=torch (torch loads on use)
