"""Queue sort orders and filters, the dosing block, reviewer approvals' policy period, lookup by key."""

from __future__ import annotations

import pytest
from tests.received import months_on

from priorauth import service
from priorauth.core._errors import RequestError

DOSING = {
    "height_cm": 170,
    "weight_kg": 70,
    "cycle": 1,
    "ndc": "00008-0100-01",
    "hcpcs": "J9229",
    "doses": [{"day": 1, "mg": 1.456}, {"day": 8, "mg": 0.91}, {"day": 15, "units": 10}],
}


def submit(client, headers, request, **extra):
    r = client.post("/v1/requests", json={**request, **extra}, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


def ids(client, headers, **params):
    r = client.get("/v1/requests", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


def test_sort_orders_and_urgency_and_status_filters(client, auth, example):
    submitter, reviewer = auth("submitter"), auth("reviewer", "plan")
    a = submit(client, submitter, example("pended-comorbidities-unknown"))["id"]  # standard
    b = submit(client, submitter, example("pended-comorbidities-unknown"), urgency="expedited")["id"]
    c = submit(client, auth("submitter", "clinic-b"), example("approved-adult-relapsed"))["id"]  # standard
    d = submit(client, submitter, example("denied-pediatric-combination"))["id"]  # awaiting_review, standard

    assert ids(client, reviewer) == [b, a, c, d]  # default: soonest due
    assert ids(client, reviewer, sort="-due") == [d, c, a, b]
    assert ids(client, reviewer, sort="created") == [a, b, c, d]
    assert ids(client, reviewer, sort="-created") == [d, c, b, a]
    assert ids(client, reviewer, sort="urgency") == [b, a, c, d]  # expedited first, then soonest due
    assert ids(client, reviewer, sort="status") == [c, d, b, a]  # approved, awaiting_review, pended
    assert ids(client, reviewer, urgency="expedited") == [b]
    assert ids(client, reviewer, urgency="standard", sort="-created") == [d, c, a]
    # open requests: comma-separated or repeated
    assert ids(client, reviewer, status="pended,awaiting_review") == [b, a, d]
    assert ids(client, reviewer, status=["pended", "awaiting_review"], sort="created") == [a, b, d]
    assert ids(client, submitter, status="approved") == []  # another organisation's
    page = client.get("/v1/requests", params={"sort": "created", "limit": 2, "offset": 2}, headers=reviewer).json()
    assert [r["id"] for r in page["items"]] == [c, d] and page["total"] == 4


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "priority-xyz"}, "sort"),
        ({"urgency": "urgent-xyz"}, "urgency"),
        ({"status": "pended,closed-xyz"}, "status"),
        ({"status": ["approved", "closed-xyz"]}, "status"),
    ],
)
def test_bad_sort_urgency_or_status_is_422_naming_the_field(client, auth, params, field):
    r = client.get("/v1/requests", params=params, headers=auth("reviewer", "plan"))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field and "xyz" not in r.text


def test_service_validates_sort_urgency_and_statuses(db, token):
    secret = token("reviewer", "plan")
    with db.session() as session:
        who = service.authenticate(session, secret)
        for filters, page, field in [
            (service.RequestFilters(urgency="soon"), None, "urgency"),
            (service.RequestFilters(status=()), None, "status"),
            (None, service.Page(sort="name"), "sort"),
        ]:
            with pytest.raises(RequestError) as exc:
                service.list_requests(session, who, filters, page)
            assert exc.value.field == field
        listed = service.list_requests(session, who, service.RequestFilters(status=service.OPEN_STATUSES))
        assert listed.total == 0


def test_dosing_is_stored_decided_with_and_kept_when_information_is_added(client, auth, example):
    submitter, reviewer = auth("submitter"), auth("reviewer", "plan")
    stored = submit(client, submitter, example("approved-adult-relapsed"), dosing=DOSING)
    assert stored["dosing"]["doses"][0] == {"day": 1, "mg": 1.456}
    check = stored["determination"]["dose_check"]
    assert check is not None and check["outcome"] == "approved" and check["x12_action"] == "A1"
    again = client.get(f"/v1/requests/{stored['id']}", headers=reviewer).json()
    assert again["dosing"] == stored["dosing"] and again["determination"]["dose_check"] == check

    pended = submit(client, submitter, example("pended-comorbidities-unknown"), dosing=DOSING)
    assert pended["status"] == "pended" and pended["determination"]["dose_check"] is not None
    r = client.post(
        f"/v1/requests/{pended['id']}/information", json={"facts": {"substantial_comorbidities": False}},
        headers=submitter,
    )
    assert r.status_code == 200, r.text
    assert r.json()["dosing"] == pended["dosing"] and r.json()["determination"]["dose_check"] is not None

    without = submit(client, submitter, example("approved-adult-relapsed"))
    assert without["dosing"] is None and without["determination"]["dose_check"] is None


