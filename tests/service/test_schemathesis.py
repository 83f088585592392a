"""Property-based run of the OpenAPI schema (schemathesis, bounded examples): no input gets a 5xx."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from priorauth.http.app import create_app
from priorauth.service import Settings, create_token
from priorauth.store.db import Database


@pytest.fixture
def served(sqlite_url):
    cfg = Settings(database_url=sqlite_url)
    db = Database.open(sqlite_url, cfg)
    with db.session() as s:
        tokens = {role: create_token(s, role, "clinic-a").secret for role in ("submitter", "reviewer", "admin")}
    yield create_app(cfg, db), tokens
    db.dispose()


def role_for(path: str) -> str:
    if path.endswith("/review"):
        return "reviewer"
    if path.startswith("/v1/tokens") or path.startswith("/v1/audit") or path.endswith("/audit"):
        return "admin"
    return "submitter"


def test_no_server_errors(served):
    app, tokens = served
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17

    statuses: Counter[int] = Counter()
    for operation, mode in itertools.product(operations, list(GenerationMode)):
        headers = {"Authorization": f"Bearer {tokens[role_for(operation.path)]}"}

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case) -> None:
            response = case.call(headers=headers)  # noqa: B023 - called within this iteration
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
            assert response.status_code < 500

        try:
            check()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing to make invalid (no parameters, no body)
    assert not failures
    # Both valid and invalid inputs were exercised.
    assert any(200 <= code < 300 for code in statuses) and statuses[422] > 0
