"""The optional NVIDIA GPU path: NVDEC decoding, GPU batching and pre-processing, PyTorch CUDA inference.

Nothing here imports torch or PyNvVideoCodec at module import time: the CPU path never needs them.

Selection (:func:`use_gpu`): a GPU element property or the environment decides, in this order:

1. ``VISTREAM_DEVICE=cpu`` forces the CPU everywhere; ``VISTREAM_DEVICE=gpu`` (or ``cuda``) demands the GPU
   and raises :class:`GpuUnavailableError` with the reason when it is missing;
2. otherwise (``auto``, the default) the GPU is used when CUDA device ``gpu-id`` exists and the
   ``vistream[gpu]`` packages import.

>>> from vistream import gpu
>>> gpu.use_gpu(0, need_decoder=True)   # False on a machine without an NVIDIA GPU  # doctest: +SKIP
>>> gpu.status()                        # one line saying what was found  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import importlib
import os

from vistream.core.errors import VistreamError

ENV = "VISTREAM_DEVICE"
INSTALL_HINT = "install the GPU extra: pip install 'vistream[gpu]' (torch with CUDA, PyNvVideoCodec, onnx2torch)"


class GpuUnavailableError(VistreamError, RuntimeError):
    """The GPU path was asked for but cannot run here; the message says why and what to install."""


def device_mode() -> str:
    """``"cpu"``, ``"gpu"`` or ``"auto"`` from ``VISTREAM_DEVICE`` (unset or empty: auto)."""
    v = os.environ.get(ENV, "").strip().lower()
    if v in ("", "auto"):
        return "auto"
    if v in ("cpu",):
        return "cpu"
    if v in ("gpu", "cuda", "nvidia"):
        return "gpu"
    raise GpuUnavailableError(f"{ENV}={v!r}: expected cpu, gpu or auto")


def _nvidia_driver_present() -> bool:
    """A cheap check before importing PyTorch (seconds): is an NVIDIA driver loaded on this machine?"""
    if os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl"):
        return True
    import ctypes.util

    return ctypes.util.find_library("cuda") is not None


def mps_running() -> bool:
    """Whether a CUDA MPS control daemon is running for this user (its pipe in ``CUDA_MPS_PIPE_DIRECTORY``,
    default ``/tmp/nvidia-mps``). Processes sharing a GPU without MPS are time-sliced."""
    pipe_dir = os.environ.get("CUDA_MPS_PIPE_DIRECTORY", "/tmp/nvidia-mps")
    return os.path.exists(os.path.join(pipe_dir, "control"))


SYNC_ENV = "VISTREAM_CUDA_SYNC"
SYNC_MODES = {"auto": 0x00, "spin": 0x01, "yield": 0x02, "blocking": 0x04}  # CU_CTX_SCHED_*


def _libcuda():
    import ctypes

    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return None
    return cuda if cuda.cuInit(0) == 0 else None


def set_cuda_sync(mode: str, gpu_id: int | None = None) -> bool:
    """How this process waits for the GPU: ``spin`` (a host core polls: the lowest latency), ``yield`` (polls
    but gives the core to other threads), ``blocking`` (sleeps until the GPU signals) or ``auto`` (CUDA's
    default: spin while there are fewer CUDA contexts than cores). Sets the flag of the primary CUDA context of
    ``gpu_id`` (every GPU when None), the context PyTorch and the NVDEC decoders use; call it before the process
    first uses CUDA. Worker processes of ``vistream app --workers`` take it from ``VISTREAM_CUDA_SYNC``.
    Returns whether the flag was set (False without an NVIDIA driver)."""
    import ctypes

    if mode not in SYNC_MODES:
        raise ValueError(f"CUDA sync mode {mode!r}: expected one of {', '.join(SYNC_MODES)}")
    cuda = _libcuda()
    count = ctypes.c_int()
    if cuda is None or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return False
    ok = False
    for i in range(count.value) if gpu_id is None else (int(gpu_id),):
        dev = ctypes.c_int()
        if cuda.cuDeviceGet(ctypes.byref(dev), i) == 0:
            ok = cuda.cuDevicePrimaryCtxSetFlags(dev, SYNC_MODES[mode]) == 0 or ok
    return ok


def set_blocking_sync(gpu_id: int | None = None) -> bool:
    """``set_cuda_sync("blocking", gpu_id)``: wait for the GPU by sleeping instead of spinning on a host core."""
    return set_cuda_sync("blocking", gpu_id)


def cuda_sync_from_env() -> str | None:
    """Apply ``VISTREAM_CUDA_SYNC`` (spin, yield, blocking, auto) with :func:`set_cuda_sync`; returns the mode
    set, None when the variable is unset. An unknown value is a ValueError naming the variable."""
    mode = os.environ.get(SYNC_ENV, "").strip().lower()
    if not mode:
        return None
    if mode not in SYNC_MODES:
        raise ValueError(f"{SYNC_ENV}={mode!r}: expected one of {', '.join(SYNC_MODES)}")
    set_cuda_sync(mode)
    return mode


def shared_gpu_hint(processes: int) -> str | None:
    """A hint for ``processes`` processes about to share this machine's NVIDIA GPU without MPS, else None."""
    if processes < 2 or device_mode() == "cpu" or not _nvidia_driver_present() or mps_running():
        return None
    return (f"{processes} processes will share the GPU by time-slicing: start the CUDA MPS daemon "
            "(nvidia-cuda-mps-control -d) to run them concurrently (64 streams in 8 processes on an H100: "
            "1,298 FPS without MPS, 2,060 with it; see docs/gpu.md)")


