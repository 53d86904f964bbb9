"""Fixtures: one private instance of each broker per test session.

The servers start in the background as soon as collection finds a ``server`` test in this directory, so
RabbitMQ (the slowest, ~10-20 s) boots while the unit tests run; those tests are moved after the others.
"""

from __future__ import annotations

import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # for tests.servers when run from anywhere

from tests.msg.collectors import PROTOCOLS  # noqa: E402
from tests.servers.brokers import SERVERS, BrokerServer  # noqa: E402

HERE = Path(__file__).resolve().parent


class BrokerPool:
    """Starts every installed broker in parallel; :meth:`get` waits for one."""

    def __init__(self) -> None:
        self.servers: dict[str, BrokerServer] = {p: SERVERS[p]() for p in PROTOCOLS if SERVERS[p].available()}
        self._ex = ThreadPoolExecutor(max(len(self.servers), 1))
        self._futures: dict[str, Future] = {p: self._ex.submit(s.start) for p, s in self.servers.items()}

    def get(self, protocol: str, timeout: float = 90) -> BrokerServer:
        if protocol not in self.servers:
            pytest.fail(f"{SERVERS[protocol].name} is not installed: run '.ci/services.sh start' (installs it)")
        err = self._futures[protocol].exception(timeout)
        if err is not None:
            pytest.fail(f"{protocol} broker failed to start: {err}")
        return self.servers[protocol]

    def close(self) -> None:
        for f in self._futures.values():
            f.exception()
        self._ex.shutdown()
        for s in self.servers.values():
            s.close()


_pool: BrokerPool | None = None


def _here(item) -> bool:
    return HERE in Path(str(item.fspath)).resolve().parents


@pytest.hookimpl(trylast=True)  # after -m / -k deselection: no brokers for deselected server tests
def pytest_collection_modifyitems(session, config, items):
    global _pool
    mine = [it for it in items if _here(it) and it.get_closest_marker("server")]
    if mine and _pool is None and not config.option.collectonly:
        _pool = BrokerPool()
    # server tests of this directory last, those needing RabbitMQ (the slowest to boot) at the very end,
    # so the brokers boot while everything else runs
    def needs_rabbit(it) -> bool:
        params = getattr(getattr(it, "callspec", None), "params", {})
        return params.get("protocol") == "amqp" or "broker_pool" in getattr(it, "fixturenames", ())

    rank = {id(it): 1 + needs_rabbit(it) for it in mine}
    items.sort(key=lambda it: rank.get(id(it), 0))


def pytest_sessionfinish(session, exitstatus):
    global _pool
    if _pool is not None:
        _pool.close()
        _pool = None


@pytest.fixture(scope="session")
def broker_pool() -> BrokerPool:
    global _pool
    if _pool is None:
        _pool = BrokerPool()
    return _pool


@pytest.fixture
def server(broker_pool, request) -> BrokerServer:
    """The running server of the protocol named by the test's ``protocol`` parameter."""
    return broker_pool.get(request.getfixturevalue("protocol"))
