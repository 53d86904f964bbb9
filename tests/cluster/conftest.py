"""Cluster tests share one real local Ray cluster (head + a second node process) per module."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # for tests.servers when run from anywhere

APP = Path(__file__).resolve().parent / "app_files.txt"
CLIP_URI = (ROOT / "tests" / "data" / "traffic_48.mp4").as_uri()
