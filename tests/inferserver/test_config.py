"""nvinferserver config files: mapping onto nvinfer's config, errors that name file:line, model repositories."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.inferserver.conftest import CONFIGS, PGIE, PGIE_GRPC, SGIE, write_config
from vistream.infer.config import (
    CLASSIFIER,
    CLUSTER_DBSCAN,
    CLUSTER_NMS,
    CLUSTER_NONE,
    COLOR_BGR,
    COLOR_GRAY,
    DETECTOR,
    PROCESS_MODE_OBJECTS,
    ConfigError,
    load_infer_config,
)
from vistream.inferserver import InProcessBackend, find_model, load_inferserver_config
from vistream.inferserver.config import config_from_text, field_lines

MINIMAL = """infer_config {
  unique_id: 5
  max_batch_size: 2
  backend { triton { model_name: "yolox_nano" version: -1 model_repo { root: "./triton_model_repo" } } }
%s
}
%s
"""


def _cfg(tmp_path, infer_extra: str = "", rest: str = ""):
    return load_inferserver_config(write_config(tmp_path, MINIMAL % (infer_extra, rest)))


def test_primary_sample_maps_to_the_nvinfer_sample():
    """Every key that matters for the result equals the nvinfer key-file sample's value."""
    srv = load_inferserver_config(PGIE)
    ref = load_infer_config(CONFIGS / "config_infer_primary_yoloX.txt")
    assert srv.backend_kind == "model_repo" and srv.model_name == "yolox_nano" and srv.model_version == -1
    assert srv.repo_roots == [str(PGIE.parent / "triton_model_repo")]
    skip = {"source", "origins", "onnx_file", "labelfile_path", "infer_dims", "output_tensor_meta"}
    diffs = {f.name: (getattr(srv.infer, f.name), getattr(ref, f.name)) for f in dataclasses.fields(ref)
             if f.name not in skip and getattr(srv.infer, f.name) != getattr(ref, f.name)}
    assert diffs == {}
    assert srv.infer.class_attrs_all.pre_cluster_threshold == 0.3  # float32 0.3 read back as written
    assert srv.infer.model_color_format == COLOR_BGR and srv.infer.pad_value == 114.0
    assert srv.infer.cluster_mode == CLUSTER_NMS and srv.infer.class_attrs_all.topk == 300


def test_secondary_sample_maps_input_control():
    c = load_inferserver_config(SGIE).infer
    assert c.network_type == CLASSIFIER and c.classifier_threshold == 0.2
    assert c.process_mode == PROCESS_MODE_OBJECTS and c.operate_on_gie_id == 1
    assert c.operate_on_class_ids == [2, 5, 7] and c.secondary_reinfer_interval == 30
    assert (c.input_object_min_width, c.input_object_min_height) == (32, 32)
    assert c.net_scale_factor == 0.0078125 and c.offsets == [128.0, 128.0, 128.0]


def test_grpc_sample():
    c = load_inferserver_config(PGIE_GRPC)
    assert c.backend_kind == "grpc" and c.url == "localhost:8001" and c.repo_roots == []


def test_clustering_policies_and_per_class_thresholds(tmp_path):
    post = """postprocess { detection { num_detected_classes: 80
      per_class_params { key: 2 value { pre_threshold: 0.6 } }
      per_class_params [ { key: 0, value { pre_threshold: 0.25 } } ]
      dbscan { pre_threshold: 0.35 eps: 0.2 min_boxes: 3 min_score: 0.5 } } }"""
    c = _cfg(tmp_path, post).infer
    assert c.network_type == DETECTOR and c.cluster_mode == CLUSTER_DBSCAN
    a = c.class_attrs_all
    assert (a.pre_cluster_threshold, a.eps, a.minBoxes, a.dbscan_min_score) == (0.35, 0.2, 3, 0.5)
    assert c.class_attrs(2).pre_cluster_threshold == 0.6 and c.class_attrs(0).pre_cluster_threshold == 0.25
    assert c.class_attrs(2).eps == 0.2  # per-class groups start from the policy's values
    c = _cfg(tmp_path, "postprocess { detection { simple_cluster { threshold: 0.4 } } }").infer
    assert c.cluster_mode == CLUSTER_NONE and c.class_attrs_all.pre_cluster_threshold == 0.4


def test_preprocess_formats_and_element_overrides(tmp_path):
    pre = "preprocess { network_format: IMAGE_FORMAT_GRAY tensor_order: TENSOR_ORDER_NHWC symmetric_padding: true }"
    path = write_config(tmp_path, MINIMAL % (pre, "input_control { interval: 3 operate_on_class_ids: [0, 2] }"))
    c = load_inferserver_config(path).infer
    assert (c.model_color_format, c.network_input_order, c.symmetric_padding) == (COLOR_GRAY, 1, 1)
    assert c.gie_unique_id == 5 and c.batch_size == 2 and c.interval == 3 and c.operate_on_class_ids == [0, 2]
    o = load_inferserver_config(path, {"unique-id": 9, "interval": 0, "batch-size": 8, "process-mode": 0,
                                       "infer-on-class-ids": "2:7"}).infer
    assert (o.gie_unique_id, o.interval, o.batch_size, o.operate_on_class_ids) == (9, 0, 8, [2, 7])
    assert o.process_mode == 1  # process-mode=0 ("default") keeps the file's


def test_syntax_error_names_file_and_line(tmp_path):
    path = write_config(tmp_path, "infer_config {\n  unique_id: 1\n  max_batch_size: four\n}\n")
    with pytest.raises(ConfigError, match=rf"^{path}:3: .*max_batch_size"):
        load_inferserver_config(path)


