"""Patient, prescriber and contact on stored requests (issue 12, item 9) and the request date of a stored
submission: the day received, a short window before it, a reviewer's back-dating (item 10)."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
import sqlalchemy as sa

from priorauth.service.records import npi_check_digit_ok
from priorauth.store import db as store_db
from priorauth.store.models import AuditEvent

PATIENT = {"name": "Wilhelmina Quackenbush", "member_id": "MBR-778899"}
PRESCRIBER = {"name": "Dr. Ottoline Vashti", "npi": "1234567893"}
CONTACT = {"name": "Hester Quayle", "phone": "+1 (503) 555-0147", "email": "hester.quayle@clinic.example"}
PHI = ("Wilhelmina", "Quackenbush", "MBR-778899", "Ottoline", "1234567893", "Hester", "555-0147", "hester.quayle")


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def post(client, headers, request, **extra):
    return client.post("/v1/requests", json={**request, **extra}, headers=headers)


def test_the_npi_check_digit_is_luhn_over_80840_and_the_first_nine_digits():
    assert npi_check_digit_ok("1234567893")  # the CMS example
    assert npi_check_digit_ok("1245319599")
    assert not npi_check_digit_ok("1234567890")
    assert not npi_check_digit_ok("1245319590")
    assert not npi_check_digit_ok("123456789")
    assert not npi_check_digit_ok("12345678９3")


def test_people_are_stored_shown_and_optional_on_the_rest_door(client, auth, example):
    submitter = auth("submitter")
    bare = post(client, submitter, example("pended-comorbidities-unknown"))
    assert bare.status_code == 201 and bare.json()["prescriber"] is None and bare.json()["contact"] is None
    r = post(client, submitter, example("pended-comorbidities-unknown"), patient=PATIENT, prescriber=PRESCRIBER,
             contact=CONTACT)
    assert r.status_code == 201, r.text
    seen = client.get(f"/v1/requests/{r.json()['id']}", headers=auth("reviewer", "plan")).json()
    assert (seen["patient"], seen["prescriber"], seen["contact"]) == (PATIENT, PRESCRIBER, CONTACT)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"prescriber": {**PRESCRIBER, "npi": "1234567890"}}, "prescriber.npi"),
        ({"prescriber": {**PRESCRIBER, "npi": "12345"}}, "prescriber.npi"),
        ({"prescriber": {"name": PRESCRIBER["name"]}}, "prescriber.npi"),
        ({"contact": {"name": CONTACT["name"]}}, "contact"),
        ({"contact": {**CONTACT, "email": "hester.quayle at clinic"}}, "contact.email"),
        ({"contact": {**CONTACT, "phone": "call Hester"}}, "contact.phone"),
    ],
)
def test_bad_people_are_refused_naming_the_field_never_the_value(client, auth, example, change, field):
    submitter = auth("submitter")
    r = post(client, submitter, example("approved-adult-relapsed"), patient=PATIENT,
             **{"prescriber": PRESCRIBER, "contact": CONTACT, **change})
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert not any(value in r.text for value in PHI)
    assert client.get("/v1/requests", headers=submitter).json()["total"] == 0


def test_the_queue_searches_by_member_id_and_by_part_of_the_name(client, auth, example):
    submitter, reviewer = auth("submitter"), auth("reviewer", "plan")
    request = example("pended-comorbidities-unknown")
    wanted = post(client, submitter, request, patient=PATIENT).json()["id"]
    post(client, submitter, request, patient={"name": "Quentin Blake", "member_id": "MBR-1"})
    post(client, submitter, request)

    def found(**params):
        r = client.get("/v1/requests", params=params, headers=reviewer)
        assert r.status_code == 200, r.text
        return [item["id"] for item in r.json()["items"]]

    assert found(member_id="MBR-778899") == [wanted]
    assert found(member_id="MBR-7788") == []  # a member id is matched exactly
    assert found(name="quackenBUSH") == [wanted]  # any part of the name, in any case
    assert found(name="wilhelmina   quack") == [wanted]
    assert len(found(name="Q")) == 2
    assert found(name="100%") == []  # LIKE wildcards are matched as text
    assert found(name="quack", member_id="MBR-1") == []
    # Another organisation's submitter finds nothing, even by the exact member id.
    r = client.get("/v1/requests", params={"member_id": "MBR-778899"}, headers=auth("submitter", "clinic-b"))
    assert r.json()["total"] == 0


def test_people_and_search_terms_never_reach_the_logs_or_the_audit_trail(client, auth, example, caplog, db):
    caplog.set_level(logging.DEBUG)
    submitter, reviewer = auth("submitter"), auth("reviewer", "plan")
    request = example("pended-comorbidities-unknown")
    r = post(client, submitter, request, patient=PATIENT, prescriber=PRESCRIBER, contact=CONTACT)
    assert r.status_code == 201
    rid = r.json()["id"]
    client.get(f"/v1/requests/{rid}", headers=reviewer)
    client.get("/v1/requests", params={"name": "Wilhelmina", "member_id": "MBR-778899"}, headers=reviewer)
    post(client, submitter, request, patient=PATIENT, prescriber={**PRESCRIBER, "npi": "1234567890"})
    body = {"request_date": (today() - dt.timedelta(days=20)).isoformat(), "expected_version": 1,
            "note": "Hester Quayle phoned on the 3rd for Wilhelmina Quackenbush"}
    assert client.post(f"/v1/requests/{rid}/request-date", json=body, headers=reviewer).status_code == 200
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")  # httpx: the test client's
    assert rid in logged
    assert not [value for value in PHI if value in logged]
    with db.session() as session:
        details = [json.dumps(e.detail) for e in session.execute(sa.select(AuditEvent)).scalars()]
    trail = "\n".join(details)
    assert not [value for value in PHI if value in trail]
    create = json.loads(next(d for d in details if '"people"' in d))
    assert create["people"] == ["patient", "prescriber", "contact"]  # which parts were given, never who


def test_a_stored_submission_is_dated_the_day_received(client, auth, example):
    submitter = auth("submitter")
    request = example("approved-adult-relapsed")
    del request["facts"]["request_date"]
    r = post(client, submitter, request)
    assert r.status_code == 201
    assert r.json()["facts"]["request_date"] == today().isoformat() == r.json()["received_on"]


@pytest.mark.parametrize("days_before", [0, 1, 3])
def test_a_submitted_request_date_within_the_window_is_kept(client, auth, example, days_before):
    day = (today() - dt.timedelta(days=days_before)).isoformat()
    request = example("approved-adult-relapsed")
    request["facts"]["request_date"] = day
    r = post(client, auth("submitter"), request)
    assert r.status_code == 201 and r.json()["facts"]["request_date"] == day


@pytest.mark.parametrize("days_before", [4, 300, -1])
def test_a_request_date_outside_the_window_or_after_receipt_is_refused(client, auth, example, days_before):
    submitter = auth("submitter")
    request = example("approved-adult-relapsed")
    request["facts"]["request_date"] = (today() - dt.timedelta(days=days_before)).isoformat()
    r = post(client, submitter, request)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "facts.request_date" and r.json()["code"] == "request_date_out_of_window"
    assert client.get("/v1/requests", headers=submitter).json()["total"] == 0


def test_information_cannot_move_the_request_date_out_of_the_window(client, auth, example):
    submitter = auth("submitter")
    pended = post(client, submitter, example("pended-comorbidities-unknown")).json()
    old = (today() - dt.timedelta(days=10)).isoformat()
    r = client.post(f"/v1/requests/{pended['id']}/information",
                    json={"facts": {"request_date": old, "substantial_comorbidities": False}}, headers=submitter)
    assert r.status_code == 422 and r.json()["field"] == "facts.request_date"


def test_only_a_reviewer_back_dates_further_with_a_note_kept_out_of_the_audit_detail(client, auth, example):
    submitter, reviewer = auth("submitter"), auth("reviewer", "plan")
    pended = post(client, submitter, example("pended-comorbidities-unknown")).json()
    day = (today() - dt.timedelta(days=45)).isoformat()
    note = "The clinic's fax of the 14th was lost in our mail room."
    body = {"request_date": day, "note": note, "expected_version": 1}
    assert client.post(f"/v1/requests/{pended['id']}/request-date", json=body, headers=submitter).status_code == 403
    future = {**body, "request_date": (today() + dt.timedelta(days=1)).isoformat()}
    r = client.post(f"/v1/requests/{pended['id']}/request-date", json=future, headers=reviewer)
    assert r.status_code == 422 and r.json()["field"] == "request_date"
    r = client.post(f"/v1/requests/{pended['id']}/request-date", json=body, headers=reviewer)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["facts"]["request_date"] == day and out["version"] == 2
    assert out["backdated"]["request_date"] == day and out["backdated"]["note"] == note
    assert out["backdated"]["previous"] == pended["facts"]["request_date"]
    events = client.get(f"/v1/requests/{pended['id']}/audit", headers=reviewer).json()["events"]
    backdate = next(e for e in events if e["action"] == "backdate")
    assert backdate["detail"]["facts"] == ["request_date"] and len(backdate["detail"]["note_sha256"]) == 64
    assert note not in json.dumps(events) and day not in json.dumps(events)
    stale = client.post(f"/v1/requests/{pended['id']}/request-date", json=body, headers=reviewer)
    assert stale.status_code == 409


def test_evaluate_keeps_the_callers_date(client, auth, example):
    request = example("approved-adult-relapsed")
    request["facts"]["request_date"] = "2026-03-02"  # a what-if on any day: nothing is stored
    r = client.post("/v1/evaluate", json=request, headers=auth("submitter"))
    assert r.status_code == 200 and r.json()["decision"] == "approved"
    assert client.post("/v1/evaluate", json={**request, "patient": PATIENT}, headers=auth("submitter")).status_code \
        == 422  # facts only


def test_the_member_id_search_keeps_the_queue_order_on_an_index(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = store_db.make_engine(url)
    store_db.upgrade(url, engine=engine)
    sql = "EXPLAIN QUERY PLAN SELECT id FROM coverage_requests WHERE member_id = 'M' ORDER BY due_at, id LIMIT 50"
    with engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.execute(sa.text(sql)))
        name_plan = " ".join(str(row[-1]) for row in conn.execute(sa.text(
            "EXPLAIN QUERY PLAN SELECT id FROM coverage_requests WHERE patient_name_key LIKE '%ann%' "
            "ORDER BY due_at, id LIMIT 50")))
    engine.dispose()
    assert "TEMP B-TREE" not in plan and "ix_request_member_due" in plan
    assert "TEMP B-TREE" not in name_plan and "ix_request_due" in name_plan


def test_migration_0007_fills_the_search_keys_of_requests_stored_before_it(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'b.db'}"
    engine = store_db.make_engine(url)
    store_db.upgrade(url, engine=engine, revision="0006")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO api_tokens (id, token_sha256, role, org, label, created_at) "
                             "VALUES ('tok_1', 'x', 'submitter', 'o', '', '2026-01-01')"))
        conn.execute(sa.text(
            "INSERT INTO coverage_requests (id, policy_id, policy_version, policy_digest, urgency, status, version, "
            "facts, patient, determination, engine_decision, submitter_org, submitted_by, request_sha256, created_at, "
            "updated_at, due_at) VALUES ('req_1', 'besponsa', '2025-06-24', '', 'standard', 'pended', 1, '{}', :p, "
            "'{}', 'pended', 'o', 'tok_1', 'x', '2026-01-01', '2026-01-01', '2026-01-02')"),
            {"p": json.dumps({"name": "Jane  MARY Doe", "member_id": "M1"})})
    store_db.upgrade(url, engine=engine, revision="0007")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT member_id, patient_name_key FROM coverage_requests")).all() == [
            ("M1", "jane mary doe")]
    command.downgrade(store_db.alembic_config(url), "0006")
    with engine.connect() as conn:
        assert "member_id" not in [r[1] for r in conn.execute(sa.text("PRAGMA table_info(coverage_requests)"))]
    engine.dispose()
