"""M1/M3: no 5xx from bad input on any REST or web route, and free text never in the audit trail.

Runs on SQLite and PostgreSQL (NUL characters and far dates failed only on one of them).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from tests.web.live import sign_in

from priorauth.core import MAX_DEPTH

NUL = "\x00"


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"a": [value]}
    return value


def _deep_body(depth: int) -> bytes:
    return b'{"policy":"besponsa","facts":{"x":' + b"[" * depth + b"]" * depth + b"}}"


@pytest.mark.parametrize("path", ["/v1/evaluate", "/v1/requests"])
def test_json_nested_beyond_the_limit_is_a_400(client, auth, path):
    h = {**auth("submitter"), "Content-Type": "application/json"}
    for depth in (MAX_DEPTH + 5, 1000, 5000):
        r = client.post(path, content=_deep_body(depth), headers=h)
        assert r.status_code == 400, (path, depth, r.text)
        assert r.json()["code"] == "invalid_json" and "nested deeper" in r.json()["detail"]
    # Within the limit it is an ordinary fact problem (422 naming the field), not a parser one.
    r = client.post(path, json={"policy": "besponsa", "facts": {"cd22_positive": nested(10)}}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "facts.cd22_positive"


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "3000-01-01"])
def test_far_dates_are_a_422_naming_the_fact(client, auth, example, day):
    h = auth("submitter")
    body = example("approved-adult-relapsed")
    for fact in ("request_date", "birth_date"):
        bad = {**body, "facts": {**body["facts"], fact: day}}
        for path in ("/v1/evaluate", "/v1/requests"):
            r = client.post(path, json=bad, headers=h)
            assert r.status_code == 422, (path, fact, r.text)
            assert r.json()["field"] == f"facts.{fact}" and "years" in r.json()["detail"]


def test_edge_of_the_supported_years_still_decides(client, auth, example):
    body = example("approved-adult-relapsed")
    late = {**body, "facts": {**body["facts"], "request_date": "2999-12-31"}}
    r = client.post("/v1/evaluate", json=late, headers=auth("submitter"))
    assert r.status_code == 200, r.text


def test_bad_filters_and_ids_name_the_field(client, auth, example):
    h = auth("reviewer", "plan")
    for params, field in [
        ({"due_before": "9999-12-31T23:59:59-05:00"}, "due_before"),
        ({"due_before": "0001-01-01T00:00:00+05:00"}, "due_before"),
        ({"policy": "bes" + NUL}, "policy"),
        ({"submitter": "clinic" + NUL}, "submitter"),
        ({"offset": 10**20}, "offset"),
    ]:
        r = client.get("/v1/requests", params=params, headers=h)
        assert r.status_code == 422 and r.json()["field"] == field, (params, r.text)
    for path in ("/v1/requests/req%00", "/v1/requests/req%00x/audit"):
        r = client.get(path, headers=h)
        assert r.status_code == 422 and r.json()["field"] == "request_id", (path, r.text)
    stored = client.post("/v1/requests", json=example("denied-pediatric-combination"),
                         headers=auth("submitter")).json()
    r = client.post(f"/v1/requests/{stored['id']}/review", headers=h,
                    json={"action": "deny", "note": "a" + NUL, "expected_version": 1})
    assert r.status_code == 422 and r.json()["field"] == "note"
    r = client.delete("/v1/tokens/tok%00", headers=auth("admin", "plan"))
    assert r.status_code == 404
    r = client.post("/v1/tokens", json={"role": "submitter", "org": "x", "label": NUL}, headers=auth("admin", "plan"))
    assert r.status_code == 422 and r.json()["field"] == "label"


def test_web_queue_with_a_huge_page_number_is_not_a_server_error(app, token):
    web = TestClient(app, raise_server_exceptions=False)
    assert sign_in(web, token("reviewer", "plan")).status_code == 200
    for query in ("page=99999999999999999999", "page=-5", "submitter=a%00b", "policy=%00"):
        r = web.get("/web/requests?" + query)
        assert r.status_code < 500, (query, r.status_code)


def test_review_note_is_kept_with_the_request_and_only_hashed_in_the_trail(client, auth, example):
    """M3: a note may name the patient; the append-only trail keeps its SHA-256 only."""
    import hashlib

    note = "Spoke with Jane Q. Patient's oncologist; MRN 00123 reviewed."
    reviewer = auth("reviewer", "plan")
    stored = client.post("/v1/requests", json=example("denied-pediatric-combination"),
                         headers=auth("submitter")).json()
    r = client.post(f"/v1/requests/{stored['id']}/review", headers=reviewer,
                    json={"action": "deny", "note": note, "expected_version": 1})
    assert r.status_code == 200 and r.json()["review"]["note"] == note
    assert client.get(f"/v1/requests/{stored['id']}", headers=reviewer).json()["review"]["note"] == note
    events = client.get(f"/v1/requests/{stored['id']}/audit", headers=reviewer)
    assert "Jane" not in events.text and "MRN" not in events.text
    review = [e for e in events.json()["events"] if e["action"] == "review"][0]
    assert review["detail"]["note_sha256"] == hashlib.sha256(note.encode()).hexdigest()
    assert client.get("/v1/audit/verify", headers=auth("admin", "plan")).json()["ok"] is True


def test_cli_refuses_deep_json_with_exit_2_and_no_traceback(tmp_path):
    path = tmp_path / "deep.json"
    path.write_bytes(_deep_body(1000))
    proc = subprocess.run([sys.executable, "-m", "priorauth.cli", "evaluate", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "nested deeper" in proc.stderr
    far = {"policy": "besponsa", "facts": {"request_date": "9999-12-31"}}
    proc = subprocess.run([sys.executable, "-m", "priorauth.cli", "evaluate", "-"], input=json.dumps(far),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "request_date" in proc.stderr


def test_unknown_keys_are_named_by_position_never_echoed(client, auth, example):
    """L: a key can be a patient's name; errors name the object and the key's position instead."""
    h = auth("submitter")
    body = example("approved-adult-relapsed")
    cases = [
        ({**body, "facts": {**body["facts"], "Jane Doe": True}}, "facts"),
        ({**body, "Jane Doe": 1}, "request"),
        ({**body, "patient": {"name": "x", "Jane Doe": 1}}, "patient"),
    ]
    for request, field in cases:
        for path in ("/v1/requests", "/v1/evaluate"):
            if path == "/v1/evaluate" and field == "patient":
                continue
            r = client.post(path, json=request, headers=h)
            assert r.status_code == 422 and r.json()["field"] == field, (path, r.text)
            assert "Jane" not in r.text and "key " in r.json()["detail"]
    # Known fields are still named by name.
    r = client.post("/v1/requests", json={**body, "facts": {**body["facts"], "cd22_positive": "yes"}}, headers=h)
    assert r.json()["field"] == "facts.cd22_positive"


def test_every_response_carries_the_security_headers(client, auth, app, token):
    paths = ["/healthz", "/v1/policies", "/web/signin", "/web/static/htmx.min.js", "/nowhere", "/openapi.json"]
    for path in paths:
        r = client.get(path, headers=auth("reviewer", "plan"))
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0], path
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["referrer-policy"] == "no-referrer", path
    big = client.post("/v1/evaluate", content=b"x" * 70_000, headers=auth("submitter"))
    assert big.status_code == 413 and big.headers["x-frame-options"] == "DENY"
    # The interactive docs load CDN scripts: not served unless PRIORAUTH_API_DOCS=1.
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404


def test_pages_have_no_inline_script():
    """The CSP forbids inline scripts: no template may carry one (or an on* handler)."""
    import re
    from importlib import resources

    folder = resources.files("priorauth.web") / "templates"
    for item in folder.iterdir():
        text = item.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), item.name
        assert not re.search(r"\son[a-z]+\s*=", text), item.name
        assert "javascript:" not in text, item.name


def test_access_log_lines_drop_the_query_string():
    import logging

    from priorauth.http.security import DropQueryStrings

    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/web/requests?submitter=Jane+Doe", "1.1", 200), None)
    DropQueryStrings().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /web/requests HTTP/1.1" 200'
