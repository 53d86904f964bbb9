"""Triton model repositories (``<root>/<model>/config.pbtxt`` + ``<root>/<model>/<version>/model.onnx``) and the
in-process backend that runs them with ONNX Runtime, so nvinferserver configs work without a server.

>>> model = find_model(["samples/configs/inferserver/triton_model_repo"], "yolox_nano")  # doctest: +SKIP
>>> model.version, model.max_batch_size, [t.name for t in model.inputs]  # doctest: +SKIP
(1, 0, ['images'])
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf import text_format

from vistream.infer.config import ConfigError
from vistream.inferserver.schema import model_config_class

# Triton DataType enum names -> NumPy dtypes (TYPE_STRING and TYPE_BF16 have no plain NumPy equivalent here)
DTYPES = {"TYPE_BOOL": np.bool_, "TYPE_UINT8": np.uint8, "TYPE_UINT16": np.uint16, "TYPE_UINT32": np.uint32,
          "TYPE_UINT64": np.uint64, "TYPE_INT8": np.int8, "TYPE_INT16": np.int16, "TYPE_INT32": np.int32,
          "TYPE_INT64": np.int64, "TYPE_FP16": np.float16, "TYPE_FP32": np.float32, "TYPE_FP64": np.float64}
ONNX_PLATFORMS = ("onnxruntime_onnx",)


@dataclass
class TensorSpec:
    """One model input or output: ``dims`` without the batch dimension when ``max_batch_size > 0``."""

    name: str
    dtype: str
    dims: list[int]


@dataclass
class RepoModel:
    """A model found in a repository: its ``config.pbtxt`` (parsed, ``None`` if absent), chosen version directory
    and model file."""

    name: str
    root: Path
    version: int
    model_file: Path
    config_path: Path | None
    max_batch_size: int = 0
    platform: str = ""
    inputs: list[TensorSpec] = field(default_factory=list)
    outputs: list[TensorSpec] = field(default_factory=list)
    message: Any = None


def parse_model_config(path: Path) -> Any:
    """Parse a Triton ``config.pbtxt``. Fields outside vistream's subset of Triton's schema are skipped with a
    warning naming ``file:line`` (Triton itself still reads them when the file is served by a real server)."""
    text = path.read_text(encoding="utf-8")
    msg = model_config_class()()
    try:
        text_format.Parse(text, msg)
    except text_format.ParseError as e:
        detail = re.sub(r"^\d+:\d+ : ", "", str(e))
        if "has no field named" not in detail:
            raise ConfigError(f"{path}:{e.GetLine()}: {detail}") from None
        warnings.warn(f"{path}:{e.GetLine()}: {detail}: not used by the in-process backend", stacklevel=2)
        msg = model_config_class()()
        text_format.Parse(text, msg, allow_unknown_field=True)
    return msg


def _versions(model_dir: Path) -> list[int]:
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def find_model(roots: list[str], name: str, version: int = -1, where: str = "model_repo.root") -> RepoModel:
    """Locate ``name`` in the first root that has it; ``version`` -1 (or 0) picks the newest version directory."""
    tried = []
    for root in roots:
        model_dir = Path(root) / name
        tried.append(str(model_dir))
        if model_dir.is_dir():
            break
    else:
        raise ConfigError(f"{where}: model '{name}' not found in the model repository (looked for "
                          f"{', '.join(tried)})")
    versions = _versions(model_dir)
    if not versions:
        raise ConfigError(f"{where}: {model_dir} has no numeric version directory (e.g. {model_dir}/1/model.onnx)")
    if version > 0 and version not in versions:
        raise ConfigError(f"{where}: model '{name}' has no version {version} (versions: {versions})")
    chosen = version if version > 0 else versions[-1]
    cfg_path = model_dir / "config.pbtxt"
    msg = parse_model_config(cfg_path) if cfg_path.is_file() else None
    if msg is not None and msg.name and msg.name != name:
        raise ConfigError(f"{cfg_path}: name '{msg.name}' does not match its directory '{name}'")
    platform = (msg.platform or ("onnxruntime_onnx" if msg.backend == "onnxruntime" else msg.backend)) if msg else ""
    if msg is not None and platform and platform not in ONNX_PLATFORMS:
        raise ConfigError(f"{cfg_path}: platform/backend '{platform}' cannot run in process; the in-process "
                          "backend runs ONNX models (platform: \"onnxruntime_onnx\"); serve other models with a "
                          "Triton server (backend { triton { grpc { url } } })")
    filename = (msg.default_model_filename if msg is not None and msg.default_model_filename else "model.onnx")
    model_file = model_dir / str(chosen) / filename
    if not model_file.is_file():
        raise ConfigError(f"{where}: model file not found: {model_file}")
    model = RepoModel(name, Path(root), chosen, model_file, cfg_path if msg is not None else None,
                      platform=platform or "onnxruntime_onnx", message=msg)
    if msg is not None:
        model.max_batch_size = int(msg.max_batch_size)
        enum = msg.DESCRIPTOR.fields_by_name["input"].message_type.fields_by_name["data_type"].enum_type
        model.inputs = [TensorSpec(t.name, enum.values_by_number[t.data_type].name, list(t.dims)) for t in msg.input]
        model.outputs = [TensorSpec(t.name, enum.values_by_number[t.data_type].name, list(t.dims))
                         for t in msg.output]
    return model


class InProcessBackend:
    """Runs a repository model with ONNX Runtime in this process (the :class:`~vistream.infer.backends.Backend`
    interface, like a local Triton would). ``config.pbtxt`` is checked against the ONNX file: tensor names,
    data types and dims must agree, as Triton's strict model config does; without ``config.pbtxt`` the
    configuration comes from the model (Triton's auto-complete), unless ``strict`` is set.

    >>> be = InProcessBackend(["samples/configs/inferserver/triton_model_repo"], "yolox_nano")  # doctest: +SKIP
    >>> be.infer(np.zeros((2, 3, 416, 416), np.float32))["output"].shape  # doctest: +SKIP
    (2, 3549, 85)
    """

    def __init__(self, roots: list[str], model_name: str, version: int = -1, *, strict: bool = False,
                 threads: int = 2, where: str = "model_repo.root") -> None:
        from vistream.infer.backends.onnxruntime import OnnxRuntimeBackend

        self.model = m = find_model(roots, model_name, version, where)
        if m.config_path is None and strict:
            raise ConfigError(f"{where}: strict_model_config is set but {Path(m.root) / model_name}/config.pbtxt "
                              "is missing")
        self._ort = OnnxRuntimeBackend(str(m.model_file), key=where, threads=threads)
        self.input_name = self._ort.input_name
        self.input_shape = self._ort.input_shape
        self.output_names = list(self._ort.output_names)
        self.output_shapes = dict(self._ort.output_shapes)
        self.max_batch = self._ort.max_batch
        if m.config_path is not None:
            self._check_config()
            if m.max_batch_size > 0 and self.max_batch == 0:
                self.max_batch = m.max_batch_size  # Triton never sends more than max_batch_size per request
            if m.outputs:
                self.output_names = [t.name for t in m.outputs]

    def _check_config(self) -> None:
        m = self.model
        sess = self._ort.session
        model_ins = {i.name: i for i in sess.get_inputs()}
        model_outs = {o.name: o for o in sess.get_outputs()}
        for kind, specs, actual in (("input", m.inputs, model_ins), ("output", m.outputs, model_outs)):
            for t in specs:
                if t.name not in actual:
                    raise ConfigError(f"{m.config_path}: {kind} '{t.name}' is not in {m.model_file.name} "
                                      f"({kind}s: {', '.join(actual)})")
                if t.dtype != "TYPE_FP32":
                    raise ConfigError(f"{m.config_path}: {kind} '{t.name}' is {t.dtype}; float32 (TYPE_FP32) expected")
                shape = [d if isinstance(d, int) and d > 0 else -1 for d in actual[t.name].shape]
                want = ([-1] + t.dims) if m.max_batch_size > 0 else t.dims
                if len(want) != len(shape) or any(a != w and -1 not in (a, w) for a, w in zip(shape, want, strict=True)):
                    raise ConfigError(f"{m.config_path}: {kind} '{t.name}' dims {t.dims} (max_batch_size "
                                      f"{m.max_batch_size}) do not match the model's shape {list(actual[t.name].shape)}")

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        out = self._ort.infer(batch)
        return {name: out[name] for name in self.output_names}

    def close(self) -> None:
        """Nothing to release (kept for symmetry with :class:`TritonClientBackend`)."""
