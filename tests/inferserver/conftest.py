"""Shared helpers for the nvinferserver tests: sample configs, real frames, batches."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # for tests.servers and tests.infer when run from anywhere

CONFIGS = ROOT / "samples" / "configs"
IS_CONFIGS = CONFIGS / "inferserver"
REPO = IS_CONFIGS / "triton_model_repo"
PGIE = IS_CONFIGS / "config_infer_primary_yoloX.txt"
PGIE_GRPC = IS_CONFIGS / "config_infer_primary_yoloX_grpc.txt"
SGIE = IS_CONFIGS / "config_infer_secondary_vehicle_classifier.txt"
TRAFFIC_48 = ROOT / "tests" / "data" / "traffic_48.mp4"


def write_config(tmp_path: Path, text: str, name: str = "cfg.txt") -> Path:
    """A config file next to a copy-free link of the sample model repository (so relative roots resolve)."""
    p = tmp_path / name
    p.write_text(text)
    link = tmp_path / "triton_model_repo"
    if not link.exists():
        link.symlink_to(REPO, target_is_directory=True)
    return p


def grpc_config(tmp_path: Path, url: str, template: Path = PGIE_GRPC) -> Path:
    """The gRPC sample config pointing at ``url`` (labels path made absolute)."""
    text = template.read_text().replace('url: "localhost:8001"', f'url: "{url}"')
    text = text.replace('"../../models/coco80_labels.txt"', f'"{CONFIGS.parent / "models" / "coco80_labels.txt"}"')
    p = tmp_path / f"grpc_{abs(hash(url))}.txt"
    p.write_text(text)
    return p
