"""DeepStream NvMultiObjectTracker YAML configs (``ll-config-file``) and ``ll-lib-file`` names.

:func:`load_tracker_config` reads the same YAML files DeepStream's ``config_tracker_*.yml`` use (sections
``BaseConfig``, ``TargetManagement``, ``TrajectoryManagement``, ``DataAssociator``, ``StateEstimator``,
``VisualTracker``, ``ReID``) into a :class:`TrackerConfig`. Errors name the file and line.

The algorithm follows from the sections, as in DeepStream:

* ``ReID.reidType`` >= 1 or ``VisualTracker.visualTrackerType`` >= 1 -> ``"DeepSORT"`` (appearance + motion),
* ``StateEstimator.stateEstimatorType`` >= 1 -> ``"ByteTrack"`` when ``DataAssociator.tentativeDetectorConfidence``
  is set above ``minDetectorConfidence`` (two-stage association, like NvSORT's cascaded matching), else ``"SORT"``,
* otherwise ``"IOU"``.

``BaseConfig.trackerAlgorithm`` (a vistream key) picks one explicitly: ``IOU``, ``SORT``, ``ByteTrack``, ``DeepSORT``
(aliases ``NvSORT`` -> ByteTrack, ``NvDeepSORT``/``NvDCF`` -> DeepSORT).

>>> cfg = load_tracker_config("samples/configs/tracker/config_tracker_NvSORT.yml")  # doctest: +SKIP
>>> cfg.algorithm, cfg.target.probation_age  # doctest: +SKIP
('ByteTrack', 0)
"""

from __future__ import annotations

import difflib
import os
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

ALGORITHMS = ("IOU", "SORT", "ByteTrack", "DeepSORT")
_ALGO_ALIASES = {
    "iou": "IOU", "sort": "SORT", "bytetrack": "ByteTrack", "deepsort": "DeepSORT", "nvsort": "ByteTrack",
    "nvdeepsort": "DeepSORT", "nvdcf": "DeepSORT", "appearance": "DeepSORT",
}

# ll-lib-file names DeepStream users put in their configs, mapped to the algorithm they imply (None: the
# algorithm comes from ll-config-file, as with DeepStream's unified NvMultiObjectTracker library).
LL_LIB_FILES: dict[str, str | None] = {
    "libnvds_nvmultiobjecttracker.so": None,
    "libnvds_mot_iou.so": "IOU",
    "libnvds_mot_klt.so": "SORT",
    "libnvds_nvdcf.so": "DeepSORT",
    "vistream": None,
}


class TrackerConfigError(ValueError):
    """A bad tracker config; the message names the file and line."""


@dataclass
class TargetManagementConfig:
    max_targets_per_stream: int = 150
    min_iou_diff_4_new_target: float = 0.5
    probation_age: int = 3
    max_shadow_tracking_age: int = 30
    early_termination_age: int = 1
    enable_bbox_unclipping: bool = False
    min_tracker_confidence: float = 0.0
    output_shadow_tracks: bool = False
    output_terminated_tracks: bool = False
    preserve_stream_update_order: bool = False


@dataclass
class TrajectoryManagementConfig:
    use_unique_id: bool = False
    enable_re_assoc: bool = False
    # How many past frames of boxes each target keeps for the past-frame meta.
    past_frame_history: int = 30


@dataclass
class DataAssociatorConfig:
    data_associator_type: int = 0
    association_matcher_type: int = 0
    check_class_match: bool = True
    min_matching_score_4_overall: float = 0.0
    min_matching_score_4_size_similarity: float = 0.0
    min_matching_score_4_iou: float = 0.0
    min_matching_score_4_visual_similarity: float = 0.0
    min_matching_score_4_reid_similarity: float = 0.0
    matching_score_weight_4_size_similarity: float = 0.0
    matching_score_weight_4_iou: float = 1.0
    matching_score_weight_4_visual_similarity: float = 0.0
    matching_score_weight_4_reid_similarity: float = 0.0
    tentative_detector_confidence: float | None = None
    min_matching_score_4_tentative_iou: float = 0.0
    threshold_mahalanobis: float = -1.0


