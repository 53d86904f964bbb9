"""DeepStream ``nvinfer`` config files: ``[property]``, ``[class-attrs-all]`` and ``[class-attrs-<id>]``.

Both forms DeepStream reads are accepted: the key file (``.txt``) and YAML (``.yml``/``.yaml``, the same
groups as mappings, lists as YAML sequences or ``;``-separated strings).

>>> cfg = load_infer_config("samples/configs/config_infer_primary_yoloX.txt")  # doctest: +SKIP
>>> cfg.network_type, cfg.class_attrs(0).pre_cluster_threshold  # doctest: +SKIP
(0, 0.3)

Keys keep DeepStream's names (``net-scale-factor`` becomes the attribute ``net_scale_factor``). An unknown key
is a warning naming ``file:line``; a bad value raises :class:`ConfigError` naming ``file:line: key``. Paths
are resolved relative to the config file.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A bad nvinfer config value; the message starts with ``file:line: key:``."""


# network-type values (NvDsInferNetworkType)
DETECTOR, CLASSIFIER, SEGMENTATION, INSTANCE_SEGMENTATION, OTHER = 0, 1, 2, 3, 100
# process-mode values
PROCESS_MODE_FULL_FRAME, PROCESS_MODE_OBJECTS = 1, 2
# cluster-mode values (NvDsInferClusterMode)
CLUSTER_GROUP_RECTANGLES, CLUSTER_DBSCAN, CLUSTER_NMS, CLUSTER_DBSCAN_NMS, CLUSTER_NONE = 0, 1, 2, 3, 4
# model-color-format values
COLOR_RGB, COLOR_BGR, COLOR_GRAY = 0, 1, 2


@dataclass
class ClassAttrs:
    """Per-class detection parameters (``NvDsInferDetectionParams`` + DeepStream's filters).

    ``[class-attrs-all]`` sets the defaults, ``[class-attrs-<id>]`` overrides them for one class.
    """

    pre_cluster_threshold: float = 0.2  # DeepStream's default "threshold"
    post_cluster_threshold: float = 0.0
    nms_iou_threshold: float = 0.3
    topk: int = -1  # -1: keep all
    eps: float = 0.0
    group_threshold: int = 0
    minBoxes: int = 0  # noqa: N815 - DeepStream key name
    dbscan_min_score: float = 0.0
    detected_min_w: float = 0.0
    detected_min_h: float = 0.0
    detected_max_w: float = 0.0  # 0: no limit
    detected_max_h: float = 0.0
    roi_top_offset: float = 0.0
    roi_bottom_offset: float = 0.0


