"""GPU tests: run on a machine with an NVIDIA GPU with ``python -m pytest tests/gpu -rs``; elsewhere the CUDA
tests are skipped and ``-rs`` prints why. The selection and bitstream tests run everywhere."""

from __future__ import annotations

import pytest


def cuda_reason() -> str | None:
    from vistream.gpu import missing_reason

    return missing_reason(0, need_decoder=True)


@pytest.fixture(scope="session")
def cuda():
    why = cuda_reason()
    if why is not None:
        pytest.skip(f"no usable NVIDIA GPU: {why}")
    import torch

    return torch.device("cuda", 0)
