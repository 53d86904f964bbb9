"""Fuzz the REST API against its own OpenAPI schema (schemathesis): no request may cause a server error,
and responses must match the schema, with and without the bearer token."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.server.server_helpers import DATA, TOKEN, make_manager
from vistream.server.app import create_app

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="module")
def fuzz_manager():
    mgr = make_manager(view=True).start()
    try:
        yield mgr
    finally:
        mgr.stop()


@pytest.fixture
def api_schema(fuzz_manager):
    app = create_app(fuzz_manager, token=TOKEN)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


# the MJPEG stream is endless by design (frames=0); it is exercised in test_api
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path="/api/v1/stream/mjpeg")


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_api_never_answers_5xx(case, fuzz_manager):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    response = case.call(headers=headers)
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500, response.text
    if case.method == "POST" and response.status_code < 400:  # an accepted change needs the token
        anonymous = case.call(headers={"Authorization": "Bearer not-the-token"})
        assert anonymous.status_code == 401, anonymous.text
    # keep a stream for the next cases: the fuzzer may have removed it
    if 0 not in fuzz_manager.streams:
        fuzz_manager.add_source(str(DATA / "traffic_48.mp4"), 0)