@dataclass
class InferConfig:
    """All ``[property]`` keys of an nvinfer config, with DeepStream's defaults.

    ``class_attrs_all`` holds ``[class-attrs-all]``; ``class_attrs_by_id`` the ``[class-attrs-<id>]``
    groups (already merged over ``class-attrs-all``). ``source`` is the config path (or ``"<overrides>"``).
    """

    source: str = "<none>"
    # model files
    onnx_file: str = ""
    model_file: str = ""
    model_engine_file: str = ""
    tlt_encoded_model: str = ""
    tlt_model_key: str = ""
    proto_file: str = ""
    int8_calib_file: str = ""
    labelfile_path: str = ""
    # pre-processing
    net_scale_factor: float = 1.0
    offsets: list[float] = field(default_factory=list)
    model_color_format: int = COLOR_RGB
    infer_dims: list[int] = field(default_factory=list)  # C;H;W as in DeepStream
    network_input_order: int = 0  # 0 NCHW, 1 NHWC
    maintain_aspect_ratio: int = 0
    symmetric_padding: int = 0
    scaling_filter: int = 0
    pad_value: float = 0.0  # vistream extension: letterbox fill value (in pixel units, before normalising)
    # model / network
    batch_size: int = 1
    network_mode: int = 0  # 0 FP32, 1 INT8, 2 FP16
    network_type: int = DETECTOR
    output_blob_names: list[str] = field(default_factory=list)
    output_tensor_meta: int = 0
    num_detected_classes: int = 0
    segmentation_threshold: float = 0.0
    segmentation_output_order: int = -1  # -1: infer from the shape (vistream), 0 NCHW, 1 NHWC
    # where to run
    process_mode: int = PROCESS_MODE_FULL_FRAME
    gie_unique_id: int = 1
    operate_on_gie_id: int = -1
    operate_on_class_ids: list[int] = field(default_factory=list)
    filter_out_class_ids: list[int] = field(default_factory=list)
    interval: int = 0
    input_object_min_width: int = 0
    input_object_min_height: int = 0
    input_object_max_width: int = 0
    input_object_max_height: int = 0
    # classifier
    classifier_threshold: float = 0.0
    classifier_async_mode: int = 0
    secondary_reinfer_interval: int = 0
    classifier_type: str = ""
    # detector post-processing
    cluster_mode: int = CLUSTER_GROUP_RECTANGLES
    parse_bbox_func_name: str = ""
    parse_classifier_func_name: str = ""
    custom_lib_path: str = ""
    # element properties that also live here
    raw_output_file_write: int = 0
    # backend (vistream extension)
    num_threads: int = 2
    backend: str = "onnxruntime"
    gpu_id: int = 0
    class_attrs_all: ClassAttrs = field(default_factory=ClassAttrs)
    class_attrs_by_id: dict[int, ClassAttrs] = field(default_factory=dict)
    # where each key was set ("file:line"), for error messages raised after parsing
    origins: dict[str, str] = field(default_factory=dict)

    def class_attrs(self, class_id: int) -> ClassAttrs:
        """Detection parameters of ``class_id`` (its own group if any, else ``class-attrs-all``)."""
        return self.class_attrs_by_id.get(class_id, self.class_attrs_all)

    def where(self, key: str) -> str:
        """``file:line: key`` of a key (or ``file: key`` when it was not set in the file)."""
        return f"{self.origins.get(key, self.source)}: {key}"

    @property
    def model_path(self) -> str:
        """The model file to load: onnx-file first, then model-engine-file, model-file, tlt-encoded-model."""
        return self.onnx_file or self.model_engine_file or self.model_file or self.tlt_encoded_model

    @property
    def model_key(self) -> str:
        for key in ("onnx-file", "model-engine-file", "model-file", "tlt-encoded-model"):
            if getattr(self, key.replace("-", "_")):
                return key
        return "onnx-file"


# --- value parsers -----------------------------------------------------------------------------------------

def _int(v: str) -> int:
    return int(v.strip(), 0)


def _float(v: str) -> float:
    return float(v.strip())


def _bool(v: str) -> int:
    s = v.strip().lower()
    if s in ("1", "true", "yes", "on"):
        return 1
    if s in ("0", "false", "no", "off"):
        return 0
    raise ValueError(f"expected 0/1 or true/false, got {v.strip()!r}")


def _str(v: str) -> str:
    return v.strip()


def _list(conv: Callable[[str], Any], seps: str = ";,:") -> Callable[[str], list]:
    """``a;b;c`` (config files), ``a:b:c`` (element properties such as infer-on-class-ids) or ``a,b,c``."""
    pattern = f"[{re.escape(seps)}]"

    def parse(v: str) -> list:
        return [conv(p) for p in re.split(pattern, v.strip()) if p.strip()]
    return parse


def _choice(*allowed: int) -> Callable[[str], int]:
    def parse(v: str) -> int:
        x = _int(v)
        if x not in allowed:
            raise ValueError(f"must be one of {', '.join(map(str, allowed))}, got {x}")
        return x
    return parse


def _min(conv: Callable[[str], Any], lo: float, strict: bool = False) -> Callable[[str], Any]:
    def parse(v: str) -> Any:
        x = conv(v)
        if x < lo or (strict and x == lo):
            raise ValueError(f"must be {'>' if strict else '>='} {lo}, got {x}")
        return x
    return parse


def _unit(v: str) -> float:
    x = _float(v)
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"must be in [0, 1], got {x}")
    return x


