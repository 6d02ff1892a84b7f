"""Property-based tests of the HTTP API from its own OpenAPI schema (schemathesis).

Every documented operation — verification, picture upload, published lists, audit, health,
metrics — gets generated requests, valid and invalid, with an admin key (which every endpoint
admits). None may answer 5xx, and every answer must match the schema: a documented status
code and content type, and a body of the documented shape. The number of examples per
operation is bounded so the run stays short.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.service.apptools import Api, copy_demo, running_api

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Iterator[Api]:
    data = copy_demo(demo_dir, tmp_path_factory.mktemp("schemathesis") / "data")
    # A generous rate: generated requests must not turn into 429s.
    with running_api(data, rate_limit=100_000) as api:
        yield api


@pytest.fixture(scope="module")
def api_schema(running: Api) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", running.app)


POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
# Invalid requests are generated where the schema constrains something to violate: a body or
# bounded query parameters (free-form path parameters have no invalid values).
CASES = [
    ("POST", "/v1/verify", POSITIVE),
    ("POST", "/v1/verify", NEGATIVE),
    ("POST", "/v1/verify/image", POSITIVE),
    ("POST", "/v1/verify/image", NEGATIVE),
    ("GET", "/v1/trust-list", POSITIVE),
    ("GET", "/v1/status/{list_id}", POSITIVE),
    ("GET", "/v1/rules/{region}", POSITIVE),
    ("GET", "/v1/audit", POSITIVE),
    ("GET", "/v1/audit", NEGATIVE),
    ("GET", "/healthz", POSITIVE),
    ("GET", "/metrics", POSITIVE),
]


@pytest.mark.parametrize(
    ("method", "path", "mode"), CASES, ids=[f"{m} {p} {g.value}" for m, p, g in CASES]
)
def test_api_conforms_to_its_schema(
    running: Api,
    api_schema: schemathesis.BaseSchema,
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    operation = api_schema[path][method]
    headers = running.auth("admin")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    call()
    if (method, path, mode) == ("POST", "/v1/verify", POSITIVE):
        # Valid requests got through to the verifier (and so to the audit log).
        assert running.service.database.audit.count() > 0
