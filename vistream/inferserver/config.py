"""nvinferserver config files (protobuf text format) -> an :class:`InferServerConfig`.

The file is parsed by protobuf's ``text_format`` against the schema in :mod:`vistream.inferserver.schema`
(DeepStream's field names), then mapped onto the :class:`~vistream.infer.config.InferConfig` that ``nvinfer``
uses, so both elements share pre-processing, decoders, clustering and metadata. Syntax errors and unknown
fields name ``file:line``; semantic errors name ``file:line: field.path``.

>>> cfg = load_inferserver_config("samples/configs/inferserver/config_infer_primary_yoloX.txt")  # doctest: +SKIP
>>> cfg.model_name, cfg.infer.batch_size, cfg.infer.cluster_mode  # doctest: +SKIP
('yolox_nano', 4, 2)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import text_format

from vistream.infer.config import (
    CLASSIFIER,
    CLUSTER_DBSCAN,
    CLUSTER_GROUP_RECTANGLES,
    CLUSTER_NMS,
    CLUSTER_NONE,
    COLOR_BGR,
    COLOR_GRAY,
    COLOR_RGB,
    DETECTOR,
    OTHER,
    PROCESS_MODE_FULL_FRAME,
    PROCESS_MODE_OBJECTS,
    SEGMENTATION,
    ConfigError,
    InferConfig,
    apply_overrides,
)
from vistream.inferserver.schema import plugin_control_class

# gst-nvinferserver element properties -> nvinfer config keys (applied over the file, as DeepStream does)
ELEMENT_OVERRIDES = {"unique-id": "gie-unique-id", "process-mode": "process-mode",
                     "infer-on-gie-id": "operate-on-gie-id", "infer-on-class-ids": "operate-on-class-ids",
                     "batch-size": "batch-size", "interval": "interval"}


@dataclass
class InferServerConfig:
    """A parsed nvinferserver config.

    ``message``: the ``PluginControl`` protobuf message as written; ``infer``: the equivalent nvinfer
    :class:`~vistream.infer.config.InferConfig` (its ``origins`` point at the lines of this file);
    ``backend_kind``: ``"model_repo"`` (in process, or a local Triton) or ``"grpc"`` (a Triton server at
    ``url``); ``model_name`` / ``model_version`` (-1: latest) / ``repo_roots`` (absolute) identify the model;
    ``custom_process`` is ``extra.custom_process_funcion``.
    """

    source: str
    message: Any
    infer: InferConfig
    backend_kind: str
    model_name: str
    model_version: int = -1
    repo_roots: list[str] = field(default_factory=list)
    strict_model_config: bool = False
    url: str = ""
    input_name: str = ""
    output_names: list[str] = field(default_factory=list)
    custom_process: str = ""
    lines: dict[str, int] = field(default_factory=dict)

    def where(self, path: str) -> str:
        """``file:line: path`` for a dotted field path (``infer_config.backend.triton.model_name``)."""
        line = self.lines.get(path)
        return f"{self.source}:{line}: {path}" if line else f"{self.source}: {path}"


def field_lines(text: str) -> dict[str, int]:
    """First line (1-based) of every dotted field path written in a protobuf text file.

    Only used to point error messages at a line after protobuf accepted the file; strings and comments are
    blanked first so that braces inside them do not count.
    """
    lines: dict[str, int] = {}
    stack: list[str] = []
    list_field: list[str | None] = []
    pending: str | None = None  # the last field name, until its value or block starts
    prev = ""
    token_re = re.compile(r"[A-Za-z_]\w*|[-+.\w]+|\S")
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', '""', raw).split("#", 1)[0]
        for tok in token_re.findall(line):
            if tok == "{":
                stack.append(pending or (list_field[-1] if list_field else None) or "?")
                pending = None
            elif tok == "}":
                if stack:
                    stack.pop()
            elif tok == "[":
                list_field.append(pending)
                pending = None
            elif tok == "]":
                if list_field:
                    list_field.pop()
            elif re.fullmatch(r"[A-Za-z_]\w*", tok) and prev not in (":", "[", ","):
                lines.setdefault(".".join([*stack, tok]), lineno)
                pending = tok
            prev = tok
    return lines


def _line_of_error(e: text_format.ParseError) -> int | None:
    line = e.GetLine()
    return line if line else None


def parse_plugin_control(text: str, source: str = "<string>") -> Any:
    """Parse nvinferserver protobuf text into a ``PluginControl`` message; errors name ``source:line``."""
    msg = plugin_control_class()()
    try:
        text_format.Parse(text, msg)
    except text_format.ParseError as e:
        line = _line_of_error(e)
        detail = str(e)
        detail = re.sub(r"^\d+:\d+ : ", "", detail)
        hint = ""
        if "has no field named" in detail:
            hint = " (not an nvinferserver field, or one vistream does not implement: see docs/inferserver.md)"
        raise ConfigError(f"{source}{f':{line}' if line else ''}: {detail}{hint}") from None
    return msg


def load_inferserver_config(path: str | Path, overrides: Mapping[str, Any] | None = None) -> InferServerConfig:
    """Read an nvinferserver config file; ``overrides`` are element properties (``unique-id``,
    ``process-mode``, ``infer-on-gie-id``, ``infer-on-class-ids``, ``batch-size``, ``interval``)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: nvinferserver config file not found")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read nvinferserver config: {e}") from None
    return config_from_text(text, str(p), p.parent, overrides)