# [property] keys that vistream implements: key -> parser (attribute = key with '-' -> '_')
PROPERTY_KEYS: dict[str, Callable[[str], Any]] = {
    "onnx-file": _str, "model-file": _str, "model-engine-file": _str, "tlt-encoded-model": _str,
    "tlt-model-key": _str, "proto-file": _str, "int8-calib-file": _str, "labelfile-path": _str,
    "net-scale-factor": _min(_float, 0.0, strict=True), "offsets": _list(_float),
    "model-color-format": _choice(COLOR_RGB, COLOR_BGR, COLOR_GRAY),
    "infer-dims": _list(_min(_int, 1)), "network-input-order": _choice(0, 1),
    "maintain-aspect-ratio": _bool, "symmetric-padding": _bool, "scaling-filter": _choice(0, 1, 2, 3, 4, 5, 6),
    "pad-value": _float,
    "batch-size": _min(_int, 1), "network-mode": _choice(0, 1, 2, 3),
    "network-type": _choice(DETECTOR, CLASSIFIER, SEGMENTATION, INSTANCE_SEGMENTATION, OTHER),
    "output-blob-names": _list(_str, ";"), "output-tensor-meta": _bool, "num-detected-classes": _min(_int, 0),
    "segmentation-threshold": _float, "segmentation-output-order": _choice(0, 1),
    "process-mode": _choice(PROCESS_MODE_FULL_FRAME, PROCESS_MODE_OBJECTS), "gie-unique-id": _min(_int, 0),
    "operate-on-gie-id": _int, "operate-on-class-ids": _list(_int), "filter-out-class-ids": _list(_int),
    "interval": _min(_int, 0), "input-object-min-width": _min(_int, 0), "input-object-min-height": _min(_int, 0),
    "input-object-max-width": _min(_int, 0), "input-object-max-height": _min(_int, 0),
    "classifier-threshold": _unit, "classifier-async-mode": _bool, "secondary-reinfer-interval": _min(_int, 0),
    "classifier-type": _str,
    "cluster-mode": _choice(CLUSTER_GROUP_RECTANGLES, CLUSTER_DBSCAN, CLUSTER_NMS, CLUSTER_DBSCAN_NMS, CLUSTER_NONE),
    "parse-bbox-func-name": _str, "parse-classifier-func-name": _str, "custom-lib-path": _str,
    "raw-output-file-write": _bool, "num-threads": _min(_int, 1), "backend": _str, "gpu-id": _min(_int, 0),
}
# Legacy and DeepStream-only keys that say how TensorRT builds its engine: accepted without a warning, no effect.
IGNORED_PROPERTY_KEYS = frozenset({
    "workspace-size", "enable-dla", "use-dla-core", "force-implicit-batch-dim", "uff-input-order",
    "uff-input-blob-name", "engine-create-func-name", "custom-network-config",
    "output-io-formats", "layer-device-precision", "tensor-meta-pool-size", "scaling-compute-hw",
    "disable-output-host-copy", "crop-objects-to-roi-boundary", "parse-func", "clip-object-outside-roi",
    "dump-input-tensor", "dump-output-tensor", "enable-tensor-rt-fp16", "output-instance-mask",
})
# Known DeepStream keys that vistream does not implement: a warning says so (the value is ignored).
UNSUPPORTED_PROPERTY_KEYS = {
    "mean-file": "subtract a mean image: use offsets (per-channel means) instead",
    "input-tensor-from-meta": "tensors from nvdspreprocess are not supported; nvinfer does its own pre-processing",
}


def _legacy(key: str, value: str) -> list[tuple[str, str]] | None:
    """Deprecated DeepStream keys rewritten to their current form, or None."""
    if key == "is-classifier":
        return [("network-type", "1")] if _bool(value) else []
    if key == "enable-dbscan":
        return [("cluster-mode", "1")] if _bool(value) else []
    if key in ("input-dims", "uff-input-dims"):  # c;h;w;order
        parts = [p for p in re.split(r"[;,]", value) if p.strip()]
        if len(parts) != 4:
            raise ValueError(f"expected 4 values c;h;w;order, got {len(parts)}")
        return [("infer-dims", ";".join(parts[:3])), ("network-input-order", parts[3])]
    if key == "parse-bbox-instance-mask-func-name":
        return [("parse-bbox-func-name", value)]
    return None
PATH_KEYS = ("onnx-file", "model-file", "model-engine-file", "tlt-encoded-model", "proto-file", "int8-calib-file",
             "labelfile-path", "custom-lib-path")

