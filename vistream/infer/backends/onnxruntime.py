"""ONNX Runtime backend (CPU by default; CUDA execution provider when asked for and installed)."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort

from vistream.infer.backends import BackendUnavailable
from vistream.infer.config import ConfigError

# Files that need TensorRT or NVIDIA's TAO decryption and cannot run on ONNX Runtime.
_UNRUNNABLE = {".engine": "a serialized TensorRT engine", ".plan": "a serialized TensorRT engine",
               ".trt": "a serialized TensorRT engine", ".etlt": "an encrypted TAO model",
               ".uff": "a UFF model", ".caffemodel": "a Caffe model", ".prototxt": "a Caffe model"}


def _dim(d) -> int | None:
    return d if isinstance(d, int) and d > 0 else None


class OnnxRuntimeBackend:
    """One ``onnxruntime.InferenceSession`` per engine (``backend=onnxruntime``: CPU; ``backend=onnxruntime-cuda``:
    CUDA execution provider on ``gpu-id``, with onnxruntime-gpu installed).

    Models whose batch dimension is fixed at 1 (all shipped samples) run a batch as consecutive
    ``session.run`` calls on views of the preallocated batch; dynamic-batch models run it in one call.

    >>> be = OnnxRuntimeBackend("samples/models/ultraface_rfb_320.onnx", threads=1)  # doctest: +SKIP
    >>> be.input_shape, be.max_batch  # doctest: +SKIP
    ((1, 3, 240, 320), 1)
    """

    def __init__(self, model_path: str, *, key: str = "onnx-file", threads: int = 2, precision: int = 0,
                 device_id: int = 0, providers: list | None = None) -> None:
        p = Path(model_path)
        if not model_path:
            raise ConfigError(f"{key}: no model given (set onnx-file)")
        if p.suffix.lower() in _UNRUNNABLE:
            raise ConfigError(f"{key}: {p.name} is {_UNRUNNABLE[p.suffix.lower()]}, which cannot run here; "
                              "vistream runs ONNX models (.onnx): set onnx-file to the model's ONNX export")
        if not p.is_file():
            raise ConfigError(f"{key}: model file not found: {p}")
        so = ort.SessionOptions()
        so.intra_op_num_threads = int(threads)
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        # In a pipeline other stages (decode, tracking, drawing, encoding) share the cores: idle ORT threads
        # must sleep rather than spin.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.threads = int(threads)
        self._model_path, self._providers = str(p), None
        if precision in (1, 2) and not providers:
            # ORT's CPU provider runs the graph's own precision; FP16/INT8 need a quantised/converted model.
            warnings.warn(f"network-mode={precision} ({'INT8' if precision == 1 else 'FP16'}) is not available "
                          "on the ONNX Runtime CPU backend: running the model's own precision", stacklevel=3)
        if providers and providers[0] == "CUDAExecutionProvider":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise BackendUnavailable("onnxruntime-cuda needs the onnxruntime-gpu package and a CUDA GPU; this "
                                         f"ONNX Runtime offers {ort.get_available_providers()}")
            providers = [("CUDAExecutionProvider", {"device_id": int(device_id)}), "CPUExecutionProvider"]
        self._providers = providers or ["CPUExecutionProvider"]
        self._pool: ThreadPoolExecutor | None = None
        self._single: ort.InferenceSession | None = None
        try:
            self.session = ort.InferenceSession(str(p), sess_options=so, providers=self._providers)
        except Exception as e:  # ORT raises its own exception types (InvalidProtobuf, Fail, ...)
            raise ConfigError(f"{key}: cannot load {p} as an ONNX model: {str(e).splitlines()[0][:300]}") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ConfigError(f"{key}: {p.name} has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                              "nvinfer models take one image input")
        if inputs[0].type != "tensor(float)":
            raise ConfigError(f"{key}: {p.name} input '{inputs[0].name}' is {inputs[0].type}; float32 expected")
        self.input_name = inputs[0].name
        self.input_shape = tuple(_dim(d) for d in inputs[0].shape)
        if len(self.input_shape) != 4:
            raise ConfigError(f"{key}: {p.name} input '{self.input_name}' has shape {inputs[0].shape}; "
                              "an image input of rank 4 (NCHW or NHWC) is expected")
        outs = self.session.get_outputs()
        self.output_names = [o.name for o in outs]
        self.output_shapes = {o.name: tuple(_dim(d) for d in o.shape) for o in outs}
        b = self.input_shape[0]
        self.max_batch = 0 if b is None else b
        if self.concurrency > 1:
            self._single_session()  # now, not from two worker threads racing at the first batch

    def _single_session(self) -> ort.InferenceSession:
        if self._single is None:
            so = ort.SessionOptions()
            so.intra_op_num_threads = 1
            so.inter_op_num_threads = 1
            so.log_severity_level = 3
            self._single = ort.InferenceSession(self._model_path, sess_options=so, providers=self._providers)
        return self._single

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        n = batch.shape[0]
        step = self.max_batch
        if step == 0 or n == step:
            return dict(zip(self.output_names, self.session.run(self.output_names, {self.input_name: batch}), strict=True))
        chunks = []
        for i in range(0, n, step):
            chunk = batch[i:i + step]
            k = len(chunk)
            if k < step:  # fixed batch > 1: pad the last chunk, drop the padding's outputs
                chunk = np.concatenate([chunk, np.zeros((step - k, *chunk.shape[1:]), chunk.dtype)])
            chunks.append((chunk, k))
        if len(chunks) > 1 and self.threads > 1 and self._providers[0] == "CPUExecutionProvider":
            parts = self._run_parallel(chunks)
        else:
            parts = [[r[:k] for r in self.session.run(self.output_names, {self.input_name: c})] for c, k in chunks]
        if len(parts) == 1:
            return dict(zip(self.output_names, parts[0], strict=True))
        return {name: np.concatenate([p[j] for p in parts], axis=0) for j, name in enumerate(self.output_names)}


    def _run_parallel(self, chunks: list[tuple[np.ndarray, int]]) -> list[list[np.ndarray]]:
        """Run the chunks of a batch concurrently, one single-threaded run per core.

        Small models scale poorly inside one run (thread synchronisation per operator), so for a batch the
        cores are better spent on different images: on a 2-core CPU YOLOX-Nano goes from 20.4 ms per image
        (one run, 2 threads) to 13.9 ms (two concurrent 1-thread runs). ONNX Runtime releases the GIL and
        allows concurrent ``run`` calls on one session.
        """
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="vistream-ort")

        def run(item: tuple[np.ndarray, int]) -> list[np.ndarray]:
            chunk, k = item
            return [r[:k] for r in self.infer_single_thread(chunk).values()]

        return list(self._pool.map(run, chunks))

    @property
    def concurrency(self) -> int:
        """How many model-sized slices to run at once (one per CPU thread for fixed-batch CPU models)."""
        if self.max_batch and self.threads > 1 and self._providers[0] == "CPUExecutionProvider":
            return self.threads
        return 1

    def infer_single_thread(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Run one model-sized slice on a single thread; safe to call from several threads at once."""
        return dict(zip(self.output_names, self._single_session().run(self.output_names, {self.input_name: batch}), strict=True))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


def cuda_backend(model_path: str, **kwargs) -> OnnxRuntimeBackend:
    """``backend=onnxruntime-cuda``."""
    return OnnxRuntimeBackend(model_path, providers=["CUDAExecutionProvider"], **kwargs)