def config_from_text(text: str, source: str = "<string>", base: Path | None = None,
                     overrides: Mapping[str, Any] | None = None) -> InferServerConfig:
    """:func:`load_inferserver_config` on text (``base``: directory that relative paths start from)."""
    base = base if base is not None else Path.cwd()
    msg = parse_plugin_control(text, source)
    lines = field_lines(text)
    cfg = _map(msg, source, base, lines)
    if overrides:
        mapped = {}
        for name, value in overrides.items():
            key = name.replace("_", "-")
            if key == "config-file-path":
                continue
            if key == "process-mode" and int(value) == 0:
                continue  # "default": keep the file's mode
            mapped[ELEMENT_OVERRIDES.get(key, key)] = value
        cfg.infer = apply_overrides(cfg.infer, mapped)
    return cfg


def _resolve(base: Path, value: str) -> str:
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base / p))


def _f(x: float) -> float:
    """A proto ``float`` (float32) as the decimal that was written: 0.2, not 0.20000000298023224."""
    return float(f"{x:.7g}")


def _map(msg: Any, source: str, base: Path, lines: dict[str, int]) -> InferServerConfig:
    def where(path: str) -> str:
        line = lines.get(path)
        return f"{source}:{line}" if line else source

    def err(path: str, text: str) -> ConfigError:
        return ConfigError(f"{where(path)}: {path}: {text}")

    if not msg.HasField("infer_config"):
        raise ConfigError(f"{source}: no infer_config {{ ... }} block (is this an nvinfer key file? use nvinfer "
                          "for [property] configs)")
    ic = msg.infer_config
    cfg = InferConfig(source=source)
    origins = cfg.origins

    def origin(key: str, path: str) -> None:
        origins[key] = where(path)

    # --- identity and batching -----------------------------------------------------------------------------
    if ic.HasField("unique_id"):
        if ic.unique_id == 0:
            raise err("infer_config.unique_id", "must be > 0 (it identifies this model's metadata)")
        cfg.gie_unique_id = ic.unique_id
        origin("gie-unique-id", "infer_config.unique_id")
    if ic.gpu_ids:
        cfg.gpu_id = int(ic.gpu_ids[0])
        origin("gpu-id", "infer_config.gpu_ids")
    if ic.max_batch_size:
        cfg.batch_size = int(ic.max_batch_size)
        origin("batch-size", "infer_config.max_batch_size")

    # --- backend -------------------------------------------------------------------------------------------
    be = ic.backend
    which = be.WhichOneof("infer_backend")
    if which is None:
        raise err("infer_config.backend", "no triton { model_name ... } block")
    tp = getattr(be, which)
    tpath = f"infer_config.backend.{which}"
    if not tp.model_name:
        raise err(f"{tpath}.model_name", "is not set")
    server = tp.WhichOneof("server")
    if server is None:
        raise err(tpath, "needs model_repo { root: ... } (in process / local Triton) or grpc { url: ... }")
    out = InferServerConfig(source=source, message=msg, infer=cfg, backend_kind=server, model_name=tp.model_name,
                            model_version=int(tp.version), lines=lines)
    if server == "model_repo":
        if not tp.model_repo.root:
            raise err(f"{tpath}.model_repo.root", "is not set")
        out.repo_roots = [_resolve(base, r) for r in tp.model_repo.root]
        out.strict_model_config = bool(tp.model_repo.strict_model_config)
        cfg.onnx_file = str(Path(out.repo_roots[0]) / tp.model_name)
    else:
        if not tp.grpc.url:
            raise err(f"{tpath}.grpc.url", "is not set (host:port of Triton's gRPC endpoint, e.g. localhost:8001)")
        out.url = tp.grpc.url
        cfg.onnx_file = f"{tp.grpc.url}/{tp.model_name}"
    origin("onnx-file", f"{tpath}.model_name")
    if be.outputs:
        cfg.output_blob_names = [o.name for o in be.outputs]
        out.output_names = list(cfg.output_blob_names)
        origin("output-blob-names", "infer_config.backend.outputs")
    if be.inputs:
        if len(be.inputs) != 1:
            raise err("infer_config.backend.inputs", f"{len(be.inputs)} inputs; vistream feeds one image input")
        out.input_name = be.inputs[0].name
        if be.inputs[0].dims:
            dims = list(be.inputs[0].dims)
            if len(dims) != 3:
                raise err("infer_config.backend.inputs.dims", f"expected 3 dims (C,H,W or H,W,C), got {dims}")
            cfg.infer_dims = dims
            origin("infer-dims", "infer_config.backend.inputs")

    # --- preprocess ----------------------------------------------------------------------------------------
    pp = ic.preprocess
    fmt = pp.network_format
    cfg.model_color_format = {0: COLOR_RGB, 1: COLOR_RGB, 2: COLOR_BGR, 3: COLOR_GRAY}[fmt]
    origin("model-color-format", "infer_config.preprocess.network_format")
    if pp.tensor_order in (1, 2):
        cfg.network_input_order = 0 if pp.tensor_order == 1 else 1
        origin("network-input-order", "infer_config.preprocess.tensor_order")
    if cfg.infer_dims and pp.tensor_order == 2:  # inputs.dims are written H,W,C for NHWC models
        h, w, c = cfg.infer_dims
        cfg.infer_dims = [c, h, w]
    cfg.maintain_aspect_ratio = int(pp.maintain_aspect_ratio)
    cfg.symmetric_padding = int(pp.symmetric_padding)
    origin("maintain-aspect-ratio", "infer_config.preprocess.maintain_aspect_ratio")
    if pp.HasField("frame_scaling_filter"):
        if pp.frame_scaling_filter > 6:
            raise err("infer_config.preprocess.frame_scaling_filter", f"must be 0..6, got {pp.frame_scaling_filter}")
        cfg.scaling_filter = int(pp.frame_scaling_filter)
    if pp.HasField("pad_value"):
        cfg.pad_value = _f(pp.pad_value)
    if pp.HasField("normalize"):
        n = pp.normalize
        if n.scale_factor <= 0:
            raise err("infer_config.preprocess.normalize.scale_factor", f"must be > 0, got {n.scale_factor}")
        cfg.net_scale_factor = _f(n.scale_factor)
        cfg.offsets = [_f(v) for v in n.channel_offsets]
        origin("net-scale-factor", "infer_config.preprocess.normalize.scale_factor")
        origin("offsets", "infer_config.preprocess.normalize.channel_offsets")
        if n.mean_file:
            raise err("infer_config.preprocess.normalize.mean_file", "mean files are not supported; use "
                      "channel_offsets")

    # --- postprocess ---------------------------------------------------------------------------------------
    post = ic.postprocess
    if post.labelfile_path:
        cfg.labelfile_path = _resolve(base, post.labelfile_path)
        origin("labelfile-path", "infer_config.postprocess.labelfile_path")
    kind = post.WhichOneof("process_type")
    ppath = f"infer_config.postprocess.{kind}"
    origin("network-type", ppath if kind else "infer_config.postprocess")
    if kind == "detection":
        _map_detection(cfg, post.detection, ppath, origin)
    elif kind == "classification":
        cfg.network_type = CLASSIFIER
        cfg.classifier_threshold = _f(post.classification.threshold)
        if post.classification.custom_parse_classifier_func:
            cfg.parse_classifier_func_name = post.classification.custom_parse_classifier_func
            origin("parse-classifier-func-name", f"{ppath}.custom_parse_classifier_func")
    elif kind in ("trtis_classification", "triton_classification"):
        cfg.network_type = CLASSIFIER
        cfg.classifier_threshold = _f(getattr(post, kind).threshold)
    elif kind == "segmentation":
        cfg.network_type = SEGMENTATION
        cfg.segmentation_threshold = _f(post.segmentation.threshold)
        if post.segmentation.num_segmentation_classes:
            cfg.num_detected_classes = int(post.segmentation.num_segmentation_classes)
    else:  # "other" or nothing: raw tensors only
        cfg.network_type = OTHER
    if ic.HasField("custom_lib") and ic.custom_lib.path:
        lib = ic.custom_lib.path
        # a Python module name stays as written; files are relative to the config
        cfg.custom_lib_path = lib if re.fullmatch(r"[A-Za-z_][\w.]*", lib) and not lib.endswith((".py", ".so")) \
            else _resolve(base, lib)
        origin("custom-lib-path", "infer_config.custom_lib.path")
    out.custom_process = ic.extra.custom_process_funcion

    # --- input / output control ----------------------------------------------------------------------------
    inc = msg.input_control
    cfg.process_mode = PROCESS_MODE_OBJECTS if inc.process_mode == 2 else PROCESS_MODE_FULL_FRAME
    origin("process-mode", "input_control.process_mode")
    cfg.operate_on_gie_id = int(inc.operate_on_gie_id)
    origin("operate-on-gie-id", "input_control.operate_on_gie_id")
    cfg.operate_on_class_ids = [int(c) for c in inc.operate_on_class_ids]
    cfg.interval = int(inc.interval)
    origin("interval", "input_control.interval")
    cfg.classifier_async_mode = int(inc.async_mode)
    cfg.secondary_reinfer_interval = int(inc.secondary_reinfer_interval)
    bf = inc.object_control.bbox_filter
    cfg.input_object_min_width, cfg.input_object_min_height = int(bf.min_width), int(bf.min_height)
    cfg.input_object_max_width, cfg.input_object_max_height = int(bf.max_width), int(bf.max_height)
    oc = msg.output_control
    cfg.output_tensor_meta = int(oc.output_tensor_meta or cfg.network_type == OTHER)
    dfl = oc.detect_control.default_filter
    if oc.HasField("detect_control"):
        a = cfg.class_attrs_all
        a.detected_min_w, a.detected_min_h = _f(dfl.min_width), _f(dfl.min_height)
        a.detected_max_w, a.detected_max_h = _f(dfl.max_width), _f(dfl.max_height)
        cfg.class_attrs_by_id = {k: dataclasses.replace(v, detected_min_w=a.detected_min_w,
                                                        detected_min_h=a.detected_min_h,
                                                        detected_max_w=a.detected_max_w,
                                                        detected_max_h=a.detected_max_h)
                                 for k, v in cfg.class_attrs_by_id.items()}
    return out


