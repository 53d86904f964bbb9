"""DeepStream tracker YAML: sample configs, algorithm selection, ll-lib-file names, file:line errors."""

from __future__ import annotations

import pytest

from vistream.track import TrackerConfigError, load_tracker_config, parse_tracker_config, resolve_ll_lib_file
from vistream.track.config import config_to_dict

from .conftest import CONFIGS


@pytest.mark.parametrize("name, algo", [
    ("config_tracker_IOU.yml", "IOU"), ("config_tracker_SORT.yml", "SORT"),
    ("config_tracker_NvSORT.yml", "ByteTrack"), ("config_tracker_NvDeepSORT.yml", "DeepSORT"),
    ("config_tracker_NvSORT_MOT15.yml", "ByteTrack"), ("config_tracker_NvDeepSORT_MOT15.yml", "DeepSORT"),
])
def test_sample_configs_pick_their_algorithm(name, algo):
    cfg = load_tracker_config(CONFIGS / name)
    assert cfg.algorithm == algo
    assert cfg.source.endswith(name)


def test_values_are_read_into_the_config():
    cfg = load_tracker_config(CONFIGS / "config_tracker_NvDeepSORT.yml")
    assert cfg.min_detector_confidence == pytest.approx(0.3)
    assert cfg.target.max_shadow_tracking_age == 60
    assert cfg.target.probation_age == 0
    assert cfg.associator.tentative_detector_confidence == pytest.approx(0.6)
    assert cfg.associator.threshold_mahalanobis == pytest.approx(9.4877)
    assert cfg.state.noise_weight_var_4_loc == pytest.approx(0.05)
    assert cfg.reid.infer_dims == (256, 128, 3)
    # onnxFile is resolved against the config's folder
    assert cfg.reid.onnx_file.endswith("samples/models/person_reid_retail_0248.onnx")
    assert config_to_dict(cfg)["reid"]["reid_history_size"] == 20


def test_algorithm_inferred_like_deepstream():
    assert parse_tracker_config("TargetManagement: {probationAge: 1}").algorithm == "IOU"
    assert parse_tracker_config("StateEstimator: {stateEstimatorType: 1}").algorithm == "SORT"
    two_stage = "BaseConfig: {minDetectorConfidence: 0.1}\nStateEstimator: {stateEstimatorType: 2}\n" \
                "DataAssociator: {tentativeDetectorConfidence: 0.5}"
    assert parse_tracker_config(two_stage).algorithm == "ByteTrack"
    assert parse_tracker_config("ReID: {reidType: 1}").algorithm == "DeepSORT"
    assert parse_tracker_config("VisualTracker: {visualTrackerType: 1}").algorithm == "DeepSORT"
    assert parse_tracker_config("BaseConfig: {trackerAlgorithm: nvsort}").algorithm == "ByteTrack"


def test_unknown_algorithm_names_file_and_line(tmp_path):
    p = tmp_path / "trk.yml"
    p.write_text("%YAML:1.0\nBaseConfig:\n  minDetectorConfidence: 0.2\n  trackerAlgorithm: KLT\n")
    with pytest.raises(TrackerConfigError, match=r"trk\.yml:4: .*unknown tracker algorithm 'KLT'"):
        load_tracker_config(p)


def test_bad_yaml_names_file_and_line(tmp_path):
    p = tmp_path / "bad.yml"
    p.write_text("BaseConfig:\n  minDetectorConfidence: 0.2\nTargetManagement:\n  probationAge: [1, 2\n")
    with pytest.raises(TrackerConfigError, match=r"bad\.yml:5: invalid YAML"):
        load_tracker_config(p)


def test_wrong_type_and_unknown_section(tmp_path):
    p = tmp_path / "t.yml"
    p.write_text("TargetManagement:\n  probationAge: 2.5\n")
    with pytest.raises(TrackerConfigError, match=r"t\.yml:2: TargetManagement\.probationAge must be an integer"):
        load_tracker_config(p)
    p.write_text("BaseConfig: {}\nTargetManagment:\n  probationAge: 2\n")
    with pytest.raises(TrackerConfigError, match=r"t\.yml:2: unknown section 'TargetManagment' "
                                                 r"\(did you mean 'TargetManagement'\?\)"):
        load_tracker_config(p)
    p.write_text("StateEstimator:\n  stateEstimatorType: 7\n")
    with pytest.raises(TrackerConfigError, match="stateEstimatorType must be 0..3"):
        load_tracker_config(p)


def test_unknown_key_warns_with_line_and_deepstream_only_keys_are_silent(tmp_path):
    p = tmp_path / "w.yml"
    p.write_text("TargetManagement:\n  probationAge: 2\n  maxShadowTrackingAg: 5\n"
                 "VisualTracker:\n  visualTrackerType: 0\n  useColorNames: 1\n")
    with pytest.warns(UserWarning, match=r"w\.yml:3: unknown key TargetManagement\.maxShadowTrackingAg .*"
                                         r"did you mean 'maxShadowTrackingAge'") as rec:
        cfg = load_tracker_config(p)
    assert len(rec) == 1  # useColorNames is a DeepStream key: accepted quietly
    assert cfg.target.probation_age == 2


def test_missing_file_is_named():
    with pytest.raises(TrackerConfigError, match="ll-config-file 'nope.yml': cannot read"):
        load_tracker_config("nope.yml")


def test_ll_lib_file_names():
    assert resolve_ll_lib_file("/opt/nvidia/deepstream/deepstream/lib/libnvds_nvmultiobjecttracker.so") is None
    assert resolve_ll_lib_file("libnvds_mot_iou.so") == "IOU"
    assert resolve_ll_lib_file("libnvds_nvdcf.so") == "DeepSORT"
    with pytest.raises(TrackerConfigError, match="ll-lib-file 'libfoo.so' is not a known tracker library"):
        resolve_ll_lib_file("libfoo.so")
