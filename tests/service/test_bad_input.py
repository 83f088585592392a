"""Bad input gets a 4xx problem-details body naming the field, never echoing the value; nothing is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from priorauth.store.models import CoverageRequest

SECRET_VALUE = "Zebulon-Quartermaine"


def count(db) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(CoverageRequest)).scalar_one()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, "request"),
        (b"", 400, "request"),
        (b"[1, 2]", 422, "request"),
        (b'{"policy": "besponsa", "facts": {}, "colour": "' + SECRET_VALUE.encode() + b'"}', 422, "request"),
        (b'{"facts": {}}', 422, "policy"),
        (b'{"policy": "nope", "facts": {}}', 422, "policy"),
        (
            b'{"policy": "besponsa", "facts": {"cd22_positive": "' + SECRET_VALUE.encode() + b'"}}',
            422,
            "facts.cd22_positive",
        ),
        (b'{"policy": "besponsa", "facts": {"nickname": "' + SECRET_VALUE.encode() + b'"}}', 422, "facts"),
        (b'{"policy": "besponsa", "facts": {"birth_date": "1970-02-30"}}', 422, "facts.birth_date"),
        (b'{"policy": "besponsa", "facts": {"regimen": "' + SECRET_VALUE.encode() + b'"}}', 422, "facts.regimen"),
        (b'{"policy": "besponsa", "facts": [1]}', 422, "facts"),
        (b'{"policy": "besponsa", "urgency": "urgent"}', 422, "urgency"),
        (b'{"policy": "besponsa", "patient": {"name": 5}}', 422, "patient.name"),
        (b'{"policy": "besponsa", "patient": {"ssn": "' + SECRET_VALUE.encode() + b'"}}', 422, "patient"),
    ],
)
def test_bad_submission_is_refused_and_not_stored(client, auth, db, body, status, field):
    r = client.post("/v1/requests", content=body, headers={**auth("submitter"), "Content-Type": "application/json"})
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["field"] == field and problem["status"] == status and problem["type"].startswith("urn:")
    assert SECRET_VALUE not in r.text
    # An unknown key is named by its position, never echoed (issue 14): "colour", "nickname", "ssn".
    assert not any(key in r.text for key in ("colour", "nickname", "ssn"))
    assert count(db) == 0


def test_oversized_body_is_refused_by_its_declared_length(client, auth, db):
    big = b'{"policy": "besponsa", "facts": {"tki": "' + b"x" * 70_000 + b'"}}'
    r = client.post("/v1/requests", content=big, headers=auth("submitter"))
    assert r.status_code == 413 and r.json()["code"] == "body_too_large"
    assert count(db) == 0


def test_oversized_streamed_body_is_refused(client, auth, db):
    def chunks():
        yield b'{"policy": "besponsa", "facts": {"tki": "'
        for _ in range(20):
            yield b"x" * 4096
        yield b'"}}'

    r = client.post("/v1/requests", content=chunks(), headers=auth("submitter"))
    assert r.status_code == 413
    assert count(db) == 0


def test_bad_query_parameters_name_the_parameter(client, auth):
    h = auth("reviewer", "plan")
    for params, field in [
        ({"limit": 0}, "limit"),
        ({"status": "lost"}, "status"),
        ({"due_before": "soon"}, "due_before"),
        ({"due_before": "2026-03-09T00:00:00"}, "due_before"),
    ]:
        r = client.get("/v1/requests", params=params, headers=h)
        assert r.status_code == 422 and r.json()["field"] == field, params


def test_review_input_is_checked(client, auth, example):
    req = client.post("/v1/requests", json=example("pended-comorbidities-unknown"), headers=auth("submitter")).json()
    h = auth("reviewer", "plan")
    for body, field in [
        ({"action": "maybe", "note": "x", "expected_version": 1}, "action"),
        ({"action": "deny", "note": "", "expected_version": 1}, "note"),
        ({"action": "deny", "note": "x"}, "expected_version"),
        ({"action": "deny", "note": "x", "expected_version": "1"}, "expected_version"),
        ({"action": "deny", "note": "x", "expected_version": 1, "modification": {"max_cycles": 1}}, "modification"),
    ]:
        r = client.post(f"/v1/requests/{req['id']}/review", json=body, headers=h)
        assert r.status_code == 422 and r.json()["field"] == field, body
    assert client.get(f"/v1/requests/{req['id']}", headers=h).json()["status"] == "pended"


def test_unknown_route_and_method_are_problems(client):
    r = client.get("/v1/nothing")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert client.put("/v1/evaluate").status_code == 405
