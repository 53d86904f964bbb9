"""nvinfer config files: keys, defaults, class attributes, overrides and error messages with file:line."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from vistream.infer import ConfigError, load_infer_config

from .conftest import PGIE, SEG, SGIE_CLS, SGIE_FACE


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config_infer.txt"
    p.write_text(text)
    return p


def test_shipped_configs_load_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for path in (PGIE, SGIE_CLS, SGIE_FACE, SEG):
            load_infer_config(path)
    cfg = load_infer_config(PGIE)
    assert Path(cfg.onnx_file).is_file() and Path(cfg.labelfile_path).is_file()  # relative to the config
    assert (cfg.model_color_format, cfg.maintain_aspect_ratio, cfg.cluster_mode, cfg.batch_size) == (1, 1, 2, 4)
    assert cfg.infer_dims == [3, 416, 416]
    assert cfg.class_attrs(0).pre_cluster_threshold == 0.3 and cfg.class_attrs(0).nms_iou_threshold == 0.45
    cls = load_infer_config(SGIE_CLS)
    assert (cls.process_mode, cls.operate_on_gie_id, cls.operate_on_class_ids) == (2, 1, [2, 5, 7])
    assert cls.offsets == [128.0, 128.0, 128.0] and cls.net_scale_factor == 0.0078125


def test_all_documented_keys_parse(tmp_path):
    cfg = load_infer_config(write(tmp_path, """# comment
[property]
gpu-id=0
net-scale-factor=0.5
offsets=1;2;3
model-color-format=2
onnx-file=m.onnx
model-engine-file=m.onnx_b1_gpu0_fp16.engine
labelfile-path=sub/labels.txt
infer-dims=1;32;64
batch-size=8
network-mode=2
network-type=100
output-tensor-meta=true
process-mode=2
gie-unique-id=7
operate-on-gie-id=3
operate-on-class-ids=0;2
filter-out-class-ids=5
interval=2
num-detected-classes=6
maintain-aspect-ratio=1
symmetric-padding=1
scaling-filter=3
input-object-min-width=10
input-object-min-height=11
input-object-max-width=500
input-object-max-height=600
classifier-threshold=0.51
classifier-async-mode=1
secondary-reinfer-interval=15
segmentation-threshold=0.4
cluster-mode=3
workspace-size=1024

[class-attrs-all]
pre-cluster-threshold=0.4
eps=0.3
minBoxes=2
group-threshold=1
nms-iou-threshold=0.6
topk=20
detected-min-w=4
detected-min-h=5
detected-max-w=300
detected-max-h=400
roi-top-offset=10
roi-bottom-offset=20
post-cluster-threshold=0.5

