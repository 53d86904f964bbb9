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


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """A torch device for GPU-path code: host tensors wherever PyTorch is installed, and CUDA where a GPU is."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    if request.param == "cuda":
        return request.getfixturevalue("cuda")  # skips, saying why, without a usable GPU
    return torch.device("cpu")
