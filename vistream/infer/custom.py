"""Custom output parsers written in Python (``parse-bbox-func-name`` / ``parse-classifier-func-name``).

The function is found from ``custom-lib-path`` and the function name:

- ``custom-lib-path=my_parsers.py`` + ``parse-bbox-func-name=parse_boxes``: a Python file (relative to the
  config file);
- ``custom-lib-path=mypkg.parsers`` + ``parse-bbox-func-name=parse_boxes``: an importable module;
- ``parse-bbox-func-name=mypkg.parsers:parse_boxes`` (no ``custom-lib-path``).

Bbox parsers are called as ``func(output_layers, network_info, detection_params)`` with a list of
:class:`~vistream.infer.types.LayerInfo` (one image, no batch dimension), a
:class:`~vistream.infer.types.NetworkInfo` and :class:`~vistream.infer.types.DetectionParams`, and return
boxes in network-input pixels: a list of :class:`~vistream.infer.types.ObjectDetectionInfo`, or an ``(N, 6)``
array ``x1, y1, x2, y2, confidence, class_id``. The engine then clusters them (``cluster-mode``) and scales
them to the frame. Classifier parsers are called as ``func(output_layers, network_info, classifier_threshold)``
and return a list of :class:`vistream.meta.LabelInfo` (or ``(class_id, prob, label)`` tuples).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from vistream.infer.config import ConfigError, InferConfig
from vistream.infer.types import ObjectDetectionInfo
from vistream.meta import LabelInfo


def load_parser(cfg: InferConfig, func_key: str) -> Callable:
    """The callable named by ``func_key`` (+ ``custom-lib-path``); ConfigError naming the key if missing."""
    name = getattr(cfg, func_key.replace("-", "_"))
    lib = cfg.custom_lib_path
    where = cfg.where(func_key)
    if ":" in name and not lib:
        lib, name = name.rsplit(":", 1)
    if not lib:
        raise ConfigError(f"{where}: '{name}' is not a built-in parser; set custom-lib-path to a .py file or "
                          "module, or write 'module:function'")
    if lib.endswith(".so") or ".so." in Path(lib).name:
        raise ConfigError(f"{cfg.where('custom-lib-path')}: {Path(lib).name} is a C/C++ shared library; vistream "
                          "loads parsers written in Python: give a .py file or a module name")
    module = import_python_module(lib, cfg.where('custom-lib-path'), "parser")
    func = getattr(module, name, None)
    if not callable(func):
        raise ConfigError(f"{where}: {lib} has no function '{name}'")
    return func


def import_python_module(lib: str, where: str, what: str = "module"):
    """Import ``lib``: a ``.py`` file path or an importable module name; errors name ``where`` (file:line)."""
    try:
        if lib.endswith(".py") or "/" in lib or "\\" in lib:
            path = Path(lib)
            if not path.is_file():
                raise ConfigError(f"{where}: {what} file not found: {path}")
            mod_name = f"vistream_custom_{what}_{abs(hash(str(path.resolve())))}"
            spec = importlib.util.spec_from_file_location(mod_name, path)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            sys.modules[mod_name] = module
            spec.loader.exec_module(module)  # type: ignore[union-attr]
            return module
        return importlib.import_module(lib)
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(f"{where}: cannot load {what} module {lib}: {type(e).__name__}: {e}") from None


def detections_from_custom(result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalise what a custom bbox parser returned to (xyxy, scores, class_ids) arrays."""
    if result is None:
        result = []
    if isinstance(result, np.ndarray):
        arr = np.asarray(result, np.float32).reshape(-1, 6)
        return arr[:, :4].copy(), arr[:, 4].copy(), arr[:, 5].astype(np.int64)
    rows = []
    for o in result:
        if isinstance(o, ObjectDetectionInfo) or hasattr(o, "detectionConfidence"):
            rows.append((o.left, o.top, o.left + o.width, o.top + o.height, o.detectionConfidence, o.classId))
        else:
            raise TypeError(f"custom bbox parser returned {type(o).__name__}; expected ObjectDetectionInfo")
    arr = np.asarray(rows, np.float32).reshape(-1, 6)
    return arr[:, :4].copy(), arr[:, 4].copy(), arr[:, 5].astype(np.int64)


def labels_from_custom(result) -> list[LabelInfo]:
    out = []
    for i, r in enumerate(result or []):
        if isinstance(r, LabelInfo):
            out.append(r)
        else:
            c, p, label = r
            out.append(LabelInfo(result_label=str(label), result_class_id=int(c), result_prob=float(p), label_id=i))
    return out