CLASS_ATTR_KEYS: dict[str, Callable[[str], Any]] = {
    "pre-cluster-threshold": _min(_float, 0.0), "threshold": _min(_float, 0.0),
    "post-cluster-threshold": _min(_float, 0.0), "nms-iou-threshold": _unit, "topk": _int,
    "eps": _min(_float, 0.0), "group-threshold": _min(_int, 0), "minBoxes": _min(_int, 0),
    "dbscan-min-score": _min(_float, 0.0),
    "detected-min-w": _min(_float, 0.0), "detected-min-h": _min(_float, 0.0),
    "detected-max-w": _min(_float, 0.0), "detected-max-h": _min(_float, 0.0),
    "roi-top-offset": _min(_float, 0.0), "roi-bottom-offset": _min(_float, 0.0),
}
_CLASS_ATTR_FIELD = {k: ("pre_cluster_threshold" if k == "threshold" else k.replace("-", "_"))
                     for k in CLASS_ATTR_KEYS}

# Element properties (gst-nvinfer) that override the file: property name -> config key.
ELEMENT_PROPERTY_KEYS = {
    "unique-id": "gie-unique-id", "process-mode": "process-mode", "infer-on-gie-id": "operate-on-gie-id",
    "infer-on-class-ids": "operate-on-class-ids", "batch-size": "batch-size", "interval": "interval",
    "model-engine-file": "model-engine-file", "raw-output-file-write": "raw-output-file-write",
    "gpu-id": "gpu-id",
}

_GROUP_RE = re.compile(r"^\[\s*([^\]]+?)\s*\]\s*$")


def _parse_ini(path: Path) -> list[tuple[str, str, str, int]]:
    """``(group, key, value, line)`` for every ``key=value`` line (GKeyFile syntax: ``#`` comments)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read nvinfer config: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (nvinfer configs are UTF-8 key files)") from None
    out = []
    group = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = _GROUP_RE.match(line)
        if m:
            group = m.group(1)
            continue
        if "=" not in line:
            raise ConfigError(f"{path}:{lineno}: expected 'key=value' or '[group]', got {line!r}")
        if group is None:
            raise ConfigError(f"{path}:{lineno}: key outside any group (start with [property])")
        key, value = line.split("=", 1)
        out.append((group, key.strip(), value.strip(), lineno))
    return out


def _parse_yaml(path: Path) -> list[tuple[str, str, str, int]]:
    """The same tuples from DeepStream's YAML form (``property:`` / ``class-attrs-all:`` mappings)."""
    import yaml

    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read nvinfer config: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: invalid YAML: {getattr(e, 'problem', e)}") from None
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path}:{root.start_mark.line + 1}: expected groups (property:, class-attrs-all:)")
    out = []
    for gkey, gval in root.value:
        if not isinstance(gval, yaml.MappingNode):
            raise ConfigError(f"{path}:{gkey.start_mark.line + 1}: group '{gkey.value}' must be a mapping of keys")
        for k, v in gval.value:
            if isinstance(v, yaml.SequenceNode):
                value = ";".join(str(item.value) for item in v.value)
            elif isinstance(v, yaml.ScalarNode):
                value = str(v.value)
            else:
                raise ConfigError(f"{path}:{k.start_mark.line + 1}: {k.value}: expected a value or a list")
            out.append((str(gkey.value), str(k.value), value, k.start_mark.line + 1))
    return out


def _resolve(base: Path, value: str) -> str:
    if not value:
        return value
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base / p))


