"""Schema-driven fuzzing of the FHIR door (schemathesis over the request bodies the OpenAPI document
declares for CDS Hooks, DTR and PAS): valid-shaped and invalid bodies never get a 5xx."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from priorauth.http.app import create_app
from priorauth.service import create_token

FHIR_PATHS = ("/cds-services/", "/fhir/")


@pytest.fixture
def fhir_app(settings, db):
    with db.session() as s:
        token = create_token(s, "submitter", "clinic-a").secret
    return create_app(settings, db), token


def test_fhir_bodies_never_get_a_server_error(fhir_app):
    app, token = fhir_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [
        op
        for op in (r.ok() for r in schema.get_all_operations())
        if op.method.upper() == "POST" and op.path.startswith(FHIR_PATHS)
    ]
    assert {op.path for op in operations} >= {
        "/cds-services/{service_id}",
        "/fhir/Claim/$submit",
        "/fhir/Claim/$inquire",
        "/fhir/Questionnaire/$questionnaire-package",
    }
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for operation, mode in itertools.product(operations, list(GenerationMode)):

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case) -> None:
            if "service_id" in (case.path_parameters or {}):
                case.path_parameters["service_id"] = "priorauth-crd-order-sign"
            response = case.call(headers={"Authorization": f"Bearer {token}"})  # noqa: B023
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")
            assert response.status_code < 500

        try:
            check()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE
    assert not failures
    assert statuses[200] > 0 and statuses[400] > 0