[class-attrs-2]
pre-cluster-threshold=0.9
"""))
    assert cfg.offsets == [1.0, 2.0, 3.0] and cfg.net_scale_factor == 0.5
    assert (cfg.model_color_format, cfg.batch_size, cfg.network_mode, cfg.network_type) == (2, 8, 2, 100)
    assert (cfg.output_tensor_meta, cfg.process_mode, cfg.gie_unique_id, cfg.operate_on_gie_id) == (1, 2, 7, 3)
    assert (cfg.operate_on_class_ids, cfg.filter_out_class_ids, cfg.interval) == ([0, 2], [5], 2)
    assert (cfg.input_object_min_width, cfg.input_object_max_height, cfg.scaling_filter) == (10, 600, 3)
    assert (cfg.classifier_threshold, cfg.classifier_async_mode, cfg.secondary_reinfer_interval) == (0.51, 1, 15)
    assert cfg.labelfile_path == str(tmp_path / "sub" / "labels.txt")
    assert cfg.model_path == str(tmp_path / "m.onnx") and cfg.model_key == "onnx-file"
    a0, a2 = cfg.class_attrs(0), cfg.class_attrs(2)
    assert (a0.pre_cluster_threshold, a0.eps, a0.minBoxes, a0.topk, a0.roi_bottom_offset) == (0.4, 0.3, 2, 20, 20.0)
    # a class group starts from class-attrs-all and overrides only its own keys
    assert (a2.pre_cluster_threshold, a2.eps, a2.detected_max_h) == (0.9, 0.3, 400.0)


def test_unknown_key_warns_with_file_and_line(tmp_path):
    p = write(tmp_path, "[property]\nbatch-size=2\nnot-a-key=1\n\n[class-attrs-all]\nfoo=2\n[weird]\nx=1\n")
    with pytest.warns(UserWarning) as rec:
        cfg = load_infer_config(p)
    msgs = [str(w.message) for w in rec]
    assert f"{p}:3: unknown key 'not-a-key'" in msgs[0]
    assert f"{p}:6: unknown key 'foo'" in msgs[1]
    assert f"{p}:8" in msgs[2] or "[weird]" in msgs[2]
    assert cfg.batch_size == 2


@pytest.mark.parametrize("line,message", [
    ("batch-size=zero", "batch-size: invalid literal"),
    ("batch-size=0", "batch-size: must be >= 1"),
    ("network-type=5", "network-type: must be one of 0, 1, 2, 3, 100"),
    ("cluster-mode=9", "cluster-mode: must be one of 0, 1, 2, 3, 4"),
    ("model-color-format=3", "model-color-format: must be one of 0, 1, 2"),
    ("net-scale-factor=0", "net-scale-factor: must be > 0"),
    ("maintain-aspect-ratio=maybe", "maintain-aspect-ratio: expected 0/1"),
    ("infer-dims=3;416", "infer-dims: expected 3 values"),
    ("classifier-threshold=1.5", "classifier-threshold: must be in [0, 1]"),
])
def test_bad_value_error_names_file_line_and_key(tmp_path, line, message):
    p = write(tmp_path, f"[property]\ngpu-id=0\n{line}\n")
    with pytest.raises(ConfigError) as e:
        load_infer_config(p)
    assert str(e.value).startswith(f"{p}:3: ")
    assert message in str(e.value)


def test_bad_class_attr_value(tmp_path):
    p = write(tmp_path, "[property]\ngpu-id=0\n[class-attrs-1]\nnms-iou-threshold=2\n")
    with pytest.raises(ConfigError, match=r":4: nms-iou-threshold: must be in \[0, 1\]"):
        load_infer_config(p)


def test_syntax_errors(tmp_path):
    with pytest.raises(ConfigError, match=r":2: expected 'key=value'"):
        load_infer_config(write(tmp_path, "[property]\njust words\n"))
    with pytest.raises(ConfigError, match=r":1: key outside any group"):
        load_infer_config(write(tmp_path, "batch-size=1\n"))
    with pytest.raises(ConfigError, match="no \\[property\\] group"):
        load_infer_config(write(tmp_path, "[class-attrs-all]\ntopk=1\n"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_infer_config(tmp_path / "missing.txt")


def test_element_property_overrides(tmp_path):
    assert load_infer_config(PGIE, {"infer-on-class-ids": "1:2:4"}).operate_on_class_ids == [1, 2, 4]
    cfg = load_infer_config(PGIE, {"unique-id": 5, "infer-on-gie-id": 2, "infer-on-class-ids": [0, 2],
                                   "process-mode": 2, "batch-size": 8, "interval": 3, "raw_output_file_write": True,
                                   "config-file-path": str(PGIE)})
    assert (cfg.gie_unique_id, cfg.operate_on_gie_id, cfg.operate_on_class_ids) == (5, 2, [0, 2])
    assert (cfg.process_mode, cfg.batch_size, cfg.interval, cfg.raw_output_file_write) == (2, 8, 3, 1)
    with pytest.raises(ConfigError, match="property 'batch-size': batch-size: must be >= 1"):
        load_infer_config(PGIE, {"batch-size": 0})
    with pytest.raises(ConfigError, match="unknown nvinfer property 'bogus'"):
        load_infer_config(PGIE, {"bogus": 1})
    only = load_infer_config(None, {"onnx-file": "x.onnx", "network-type": 1})
    assert only.network_type == 1 and only.onnx_file.endswith("x.onnx")


def test_yaml_form_equals_key_file(tmp_path):
    y = tmp_path / "config_infer.yml"
    y.write_text("""property:
  onnx-file: m.onnx
  net-scale-factor: 0.5
  offsets: [1, 2, 3]
  operate-on-class-ids: 0;2
  maintain-aspect-ratio: 1
class-attrs-all:
  pre-cluster-threshold: 0.4
class-attrs-2:
  topk: 5
""")
    cfg = load_infer_config(y)
    assert cfg.offsets == [1.0, 2.0, 3.0] and cfg.operate_on_class_ids == [0, 2] and cfg.net_scale_factor == 0.5
    assert cfg.onnx_file == str(tmp_path / "m.onnx") and cfg.maintain_aspect_ratio == 1
    assert cfg.class_attrs(2).topk == 5 and cfg.class_attrs(2).pre_cluster_threshold == 0.4
    y.write_text("property:\n  batch-size: 1\n  cluster-mode: 7\n")
    with pytest.raises(ConfigError, match=rf"{y.name}:3: cluster-mode: must be one of"):
        load_infer_config(y)
    y.write_text("property:\n  batch-size: 1\n  bogus: 2\n")
    with pytest.warns(UserWarning, match=rf"{y.name}:3: unknown key 'bogus'"):
        load_infer_config(y)


def test_legacy_and_unsupported_keys(tmp_path):
    p = write(tmp_path, "[property]\nis-classifier=1\nenable-dbscan=1\nuff-input-dims=3;257;257;1\n"
                        "parse-bbox-instance-mask-func-name=parse_masks\nworkspace-size=2048\nmean-file=mean.ppm\n")
    with pytest.warns(UserWarning, match=r":7: mean-file is not supported \(subtract a mean image"):
        cfg = load_infer_config(p)
    assert (cfg.network_type, cfg.cluster_mode, cfg.infer_dims, cfg.network_input_order) == (1, 1, [3, 257, 257], 1)
    assert cfg.parse_bbox_func_name == "parse_masks"
    with pytest.raises(ConfigError, match=r":2: input-dims: expected 4 values"):
        load_infer_config(write(tmp_path, "[property]\ninput-dims=3;224;224\n"))
