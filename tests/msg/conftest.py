"""Fixtures: one private instance of each broker per test session (started in parallel, stopped at the end)."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # for tests.servers when run from anywhere

from tests.servers.brokers import SERVERS  # noqa: E402

PROTOCOLS = ("mqtt", "amqp", "redis", "kafka")


@pytest.fixture(scope="session")
def brokers():
    """``{protocol: server}`` for every protocol whose server is installed; a missing one fails the test
    that asks for it, with the install command (``.ci/services.sh start`` installs them)."""
    servers = {p: SERVERS[p]() for p in PROTOCOLS if SERVERS[p].available()}
    with ThreadPoolExecutor(len(servers) or 1) as ex:
        errors = {p: f.exception() for p, f in {p: ex.submit(s.start) for p, s in servers.items()}.items()}
    yield {p: s for p, s in servers.items() if errors[p] is None}, errors
    for s in servers.values():
        s.close()


@pytest.fixture
def server(brokers, request):
    """The running server of the protocol named by the test's ``protocol`` parameter."""
    running, errors = brokers
    proto = request.getfixturevalue("protocol")
    if proto not in running:
        err = errors.get(proto)
        pytest.fail(f"{proto} broker not available: {err or 'not installed (run .ci/services.sh start)'}")
    return running[proto]
