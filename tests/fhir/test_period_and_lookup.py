"""A reviewer's approval of an engine denial is certified with the policy's period; CRD's period is the core's."""

from __future__ import annotations

import datetime as dt

from fhir_door_helpers import review_action

from priorauth.core import Decision, Determination, load_policy
from priorauth.fhir import crd

POLICY = load_policy("besponsa")


def test_reviewer_approval_after_engine_denial_is_certified_with_the_policy_period(client, auth, fhir_example):
    submitter, reviewer = auth("submitter"), auth("reviewer", "plan")
    bundle = fhir_example("pas-submit-complete")
    bundle["entry"][1]["resource"]["item"][4]["answer"] = [{"valueBoolean": False}]  # cd22_positive
    r = client.post("/fhir/Claim/$submit", json=bundle, headers=submitter)
    ref = r.json()["entry"][0]["resource"]["preAuthRef"]
    stored = client.get(f"/v1/requests/{ref}", headers=reviewer).json()
    assert stored["status"] == "awaiting_review"
    approved = client.post(f"/v1/requests/{ref}/review", headers=reviewer, json={
        "action": "approve", "note": "CD22 retested positive.", "expected_version": stored["version"]})
    period = approved.json()["authorization"]
    assert period["start"] == stored["facts"]["request_date"] and period["max_units"] == 63

    inquiry = fhir_example("pas-inquire")
    inquiry["entry"][0]["resource"]["identifier"] = bundle["entry"][0]["resource"]["identifier"]
    r = client.post("/fhir/Claim/$inquire", json=inquiry, headers=submitter)
    assert r.status_code == 200, r.text
    assert review_action(r.json()) == "A1"
    assert r.json()["entry"][0]["resource"]["preAuthPeriod"] == {"start": period["start"], "end": period["end"]}
    # The lookup by Claim.identifier goes through the service: audited as the submitter's read.
    events = client.get(f"/v1/requests/{ref}/audit", headers=reviewer).json()["events"]
    assert events[-1]["action"] == "read" and events[-1]["actor_role"] == "submitter"


def test_crd_period_before_approval_is_the_cores():
    pended = Determination("besponsa", "2025-06-24", Decision.PENDED, (), ("cd22_positive",))
    today = dt.date(2026, 5, 1)
    renewal = {"request_type": "renewal", "request_date": dt.date(2026, 4, 1),
               "first_authorization_date": dt.date(2026, 3, 2), "cycles_received": 2}
    period = crd.allowed_period(POLICY, pended, renewal, today)
    assert (period.start, period.end, period.cycles_remaining) == (dt.date(2026, 4, 1), dt.date(2026, 9, 1), 4)
    # Renewal facts not known yet: at most a new authorization's period, from today without a request date.
    period = crd.allowed_period(POLICY, pended, {"request_type": "renewal"}, today)
    assert (period.start, period.end, period.max_units) == (today, dt.date(2026, 10, 31), 63)