def test_dosing_changes_the_decision_and_the_idempotency_fingerprint(client, auth, example):
    submitter = auth("submitter")
    too_much = {**DOSING, "doses": [{"day": 1, "mg": 5.0}]}
    stored = submit(client, submitter, example("approved-adult-relapsed"), dosing=too_much)
    assert stored["determination"]["dose_check"]["outcome"] != "approved"
    key = {**submitter, "Idempotency-Key": "dose-1"}
    first = client.post("/v1/requests", json={**example("approved-adult-relapsed"), "dosing": DOSING}, headers=key)
    replay = client.post("/v1/requests", json={**example("approved-adult-relapsed"), "dosing": DOSING}, headers=key)
    assert first.status_code == 201 and replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
    other = client.post("/v1/requests", json={**example("approved-adult-relapsed"), "dosing": too_much}, headers=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_bad_dosing_is_refused_naming_the_field_and_nothing_is_stored(client, auth, example):
    submitter = auth("submitter")
    bad = {**DOSING, "weight_kg": "seventy"}
    r = client.post("/v1/requests", json={**example("approved-adult-relapsed"), "dosing": bad}, headers=submitter)
    assert r.status_code == 422 and r.json()["field"] == "dosing.weight_kg" and "seventy" not in r.text
    assert client.get("/v1/requests", headers=submitter).json()["total"] == 0


def review(client, reviewer, stored, action="approve", **extra):
    body = {"action": action, "note": "Clinical exception.", "expected_version": stored["version"], **extra}
    return client.post(f"/v1/requests/{stored['id']}/review", json=body, headers=reviewer)


def test_reviewer_approval_of_an_engine_denial_carries_the_policy_period(client, auth, example):
    submitter, reviewer = auth("submitter"), auth("reviewer", "plan")
    denied = submit(client, submitter, example("denied-pediatric-combination"))
    assert denied["status"] == "awaiting_review" and denied["determination"] is None  # withheld from the submitter
    r = review(client, reviewer, denied)
    assert r.status_code == 200, r.text
    start = denied["received_on"]
    end = months_on(start, 6)
    assert r.json()["authorization"] == {
        "start": start,  # the request date (the day received), as for an engine approval
        "end": end,
        "max_cycles": 6,
        "max_units": 63,
        "unit_window_days": 21,
        "hcpcs": "J9229",
        "renewable": False,
        "cycles_remaining": 6,
    }
    modified = review(
        client, reviewer, submit(client, submitter, example("denied-pediatric-combination")),
        "approve_with_modification", modification={"max_units": 40},
    ).json()["authorization"]
    assert modified["max_units"] == 40 and modified["end"] == end and modified["max_cycles"] == 6


def test_reviewer_approval_without_request_date_starts_on_the_decision_date(client, auth, example):
    submitter, reviewer = auth("submitter"), auth("reviewer", "plan")
    request = example("pended-comorbidities-unknown")
    del request["facts"]["request_date"]
    pended = submit(client, submitter, request)
    assert pended["status"] == "pended"
    r = review(client, reviewer, pended)
    assert r.status_code == 200, r.text
    period, decided = r.json()["authorization"], r.json()["decided_at"][:10]
    assert period["start"] == decided and period["max_units"] == 63


def test_renewal_without_its_first_authorization_date_needs_the_reviewers_period(client, auth, example):
    submitter, reviewer = auth("submitter"), auth("reviewer", "plan")
    request = example("renewal-within-period")
    request["facts"]["cycles_received"] = 6
    del request["facts"]["first_authorization_date"]
    denied = submit(client, submitter, request)
    assert denied["status"] == "awaiting_review"
    r = review(client, reviewer, denied)
    assert r.status_code == 422 and r.json()["field"] == "modification"
    assert "first_authorization_date" in r.json()["detail"]
    r = review(
        client, reviewer, denied, "approve_with_modification",
        modification={"start": "2026-06-15", "end": "2026-07-31", "max_cycles": 1},
    )
    assert r.status_code == 200, r.text
    period = r.json()["authorization"]
    assert (period["start"], period["end"], period["max_cycles"], period["max_units"]) == (
        "2026-06-15", "2026-07-31", 1, 63,
    )


def test_lookup_by_idempotency_key_is_scoped_and_audited(db, token, client, auth, example):
    headers = {**auth("submitter"), "Idempotency-Key": "claim-7"}
    stored = client.post("/v1/requests", json=example("approved-adult-relapsed"), headers=headers).json()
    secrets = token("submitter"), token("submitter", "clinic-b"), token("reviewer", "plan")
    with db.session() as session:
        own, other, reviewer = (service.authenticate(session, s) for s in secrets)
        assert service.request_by_idempotency_key(session, own, "claim-7").id == stored["id"]
        assert service.request_by_idempotency_key(session, reviewer, "claim-7", org="clinic-a").id == stored["id"]
        for who, org in ((other, None), (other, "clinic-a"), (own, "clinic-b"), (reviewer, None)):
            with pytest.raises(service.NotFound):
                service.request_by_idempotency_key(session, who, "claim-7", org=org)
        with pytest.raises(service.NotFound):
            service.request_by_idempotency_key(session, own, "never-used")
        with pytest.raises(service.Forbidden):
            service.request_by_idempotency_key(session, service.ENGINE, "claim-7")
        events = service.audit_events(session, reviewer, stored["id"])
    reads = [e for e in events if e["action"] == "read"]
    expected = [(own.token_id, "submitter"), (reviewer.token_id, "reviewer")]
    assert [(e["actor"], e["actor_role"]) for e in reads] == expected