def test_unknown_field_names_file_and_line(tmp_path):
    path = write_config(tmp_path, MINIMAL % ("  preprocess {\n    network_fromat: IMAGE_FORMAT_RGB\n  }", ""))
    with pytest.raises(ConfigError, match=rf"^{path}:6: .*no field named \"network_fromat\""):
        load_inferserver_config(path)


def test_semantic_errors_name_the_field_line(tmp_path):
    text = 'infer_config {\n  unique_id: 1\n  backend {\n    triton {\n      version: 1\n      model_repo { root: "x" }\n    }\n  }\n}\n'
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError, match=rf"^{path}: infer_config.backend.triton.model_name: is not set"):
        load_inferserver_config(path)
    path = write_config(tmp_path, MINIMAL.replace("unique_id: 5", "unique_id: 0") % ("", ""))
    with pytest.raises(ConfigError, match=rf"^{path}:2: infer_config.unique_id: must be > 0"):
        load_inferserver_config(path)
    path = write_config(tmp_path, "[property]\nonnx-file=x.onnx\n")
    with pytest.raises(ConfigError, match=rf"^{path}:1: "):
        load_inferserver_config(path)


def test_missing_model_in_repository_names_the_root_line(tmp_path):
    from vistream.inferserver import InferServerEngine

    path = write_config(tmp_path, (MINIMAL % ("", "")).replace('"yolox_nano"', '"yolov9"'))
    with pytest.raises(ConfigError, match=rf"^{path}:4: infer_config.backend.triton.model_repo.root: model "
                                          "'yolov9' not found"):
        InferServerEngine(path)


def test_field_lines_ignores_strings_and_comments():
    text = 'a {  # b {\n  s: "x { y"\n  c { d: 1 }\n}\ne: E_VALUE\n'
    assert field_lines(text) == {"a": 1, "a.s": 2, "a.c": 3, "a.c.d": 3, "e": 5}


def test_config_from_text_without_a_file():
    c = config_from_text('infer_config { backend { triton { model_name: "m" grpc { url: "h:1" } } } }')
    assert c.url == "h:1" and c.infer.gie_unique_id == 1 and c.infer.batch_size == 1


# ---- model repository ---------------------------------------------------------------------------------


def test_find_model_reads_config_pbtxt():
    m = find_model([str(PGIE.parent / "triton_model_repo")], "yolox_nano")
    assert m.version == 1 and m.max_batch_size == 0 and m.platform == "onnxruntime_onnx"
    assert [(t.name, t.dtype, t.dims) for t in m.inputs] == [("images", "TYPE_FP32", [1, 3, 416, 416])]
    assert [(t.name, t.dims) for t in m.outputs] == [("output", [1, 3549, 85])]


def _repo(tmp_path, pbtxt: str | None, versions=(1,)):
    d = tmp_path / "repo" / "yolox_nano"
    for v in versions:
        (d / str(v)).mkdir(parents=True, exist_ok=True)
        (d / str(v) / "model.onnx").symlink_to(CONFIGS.parent / "models" / "yolox_nano_416_coco.onnx")
    if pbtxt is not None:
        (d / "config.pbtxt").write_text(pbtxt)
    return str(tmp_path / "repo")


def test_config_pbtxt_dims_must_match_the_model(tmp_path):
    root = _repo(tmp_path, 'name: "yolox_nano"\nplatform: "onnxruntime_onnx"\nmax_batch_size: 0\n'
                           'input [ { name: "images" data_type: TYPE_FP32 dims: [1, 3, 320, 320] } ]\n')
    with pytest.raises(ConfigError, match=r"config.pbtxt: input 'images' dims \[1, 3, 320, 320\]"):
        InProcessBackend([root], "yolox_nano")


def test_config_pbtxt_errors(tmp_path):
    root = _repo(tmp_path, 'name: "yolox_nano"\nplatform: "tensorrt_plan"\n')
    with pytest.raises(ConfigError, match="platform/backend 'tensorrt_plan' cannot run in process"):
        find_model([root], "yolox_nano")
    (tmp_path / "repo" / "yolox_nano" / "config.pbtxt").write_text('name: "yolox_nano"\nmax_batch_size: x\n')
    with pytest.raises(ConfigError, match=r"config.pbtxt:2: "):
        find_model([root], "yolox_nano")
    with pytest.raises(ConfigError, match="has no version 7"):
        find_model([root], "yolox_nano", 7)


def test_newest_version_and_autocomplete_without_config_pbtxt(tmp_path):
    root = _repo(tmp_path, None, versions=(1, 3))
    be = InProcessBackend([root], "yolox_nano")
    assert be.model.version == 3 and be.model.config_path is None
    assert be.input_shape == (1, 3, 416, 416) and be.infer(np.zeros((2, 3, 416, 416), np.float32))["output"].shape \
        == (2, 3549, 85)
    with pytest.raises(ConfigError, match="strict_model_config is set but .*config.pbtxt is missing"):
        InProcessBackend([root], "yolox_nano", strict=True)


def test_unknown_config_pbtxt_field_warns_with_line(tmp_path):
    root = _repo(tmp_path, 'name: "yolox_nano"\nplatform: "onnxruntime_onnx"\noptimization { priority: 1 }\n')
    with pytest.warns(UserWarning, match=r"config.pbtxt:3: .*optimization"):
        m = find_model([root], "yolox_nano")
    assert m.platform == "onnxruntime_onnx"