def _map_detection(cfg: InferConfig, det: Any, path: str, origin) -> None:
    cfg.network_type = DETECTOR
    cfg.num_detected_classes = int(det.num_detected_classes)
    origin("num-detected-classes", f"{path}.num_detected_classes")
    if det.custom_parse_bbox_func:
        cfg.parse_bbox_func_name = det.custom_parse_bbox_func
        origin("parse-bbox-func-name", f"{path}.custom_parse_bbox_func")
    a = cfg.class_attrs_all
    policy = det.WhichOneof("clustering_policy")
    origin("cluster-mode", f"{path}.{policy}" if policy else path)
    if policy == "nms":
        cfg.cluster_mode = CLUSTER_NMS
        a.pre_cluster_threshold = _f(det.nms.confidence_threshold)
        a.nms_iou_threshold = _f(det.nms.iou_threshold)
        a.topk = int(det.nms.topk) if det.nms.topk > 0 else -1
    elif policy == "dbscan":
        cfg.cluster_mode = CLUSTER_DBSCAN
        a.pre_cluster_threshold = _f(det.dbscan.pre_threshold)
        a.eps = _f(det.dbscan.eps)
        a.minBoxes = int(det.dbscan.min_boxes)
        a.dbscan_min_score = _f(det.dbscan.min_score)
    elif policy == "group_rectangle":
        cfg.cluster_mode = CLUSTER_GROUP_RECTANGLES
        a.pre_cluster_threshold = _f(det.group_rectangle.confidence_threshold)
        a.group_threshold = int(det.group_rectangle.group_threshold)
        a.eps = _f(det.group_rectangle.eps)
    else:  # simple_cluster or none: threshold only
        cfg.cluster_mode = CLUSTER_NONE
        a.pre_cluster_threshold = _f(det.simple_cluster.threshold) if policy else 0.0
    for class_id, params in det.per_class_params.items():
        cfg.class_attrs_by_id[int(class_id)] = dataclasses.replace(a, pre_cluster_threshold=_f(params.pre_threshold))