@functools.cache
def _probe_torch() -> str | None:
    """None when torch with a CUDA device imports, else the reason it does not."""
    if not _nvidia_driver_present():
        return "no NVIDIA driver on this machine"
    try:
        torch = importlib.import_module("torch")
    except ImportError as e:
        return f"PyTorch is not installed ({e})"
    if not torch.cuda.is_available():
        return f"PyTorch {torch.__version__} sees no CUDA device"
    return None


@functools.cache
def _probe_nvdec() -> str | None:
    try:
        importlib.import_module("PyNvVideoCodec")
    except Exception as e:  # the package raises RuntimeError when the driver lacks NVDEC/NVENC libraries
        return f"PyNvVideoCodec does not import ({type(e).__name__}: {str(e).splitlines()[0][:200]})"
    return None


def missing_reason(gpu_id: int = 0, need_decoder: bool = False) -> str | None:
    """Why the GPU path cannot run for ``gpu_id`` (None when it can)."""
    why = _probe_torch()
    if why is None:
        import torch

        if gpu_id >= torch.cuda.device_count():
            why = f"gpu-id={gpu_id} but only {torch.cuda.device_count()} CUDA device(s) exist"
    if why is None and need_decoder:
        why = _probe_nvdec()
    return why


def use_gpu(gpu_id: int = 0, need_decoder: bool = False, element: str | None = None) -> bool:
    """Whether an element should take the GPU path (see the module docstring for the rules)."""
    mode = device_mode()
    if mode == "cpu":
        return False
    why = missing_reason(gpu_id, need_decoder)
    if why is None:
        return True
    if mode == "gpu":
        where = f"{element}: " if element else ""
        raise GpuUnavailableError(f"{where}{ENV}=gpu but the GPU path cannot run: {why}; {INSTALL_HINT}")
    return False


def require_gpu(gpu_id: int = 0, need_decoder: bool = False, what: str = "the GPU path") -> None:
    """Raise :class:`GpuUnavailableError` naming ``what`` when the GPU path cannot run."""
    why = missing_reason(gpu_id, need_decoder)
    if why is not None:
        raise GpuUnavailableError(f"{what} needs an NVIDIA GPU: {why}; {INSTALL_HINT}")


def is_gpu_array(x) -> bool:
    """True for a torch CUDA tensor (a GPU batch in ``Buffer.data``), without importing torch."""
    return type(x).__module__.startswith("torch") and getattr(getattr(x, "device", None), "type", None) == "cuda"


def infer_engine(config, overrides=None, *, gpu_id: int | None = None, threads: int | None = None, **kwargs):
    """The nvinfer engine for the GPU path: a :class:`~vistream.gpu.infer.GpuInferEngine`, or the CPU
    :class:`~vistream.infer.InferEngine` (with a warning saying why) when the model cannot run on
    ``backend=torch`` (e.g. quantised graphs) or, with ``VISTREAM_DEVICE`` unset/auto, when the GPU packages
    are incomplete. With ``VISTREAM_DEVICE=gpu`` a missing package is an error."""
    import warnings

    from vistream.infer import InferEngine
    from vistream.infer.config import ConfigError

    try:
        from vistream.gpu.infer import GpuInferEngine

        return GpuInferEngine(config, overrides, gpu_id=gpu_id, threads=threads, **kwargs)
    except ImportError as e:
        why = f"{e}; {INSTALL_HINT}"
        if device_mode() == "gpu":
            raise GpuUnavailableError(f"nvinfer: {why}") from None
    except ConfigError as e:
        why = str(e)
        cannot_run = "backend=onnxruntime" in why
        missing = "install the GPU extra" in why
        if not cannot_run and not (missing and device_mode() == "auto"):
            raise
    warnings.warn(f"{why}: running the model with ONNX Runtime on host copies of the frames", stacklevel=2)
    return InferEngine(config, overrides, threads=threads)


def status() -> str:
    """One line: what the GPU path found on this machine."""
    try:
        mode = device_mode()
    except GpuUnavailableError as e:
        return str(e)
    why = missing_reason(0, need_decoder=True)
    if why is None:
        import torch

        return f"GPU path available ({torch.cuda.get_device_name(0)}, torch {torch.__version__}); {ENV}={mode}"
    return f"GPU path unavailable: {why}; {ENV}={mode}"


__all__ = ["ENV", "GpuUnavailableError", "INSTALL_HINT", "device_mode", "infer_engine", "is_gpu_array",
           "missing_reason", "mps_running", "require_gpu", "set_blocking_sync", "set_cuda_sync",
           "cuda_sync_from_env", "shared_gpu_hint", "status", "use_gpu"]