@dataclass
class StateEstimatorConfig:
    state_estimator_type: int = 0
    process_noise_var_4_loc: float = 2.0
    process_noise_var_4_size: float = 1.0
    process_noise_var_4_vel: float = 0.1
    measurement_noise_var_4_detector: float = 4.0
    measurement_noise_var_4_tracker: float = 16.0
    noise_weight_var_4_loc: float = -0.1
    noise_weight_var_4_vel: float = -0.1
    use_aspect_ratio: bool = False


@dataclass
class VisualTrackerConfig:
    visual_tracker_type: int = 0


@dataclass
class ReIDConfig:
    reid_type: int = 0
    batch_size: int = 1
    reid_feature_size: int = 256
    reid_history_size: int = 100
    infer_dims: tuple[int, int, int] = (256, 128, 3)
    input_order: int = 1  # NCHW=0, NHWC=1
    color_format: int = 1  # RGB=0, BGR=1
    offsets: tuple[float, float, float] = (0.0, 0.0, 0.0)
    net_scale_factor: float = 1.0
    add_feature_normalization: bool = True
    keep_aspc: bool = False
    onnx_file: str = ""
    output_reid_tensor: bool = False


@dataclass
class TrackerConfig:
    """A parsed tracker config. ``algorithm`` is one of :data:`ALGORITHMS`; ``source`` is the file it came from."""

    algorithm: str = "IOU"
    min_detector_confidence: float = 0.0
    target: TargetManagementConfig = field(default_factory=TargetManagementConfig)
    trajectory: TrajectoryManagementConfig = field(default_factory=TrajectoryManagementConfig)
    associator: DataAssociatorConfig = field(default_factory=DataAssociatorConfig)
    state: StateEstimatorConfig = field(default_factory=StateEstimatorConfig)
    visual: VisualTrackerConfig = field(default_factory=VisualTrackerConfig)
    reid: ReIDConfig = field(default_factory=ReIDConfig)
    source: str = "<defaults>"


