"""Hypothesis drives arbitrary JSON, ids and query values at the REST and web doors: never a 5xx.

Runs on SQLite and PostgreSQL (NUL characters and far dates used to fail on PostgreSQL only).
"""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.web.live import sign_in

FACT_KEYS = ["request_type", "request_date", "birth_date", "diagnosis", "icd10_codes", "cd22_positive", "x\x00"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20), st.sampled_from(["9999-12-31", "0001-01-01", "2026-02-30", "2026-03-02"]),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
bodies = st.fixed_dictionaries(
    {"policy": st.sampled_from(["besponsa", "nope", "\x00"])},
    optional={"facts": st.dictionaries(st.sampled_from(FACT_KEYS) | st.text(max_size=8), values, max_size=6),
              "patient": values, "dosing": values, "urgency": values},
)
texts = st.text(max_size=30)
RUN = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def test_rest_bodies_never_5xx(client, auth):
    h = auth("submitter")

    @RUN
    @given(body=bodies)
    def check(body):
        for path in ("/v1/evaluate", "/v1/requests"):
            r = client.post(path, json=body, headers=h)
            assert r.status_code < 500, (path, body, r.text)

    check()


def test_rest_queries_and_ids_never_5xx(client, auth):
    h = auth("reviewer", "plan")

    @RUN
    @given(value=texts, name=st.sampled_from(["status", "policy", "submitter", "due_before", "offset", "limit",
                                              "sort", "urgency", "overdue"]), rid=texts)
    def check(value, name, rid):
        r = client.get("/v1/requests", params={name: value}, headers=h)
        assert r.status_code < 500, (name, value, r.text)
        r = client.get("/v1/requests/" + quote(rid, safe=""), headers=h)
        assert r.status_code < 500, (rid, r.text)

    check()


def test_web_queue_and_forms_never_5xx(app, token):
    from fastapi.testclient import TestClient

    web = TestClient(app, raise_server_exceptions=False)
    signed = sign_in(web, token("submitter"))
    assert signed.status_code == 200

    @RUN
    @given(name=st.sampled_from(["page", "size", "status", "policy", "submitter", "sort", "due", "urgency"]),
           value=texts, form=st.dictionaries(st.sampled_from(FACT_KEYS + ["policy", "urgency"]), texts, max_size=5))
    def check(name, value, form):
        r = web.get("/web/requests", params={name: value})
        assert r.status_code < 500, (name, value)
        r = web.post("/web/requests/preview", data={"policy": "besponsa", **form}, headers={"HX-Request": "true"})
        assert r.status_code < 500, form

    check()