def load_infer_config(path: str | Path | None, overrides: Mapping[str, Any] | None = None) -> InferConfig:
    """Read an nvinfer config file and apply ``overrides`` (element properties or config keys).

    ``overrides`` keys may be gst-nvinfer element property names (``unique-id``, ``infer-on-gie-id``,
    ``infer-on-class-ids``, ``process-mode``, ``batch-size``, ``interval``, ``model-engine-file``,
    ``raw-output-file-write``) or any ``[property]`` key; ``_`` and ``-`` are interchangeable. Values may be
    Python values or strings in the file's syntax. ``path=None`` builds a config from overrides alone.
    """
    cfg = InferConfig()
    class_groups: dict[str, dict[str, tuple[str, int]]] = {}
    base = Path.cwd()
    if path is not None:
        p = Path(path)
        cfg.source = str(p)
        base = p.parent
        if not p.is_file():
            raise ConfigError(f"{p}: nvinfer config file not found")
        seen_property = False
        entries = _parse_yaml(p) if p.suffix.lower() in (".yml", ".yaml") else _parse_ini(p)
        for group, key, value, line in entries:
            where = f"{p}:{line}"
            if group == "property":
                seen_property = True
                _set_property(cfg, key, value, where, base)
            elif group == "class-attrs-all" or re.fullmatch(r"class-attrs-\d+", group):
                if key not in CLASS_ATTR_KEYS:
                    warnings.warn(f"{where}: unknown key '{key}' in [{group}] ignored", stacklevel=2)
                    continue
                class_groups.setdefault(group, {})[key] = (value, line)
            else:
                warnings.warn(f"{where}: unknown group [{group}] ignored", stacklevel=2)
        if not seen_property:
            raise ConfigError(f"{p}: no [property] group")
        for group in sorted(class_groups, key=lambda g: g != "class-attrs-all"):
            target = cfg.class_attrs_all if group == "class-attrs-all" else dataclasses.replace(cfg.class_attrs_all)
            for key, (value, line) in class_groups[group].items():
                try:
                    setattr(target, _CLASS_ATTR_FIELD[key], CLASS_ATTR_KEYS[key](value))
                except (ValueError, TypeError) as e:
                    raise ConfigError(f"{p}:{line}: {key}: {e}") from None
            if group != "class-attrs-all":
                cfg.class_attrs_by_id[int(group.rsplit("-", 1)[1])] = target
    return apply_overrides(cfg, overrides) if overrides else cfg


def apply_overrides(cfg: InferConfig, overrides: Mapping[str, Any]) -> InferConfig:
    """A copy of ``cfg`` with element properties / config keys applied (see :func:`load_infer_config`)."""
    cfg = dataclasses.replace(cfg, origins=dict(cfg.origins))
    for name, value in overrides.items():
        key = name.replace("_", "-")
        key = ELEMENT_PROPERTY_KEYS.get(key, key)
        if key == "config-file-path":
            continue
        if isinstance(value, (list, tuple)):
            value = ";".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = str(int(value))
        # Element-property paths are relative to the working directory, as in gst-launch.
        _set_property(cfg, key, str(value), f"property '{name}'", Path.cwd(), override=True)
    return cfg


def _set_property(cfg: InferConfig, key: str, value: str, where: str, base: Path, override: bool = False) -> None:
    if key in IGNORED_PROPERTY_KEYS:
        return
    if key in UNSUPPORTED_PROPERTY_KEYS:
        warnings.warn(f"{where}: {key} is not supported ({UNSUPPORTED_PROPERTY_KEYS[key]}); ignored", stacklevel=3)
        return
    try:
        rewritten = _legacy(key, value)
    except ValueError as e:
        raise ConfigError(f"{where}: {key}: {e}") from None
    if rewritten is not None:
        for new_key, new_value in rewritten:
            _set_property(cfg, new_key, new_value, where, base, override)
        return
    parser = PROPERTY_KEYS.get(key)
    if parser is None:
        if override:
            raise ConfigError(f"{where}: unknown nvinfer property '{key}'")
        warnings.warn(f"{where}: unknown key '{key}' in [property] ignored", stacklevel=3)
        return
    try:
        parsed = parser(value)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"{where}: {key}: {e}") from None
    if key in PATH_KEYS:
        # custom-lib-path may also be a Python module name ("pkg.parsers").
        if not (key == "custom-lib-path" and re.fullmatch(r"[A-Za-z_][\w.]*", parsed) and not parsed.endswith((".py", ".so"))):
            parsed = _resolve(base, parsed)
    if key == "infer-dims" and len(parsed) != 3:
        raise ConfigError(f"{where}: {key}: expected 3 values C;H;W, got {len(parsed)}")
    setattr(cfg, key.replace("-", "_"), parsed)
    cfg.origins[key] = where


def read_labels(cfg: InferConfig) -> list[list[str]]:
    """Labels from ``labelfile-path``: one list per output layer.

    Detectors and segmentation: one label per line (a single list). Classifiers: one line per output layer,
    labels separated by ``;``.
    """
    if not cfg.labelfile_path:
        return []
    p = Path(cfg.labelfile_path)
    if not p.is_file():
        raise ConfigError(f"{cfg.where('labelfile-path')}: label file not found: {p}")
    lines = [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln]
    if cfg.network_type == CLASSIFIER:
        return [[s.strip() for s in ln.split(";")] for ln in lines]
    return [lines]