# DeepStream key -> (dataclass attribute, type). Keys DeepStream has but vistream does not use are listed in
# _IGNORED_KEYS so that real DeepStream configs load without warnings.
_SECTIONS: dict[str, tuple[str, dict[str, tuple[str, type]]]] = {
    "BaseConfig": ("", {
        "minDetectorConfidence": ("min_detector_confidence", float),
        "trackerAlgorithm": ("algorithm", str),
    }),
    "TargetManagement": ("target", {
        "maxTargetsPerStream": ("max_targets_per_stream", int),
        "minIouDiff4NewTarget": ("min_iou_diff_4_new_target", float),
        "probationAge": ("probation_age", int),
        "maxShadowTrackingAge": ("max_shadow_tracking_age", int),
        "earlyTerminationAge": ("early_termination_age", int),
        "enableBboxUnClipping": ("enable_bbox_unclipping", bool),
        "minTrackerConfidence": ("min_tracker_confidence", float),
        "outputShadowTracks": ("output_shadow_tracks", bool),
        "outputTerminatedTracks": ("output_terminated_tracks", bool),
        "preserveStreamUpdateOrder": ("preserve_stream_update_order", bool),
    }),
    "TrajectoryManagement": ("trajectory", {
        "useUniqueID": ("use_unique_id", bool),
        "enableReAssoc": ("enable_re_assoc", bool),
        "pastFrameHistory": ("past_frame_history", int),
    }),
    "DataAssociator": ("associator", {
        "dataAssociatorType": ("data_associator_type", int),
        "associationMatcherType": ("association_matcher_type", int),
        "checkClassMatch": ("check_class_match", bool),
        "minMatchingScore4Overall": ("min_matching_score_4_overall", float),
        "minMatchingScore4SizeSimilarity": ("min_matching_score_4_size_similarity", float),
        "minMatchingScore4Iou": ("min_matching_score_4_iou", float),
        "minMatchingScore4VisualSimilarity": ("min_matching_score_4_visual_similarity", float),
        "minMatchingScore4ReidSimilarity": ("min_matching_score_4_reid_similarity", float),
        "matchingScoreWeight4SizeSimilarity": ("matching_score_weight_4_size_similarity", float),
        "matchingScoreWeight4Iou": ("matching_score_weight_4_iou", float),
        "matchingScoreWeight4VisualSimilarity": ("matching_score_weight_4_visual_similarity", float),
        "matchingScoreWeight4ReidSimilarity": ("matching_score_weight_4_reid_similarity", float),
        "tentativeDetectorConfidence": ("tentative_detector_confidence", float),
        "minMatchingScore4TentativeIou": ("min_matching_score_4_tentative_iou", float),
        "thresholdMahalanobis": ("threshold_mahalanobis", float),
    }),
    "StateEstimator": ("state", {
        "stateEstimatorType": ("state_estimator_type", int),
        "processNoiseVar4Loc": ("process_noise_var_4_loc", float),
        "processNoiseVar4Size": ("process_noise_var_4_size", float),
        "processNoiseVar4Vel": ("process_noise_var_4_vel", float),
        "measurementNoiseVar4Detector": ("measurement_noise_var_4_detector", float),
        "measurementNoiseVar4Tracker": ("measurement_noise_var_4_tracker", float),
        "noiseWeightVar4Loc": ("noise_weight_var_4_loc", float),
        "noiseWeightVar4Vel": ("noise_weight_var_4_vel", float),
        "useAspectRatio": ("use_aspect_ratio", bool),
    }),
    "VisualTracker": ("visual", {
        "visualTrackerType": ("visual_tracker_type", int),
    }),
    "ReID": ("reid", {
        "reidType": ("reid_type", int),
        "batchSize": ("batch_size", int),
        "reidFeatureSize": ("reid_feature_size", int),
        "reidHistorySize": ("reid_history_size", int),
        "inferDims": ("infer_dims", tuple),
        "inputOrder": ("input_order", int),
        "colorFormat": ("color_format", int),
        "offsets": ("offsets", tuple),
        "netScaleFactor": ("net_scale_factor", float),
        "addFeatureNormalization": ("add_feature_normalization", bool),
        "keepAspc": ("keep_aspc", bool),
        "onnxFile": ("onnx_file", str),
        "outputReidTensor": ("output_reid_tensor", bool),
    }),
}

_IGNORED_KEYS = {
    "TargetManagement": {"terminatedTrackFilename"},
    "TrajectoryManagement": {
        "minMatchingScore4Overall", "minTrackletMatchingScore", "minMatchingScore4ReidSimilarity",
        "matchingScoreWeight4TrackletSimilarity", "matchingScoreWeight4ReidSimilarity",
        "minTrajectoryLength4Projection", "prepLength4TrajectoryProjection", "trajectoryProjectionLength",
        "maxAngle4TrackletMatching", "minSpeedSimilarity4TrackletMatching",
        "minBboxSizeSimilarity4TrackletMatching", "maxTrackletMatchingTimeSearchRange",
        "trajectoryProjectionProcessNoiseScale", "trajectoryProjectionMeasurementNoiseScale",
        "trackletSpacialSearchRegionScale", "reidExtractionInterval",
    },
    "VisualTracker": {
        "vtMemLayout", "useColorNames", "useHog", "featureImgSizeLevel", "featureFocusOffsetFactor4Ctr",
        "featureFocusOffsetFactor4Scale", "filterLr", "filterChannelWeightsLr", "gaussianSigma",
    },
    "ReID": {
        "workspaceSize", "networkMode", "tltEncodedModel", "tltModelKey", "inputBlobName", "outputBlobName",
        "uffFile", "modelEngineFile", "calibrationTableFile", "useVPICropScaler",
    },
    "ObjectModelProjection": {"cameraModelFilepath", "outputVisibility", "outputFootLocation",
                              "outputConvexHull", "maxConvexHullSize"},
}


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records the line of every mapping key, so errors can point into the file."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = {}
    lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping[key] = loader.construct_object(value_node, deep=True)
        lines[key] = key_node.start_mark.line + 1
    mapping["__lines__"] = lines
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_directive(text: str) -> str:
    # DeepStream's files start with OpenCV's "%YAML:1.0", which PyYAML rejects; blank it, keeping line numbers.
    lines = text.split("\n")
    if lines and lines[0].startswith("%YAML:"):
        lines[0] = ""
    return "\n".join(lines)


