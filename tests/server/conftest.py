"""Fixtures: a running PipelineManager on the 48-frame sample clips (looped, played in real time) and its app."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # for tests.* helpers when run from anywhere

from tests.server.server_helpers import DATA, TOKEN, make_manager  # noqa: E402


@pytest.fixture
def clips() -> dict[str, Path]:
    return {"traffic": DATA / "traffic_48.mp4", "people": DATA / "people_48.mp4"}


@pytest.fixture
def manager():
    mgr = make_manager().start()
    try:
        yield mgr
    finally:
        mgr.stop()


@pytest.fixture
def client(manager):
    from fastapi.testclient import TestClient

    from vistream.server.app import create_app

    app = create_app(manager, token=TOKEN)
    with TestClient(app) as c:
        yield c


