"""Access control: every role boundary, organisation scoping, hashed tokens, revocation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from priorauth.store.models import ApiToken

REVIEW = {"action": "approve", "note": "ok", "expected_version": 1}


@pytest.fixture
def pended(client, auth, example):
    r = client.post("/v1/requests", json=example("pended-comorbidities-unknown"), headers=auth("submitter"))
    return r.json()["id"]


# (method, path, body) -> the roles allowed; every other role gets 403.
@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"),
    [
        ("post", "/v1/requests", "submission", {"submitter"}),
        ("post", "/v1/requests/{id}/information", {"facts": {"substantial_comorbidities": False}}, {"submitter"}),
        ("post", "/v1/requests/{id}/review", REVIEW, {"reviewer"}),
        ("get", "/v1/requests/{id}/audit", None, {"reviewer", "admin"}),
        ("get", "/v1/audit/verify", None, {"admin"}),
        ("post", "/v1/tokens", {"role": "submitter", "org": "clinic-z"}, {"admin"}),
        ("get", "/v1/tokens", None, {"admin"}),
        ("get", "/v1/requests/{id}", None, {"submitter", "reviewer", "admin"}),
        ("get", "/v1/requests", None, {"submitter", "reviewer", "admin"}),
        ("get", "/v1/metrics", None, {"submitter", "reviewer", "admin"}),
        ("post", "/v1/evaluate", "evaluation", {"submitter", "reviewer", "admin"}),
    ],
)
@pytest.mark.parametrize("role", ["submitter", "reviewer", "admin"])
def test_role_boundaries(client, auth, example, pended, method, path, body, allowed, role):
    if body in ("submission", "evaluation"):
        body = example("pended-comorbidities-unknown")
    headers = auth(role, "clinic-a")
    r = client.request(method.upper(), path.format(id=pended), json=body, headers=headers)
    if role in allowed:
        assert r.status_code < 400, r.text
    else:
        assert r.status_code == 403 and r.json()["code"] == "forbidden"


@pytest.mark.parametrize("path", ["/v1/requests", "/v1/evaluate", "/v1/metrics", "/v1/policies", "/v1/requests/x"])
@pytest.mark.parametrize("header", [None, "Bearer pa_unknown", "Basic abc", "Bearer "])
def test_every_endpoint_needs_a_valid_token(client, path, header):
    headers = {"Authorization": header} if header else {}
    method = "POST" if path == "/v1/evaluate" else "GET"
    r = client.request(method, path, headers=headers, json={})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_submitters_see_only_their_organisation(client, auth, pended):
    mine, theirs = auth("submitter", "clinic-a"), auth("submitter", "clinic-b")
    assert client.get(f"/v1/requests/{pended}", headers=mine).status_code == 200
    r = client.get(f"/v1/requests/{pended}", headers=theirs)
    assert r.status_code == 404  # not 403: another organisation's request is not even confirmed to exist
    r = client.post(f"/v1/requests/{pended}/information", json={"facts": {"with_rituximab": True}}, headers=theirs)
    assert r.status_code == 404
    assert client.get("/v1/requests", headers=theirs).json()["total"] == 0
    # Their submitter filter cannot widen the scope either.
    assert client.get("/v1/requests", params={"submitter": "clinic-a"}, headers=theirs).json()["total"] == 0
    # Reviewers work across organisations.
    assert client.get(f"/v1/requests/{pended}", headers=auth("reviewer", "plan")).status_code == 200


def test_tokens_are_stored_hashed_and_can_be_revoked(client, auth, db):
    admin = auth("admin", "plan")
    issued = client.post("/v1/tokens", json={"role": "submitter", "org": "clinic-c"}, headers=admin).json()
    secret = issued["token"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/v1/requests", headers=headers).status_code == 200
    with db.session() as session:
        stored = [t.token_sha256 for t in session.execute(select(ApiToken)).scalars()]
    assert secret not in stored and all(len(h) == 64 for h in stored)
    listed = client.get("/v1/tokens", headers=admin).json()["tokens"]
    assert secret not in str(listed)
    assert client.delete(f"/v1/tokens/{issued['id']}", headers=admin).status_code == 204
    assert client.get("/v1/requests", headers=headers).status_code == 401


def test_token_fields_are_checked(client, auth):
    admin = auth("admin", "plan")
    r = client.post("/v1/tokens", json={"role": "superuser", "org": "x"}, headers=admin)
    assert r.status_code == 422 and r.json()["field"] == "role"
    r = client.post("/v1/tokens", json={"role": "reviewer", "org": "no spaces"}, headers=admin)
    assert r.status_code == 422 and r.json()["field"] == "org"
