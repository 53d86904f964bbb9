"""A Backend that returns fixed tensors, to drive the engine with outputs built in a test."""

from __future__ import annotations

import numpy as np


class FakeBackend:
    """Implements :class:`vistream.infer.backends.Backend`; ``outputs`` are per-image tensors (no batch dim)
    or a callable ``f(image_batch) -> dict`` for outputs that depend on the input."""

    def __init__(self, input_shape, outputs, max_batch: int = 0):
        self.input_name = "input"
        self.input_shape = tuple(input_shape)
        self._outputs = outputs
        sample = outputs(np.zeros((1, *input_shape[1:]), np.float32)) if callable(outputs) else \
            {k: v[None] for k, v in outputs.items()}
        self.output_names = list(sample)
        self.output_shapes = {k: (None, *v.shape[1:]) for k, v in sample.items()}
        self.max_batch = max_batch
        self.calls = 0
        self.images = 0
        self.last_batch = None

    def infer(self, batch):
        self.calls += 1
        self.images += len(batch)
        self.last_batch = batch.copy()
        if callable(self._outputs):
            return self._outputs(batch)
        return {k: np.repeat(v[None], len(batch), axis=0) for k, v in self._outputs.items()}


def write_config(tmp_path, body: str, name: str = "cfg.txt"):
    p = tmp_path / name
    p.write_text(body)
    return p