def _convert(value: Any, typ: type, where: str, key: str) -> Any:
    if typ is bool:
        if isinstance(value, bool) or value in (0, 1):
            return bool(value)
        raise TrackerConfigError(f"{where}: {key} must be 0 or 1, got {value!r}")
    if typ is tuple:
        if not isinstance(value, list | tuple):
            raise TrackerConfigError(f"{where}: {key} must be a list, got {value!r}")
        return tuple(value)
    if typ is str:
        return str(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TrackerConfigError(f"{where}: {key} must be a number, got {value!r}")
    if typ is int and float(value) != int(value):
        raise TrackerConfigError(f"{where}: {key} must be an integer, got {value!r}")
    return typ(value)


def normalize_algorithm(name: str, where: str = "trackerAlgorithm") -> str:
    """Canonical algorithm name for ``name`` (case-insensitive; NvSORT/NvDeepSORT/NvDCF aliases)."""
    algo = _ALGO_ALIASES.get(str(name).strip().lower())
    if algo is None:
        raise TrackerConfigError(
            f"{where}: unknown tracker algorithm {name!r}; expected one of {', '.join(ALGORITHMS)} "
            "(or NvSORT, NvDeepSORT, NvDCF)")
    return algo


def parse_tracker_config(text: str, source: str = "<string>") -> TrackerConfig:
    """Parse DeepStream tracker YAML ``text``; ``source`` names it in error messages."""
    try:
        raw = yaml.load(_strip_directive(text), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise TrackerConfigError(f"{source}{line}: invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise TrackerConfigError(f"{source}: invalid YAML: {exc}") from None
    if raw is None:
        raw = {"__lines__": {}}
    if not isinstance(raw, dict):
        raise TrackerConfigError(f"{source}:1: a tracker config must be a mapping of sections, got {type(raw).__name__}")
    cfg = TrackerConfig(source=source)
    explicit_algo = None
    lines = raw.pop("__lines__")
    for section, body in raw.items():
        where = f"{source}:{lines.get(section, 1)}"
        if section not in _SECTIONS and section not in _IGNORED_KEYS:
            hint = difflib.get_close_matches(str(section), list(_SECTIONS), n=1)
            raise TrackerConfigError(f"{where}: unknown section {section!r}"
                                     + (f" (did you mean {hint[0]!r}?)" if hint else ""))
        if body is None:
            continue
        if not isinstance(body, dict):
            raise TrackerConfigError(f"{where}: section {section} must be a mapping of key: value")
        body_lines = body.pop("__lines__")
        attr, keys = _SECTIONS.get(section, ("", {}))
        target = getattr(cfg, attr) if attr else cfg
        for key, value in body.items():
            kwhere = f"{source}:{body_lines.get(key, lines.get(section, 1))}"
            if key not in keys:
                if key in _IGNORED_KEYS.get(section, ()):
                    continue
                hint = difflib.get_close_matches(str(key), list(keys), n=1)
                warnings.warn(f"{kwhere}: unknown key {section}.{key} ignored"
                              + (f" (did you mean {hint[0]!r}?)" if hint else ""), stacklevel=2)
                continue
            name, typ = keys[key]
            if key == "trackerAlgorithm":
                explicit_algo = normalize_algorithm(value, f"{kwhere}: {section}.{key}")
                continue
            setattr(target, name, _convert(value, typ, kwhere, f"{section}.{key}"))
    _validate(cfg, source)
    cfg.algorithm = explicit_algo or _infer_algorithm(cfg)
    return cfg


def _infer_algorithm(cfg: TrackerConfig) -> str:
    if cfg.reid.reid_type >= 1 or cfg.visual.visual_tracker_type >= 1:
        return "DeepSORT"
    if cfg.state.state_estimator_type >= 1:
        tent = cfg.associator.tentative_detector_confidence
        return "ByteTrack" if tent is not None and tent > cfg.min_detector_confidence else "SORT"
    return "IOU"


def _validate(cfg: TrackerConfig, source: str) -> None:
    t = cfg.target
    checks = [
        (t.max_targets_per_stream >= 1, "TargetManagement.maxTargetsPerStream must be >= 1"),
        (0.0 <= t.min_iou_diff_4_new_target <= 1.0, "TargetManagement.minIouDiff4NewTarget must be in [0, 1]"),
        (t.probation_age >= 0, "TargetManagement.probationAge must be >= 0"),
        (t.max_shadow_tracking_age >= 0, "TargetManagement.maxShadowTrackingAge must be >= 0"),
        (t.early_termination_age >= 0, "TargetManagement.earlyTerminationAge must be >= 0"),
        (cfg.trajectory.past_frame_history >= 0, "TrajectoryManagement.pastFrameHistory must be >= 0"),
        (cfg.state.state_estimator_type in (0, 1, 2, 3), "StateEstimator.stateEstimatorType must be 0..3"),
        (cfg.reid.reid_type in (0, 1, 2, 3), "ReID.reidType must be 0..3"),
        (cfg.reid.input_order in (0, 1), "ReID.inputOrder must be 0 (NCHW) or 1 (NHWC)"),
        (cfg.reid.color_format in (0, 1), "ReID.colorFormat must be 0 (RGB) or 1 (BGR)"),
        (len(cfg.reid.infer_dims) == 3, "ReID.inferDims must have 3 entries"),
        (len(cfg.reid.offsets) == 3, "ReID.offsets must have 3 entries"),
    ]
    for ok, msg in checks:
        if not ok:
            raise TrackerConfigError(f"{source}: {msg}")


def load_tracker_config(path: str | os.PathLike | None) -> TrackerConfig:
    """Read a DeepStream tracker YAML file (``ll-config-file``); None gives the IOU tracker's defaults.

    Relative paths inside it (``ReID.onnxFile``) are resolved against the file's folder.
    """
    if path is None:
        return TrackerConfig()
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise TrackerConfigError(f"ll-config-file {str(p)!r}: cannot read: {exc.strerror}") from None
    cfg = parse_tracker_config(text, str(p))
    if cfg.reid.onnx_file and not os.path.isabs(cfg.reid.onnx_file):
        cfg.reid.onnx_file = str((p.parent / cfg.reid.onnx_file).resolve())
    return cfg


def resolve_ll_lib_file(name: str | None) -> str | None:
    """Map an ``ll-lib-file`` value (a DeepStream library path or name) to the algorithm it forces, if any.

    ``/opt/nvidia/deepstream/deepstream/lib/libnvds_nvmultiobjecttracker.so`` gives None (the config decides).
    """
    if name is None or name == "":
        return None
    base = os.path.basename(str(name))
    if base not in LL_LIB_FILES:
        raise TrackerConfigError(
            f"nvtracker: ll-lib-file {name!r} is not a known tracker library; use one of "
            f"{', '.join(sorted(LL_LIB_FILES))}")
    return LL_LIB_FILES[base]


def config_to_dict(cfg: TrackerConfig) -> dict:
    """The config as plain nested dicts (for logging and tests)."""
    out: dict[str, Any] = {}
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        out[f.name] = {g.name: getattr(v, g.name) for g in fields(v)} if hasattr(v, "__dataclass_fields__") else v
    return out
