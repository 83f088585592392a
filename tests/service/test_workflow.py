"""The reviewer workflow through the REST API, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor


def submit(client, headers, request, **extra):
    return client.post("/v1/requests", json={**request, **extra}, headers=headers)


def test_newcomer_flow_pended_information_recommendation_review(client, auth, example):
    submitter, reviewer, admin = auth("submitter"), auth("reviewer", "plan"), auth("admin", "plan")
    r = submit(client, submitter, example("pended-comorbidities-unknown"), urgency="expedited")
    assert r.status_code == 201
    req = r.json()
    assert r.headers["location"] == f"/v1/requests/{req['id']}"
    assert req["status"] == "pended" and req["version"] == 1
    assert req["determination"]["missing_facts"] == ["substantial_comorbidities"]

    r = client.post(
        f"/v1/requests/{req['id']}/information", json={"facts": {"substantial_comorbidities": True}}, headers=submitter
    )
    assert r.status_code == 200
    req = r.json()
    # An engine denial is a recommendation: it waits for a clinical reviewer, and the submitter
    # does not see it until the reviewer decides.
    assert req["status"] == "awaiting_review" and req["engine_decision"] is None
    assert req["decided_at"] is None and req["version"] == 2

    r = client.post(
        f"/v1/requests/{req['id']}/review",
        json={"action": "deny", "note": "Criteria III not met", "expected_version": 2},
        headers=reviewer,
    )
    assert r.status_code == 200
    final = r.json()
    assert final["status"] == "denied" and final["review"] == {"action": "deny", "note": "Criteria III not met"}
    assert final["engine_decision"] == "denied"  # shown to everyone once the outcome is final
    assert final["decided_by"].startswith("tok_")

    events = client.get(f"/v1/requests/{req['id']}/audit", headers=reviewer).json()["events"]
    actions = [e["action"] for e in events]
    assert actions == ["create", "decision", "information", "decision", "review"]
    assert all(e["policy_version"] == "2025-06-24" for e in events)
    assert events[2]["detail"]["facts"] == ["substantial_comorbidities"]
    assert events[4]["actor_role"] == "reviewer"
    assert client.get("/v1/audit/verify", headers=admin).json()["ok"] is True


def test_engine_approval_is_final_and_carries_the_authorization(client, auth, example):
    r = submit(client, auth("submitter"), example("approved-adult-relapsed"))
    req = r.json()
    assert req["status"] == "approved" and req["decided_by"] == "engine"
    assert req["authorization"]["hcpcs"] == "J9229"
    r = client.post(
        f"/v1/requests/{req['id']}/review",
        json={"action": "deny", "note": "x", "expected_version": 1},
        headers=auth("reviewer", "plan"),
    )
    assert r.status_code == 409 and r.json()["code"] == "state_conflict"


def test_medicare_request_is_not_applicable_with_routing(client, auth, example):
    req = submit(client, auth("submitter"), example("medicare-virginia")).json()
    assert req["status"] == "not_applicable"
    assert req["determination"]["routing"]["jurisdiction"]


def test_idempotency_key_returns_the_first_result_never_a_duplicate(client, auth, example):
    headers = {**auth("submitter"), "Idempotency-Key": "visit-42"}
    first = submit(client, headers, example("approved-adult-relapsed"))
    again = submit(client, headers, example("approved-adult-relapsed"))
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = submit(client, headers, example("pended-comorbidities-unknown"))
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    listed = client.get("/v1/requests", headers=headers).json()
    assert listed["total"] == 1


def test_concurrent_retries_with_one_key_store_one_request(client, auth, example):
    headers = {**auth("submitter"), "Idempotency-Key": "burst"}
    body = example("pended-comorbidities-unknown")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: submit(client, headers, body), range(16)))
    assert {r.status_code for r in results} <= {200, 201}
    assert len({r.json()["id"] for r in results}) == 1
    assert client.get("/v1/requests", headers=headers).json()["total"] == 1


def test_second_reviewer_with_a_stale_version_gets_409(client, auth, example):
    req = submit(client, auth("submitter"), example("denied-pediatric-combination")).json()
    assert req["status"] == "awaiting_review"
    first, second = auth("reviewer", "plan"), auth("reviewer", "plan")
    ok = client.post(
        f"/v1/requests/{req['id']}/review",
        json={"action": "approve", "note": "Exception granted", "expected_version": 1},
        headers=first,
    )
    assert ok.status_code == 200 and ok.json()["status"] == "approved" and ok.json()["version"] == 2
    late = client.post(
        f"/v1/requests/{req['id']}/review", json={"action": "deny", "note": "No", "expected_version": 1}, headers=second
    )
    assert late.status_code == 409 and late.json()["code"] == "version_conflict"
    assert client.get(f"/v1/requests/{req['id']}", headers=first).json()["status"] == "approved"


def test_approve_with_modification_changes_the_authorization(client, auth, example):
    submitter, reviewer = auth("submitter"), auth("reviewer", "plan")
    req = submit(client, submitter, example("pended-comorbidities-unknown")).json()
    r = client.post(
        f"/v1/requests/{req['id']}/review",
        headers=reviewer,
        json={
            "action": "approve_with_modification",
            "note": "Two cycles first",
            "expected_version": 1,
            "modification": {"max_cycles": 2, "start": "2026-03-02", "end": "2026-05-01"},
        },
    )
    assert r.status_code == 200
    out = r.json()
    assert out["status"] == "approved" and out["authorization"]["max_cycles"] == 2
    assert out["review"]["action"] == "approve_with_modification"
    bad = client.post(
        f"/v1/requests/{req['id']}/review",
        headers=reviewer,
        json={"action": "approve_with_modification", "note": "x", "expected_version": 2, "modification": {}},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "modification"


def test_information_only_while_pended(client, auth, example):
    submitter = auth("submitter")
    req = submit(client, submitter, example("approved-adult-relapsed")).json()
    r = client.post(
        f"/v1/requests/{req['id']}/information", json={"facts": {"with_rituximab": True}}, headers=submitter
    )
    assert r.status_code == 409


def test_due_times_follow_urgency(client, auth, example):
    submitter = auth("submitter")
    std = submit(client, submitter, example("pended-comorbidities-unknown")).json()
    exp = submit(client, submitter, example("pended-comorbidities-unknown"), urgency="expedited").json()
    due = lambda r: dt.datetime.fromisoformat(r["due_at"]) - dt.datetime.fromisoformat(r["created_at"])  # noqa: E731
    assert due(std) == dt.timedelta(days=7)
    assert due(exp) == dt.timedelta(hours=72)
    assert std["overdue"] is False


def test_metrics_count_outcomes_and_time_to_decision(client, auth, example):
    submitter, reviewer = auth("submitter"), auth("reviewer", "plan")
    submit(client, submitter, example("approved-adult-relapsed"))
    submit(client, submitter, example("pended-comorbidities-unknown"))
    denied = submit(client, submitter, example("denied-pediatric-combination")).json()
    client.post(
        f"/v1/requests/{denied['id']}/review",
        headers=reviewer,
        json={"action": "approve", "note": "ok", "expected_version": 1},
    )
    m = client.get("/v1/metrics", headers=submitter).json()
    assert m["requests"] == 3
    assert m["share_approved"] == round(2 / 3, 4)
    assert m["share_approved_after_review"] == round(1 / 3, 4)
    assert m["share_pended"] == round(1 / 3, 4)
    assert m["time_to_decision"]["standard"]["decided"] == 2
    assert m["time_to_decision"]["standard"]["median_hours"] is not None


def test_policies_and_questions(client, auth):
    h = auth("submitter")
    assert [p["id"] for p in client.get("/v1/policies", headers=h).json()["policies"]] == ["besponsa", "blincyto"]
    assert client.get("/v1/policies/besponsa", headers=h).json()["hcpcs"] == "J9229"
    questions = client.get("/v1/policies/besponsa/questions", headers=h).json()["questions"]
    assert any(q["id"] == "birth_date" for q in questions)
    assert client.get("/v1/policies/nope", headers=h).status_code == 404


def test_evaluate_stores_nothing(client, auth, example):
    h = auth("submitter")
    r = client.post("/v1/evaluate", json=example("approved-adult-relapsed"), headers=h)
    assert r.status_code == 200 and r.json()["decision"] == "approved"
    assert "trace" in client.post("/v1/evaluate?trace=true", json=example("approved-adult-relapsed"), headers=h).json()
    assert client.get("/v1/requests", headers=h).json()["total"] == 0


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["database"] == "ok" and "besponsa" in ready["policies"]
    assert "/v1/requests" in client.get("/openapi.json").json()["paths"]


def test_full_trace_on_request(client, auth, example):
    h = auth("submitter")
    req = client.post("/v1/requests", json=example("pended-comorbidities-unknown"), headers=h).json()
    assert "trace" not in req
    tree = client.get(f"/v1/requests/{req['id']}", params={"trace": "true"}, headers=h).json()["trace"]
    assert tree["criterion"] and tree["status"] == "unknown" and tree["children"]
