"""PAS `$submit` carries the patient and the prescriber in its Bundle: both are required, stored with the
request and shown to a reviewer (issue 12, item 9); the request is dated the day received (item 10)."""

from __future__ import annotations

import datetime as dt

import pytest


def _practitioner(bundle: dict) -> dict:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Practitioner")


def _stored(client, auth) -> list[dict]:
    return client.get("/v1/requests", headers=auth("reviewer", "plan")).json()["items"]


def test_the_patient_prescriber_and_contact_are_read_from_the_bundle_and_stored(client, auth, fhir_example):
    r = client.post("/fhir/Claim/$submit", json=fhir_example("pas-submit-complete"), headers=auth("submitter"))
    assert r.status_code == 200, r.text
    [stored] = _stored(client, auth)
    assert stored["patient"] == {"name": "Alex Example", "member_id": "M123456"}
    assert stored["prescriber"] == {"name": "Dr. Grace Hopper", "npi": "1234567893"}  # careTeam Practitioner
    assert stored["contact"] == {"name": "Dr. Grace Hopper", "phone": "503-555-0100"}  # Claim.enterer
    assert stored["facts"]["request_date"] == dt.datetime.now(dt.UTC).date().isoformat()


def test_a_prescriber_through_a_practitioner_role_on_claim_provider_is_found(client, auth, fhir_example):
    bundle = fhir_example("pas-submit-complete")
    claim = bundle["entry"][0]["resource"]
    del claim["careTeam"]
    claim["provider"] = {"reference": "PractitionerRole/role-1"}
    bundle["entry"].append({"fullUrl": "http://clinic.example.org/fhir/PractitionerRole/role-1", "resource": {
        "resourceType": "PractitionerRole", "id": "role-1", "practitioner": {"reference": "Practitioner/prescriber-1"},
        "organization": {"reference": "Organization/clinic-1"}}})
    assert client.post("/fhir/Claim/$submit", json=bundle, headers=auth("submitter")).status_code == 200
    assert _stored(client, auth)[0]["prescriber"]["npi"] == "1234567893"


@pytest.mark.parametrize("missing", ["prescriber", "npi", "patient_name", "member_id"])
def test_a_bundle_without_its_patient_or_prescriber_is_refused_and_nothing_is_stored(
    client, auth, fhir_example, missing
):
    bundle = fhir_example("pas-submit-complete")
    claim = bundle["entry"][0]["resource"]
    if missing == "prescriber":
        del claim["careTeam"]
    elif missing == "npi":
        _practitioner(bundle)["identifier"] = [{"system": "http://example.org/staff", "value": "77"}]
    elif missing == "patient_name":
        next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient").pop("name")
    else:
        next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Coverage").pop("subscriberId")
    r = client.post("/fhir/Claim/$submit", json=bundle, headers=auth("submitter"))
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome", r.text
    expression = r.json()["issue"][0]["expression"][0]
    assert expression == ("Bundle.entry[0].resource.provider" if missing in ("prescriber", "npi")
                          else "Bundle.entry[0].resource.patient")
    assert _stored(client, auth) == []


def test_an_npi_with_a_wrong_check_digit_is_refused_without_echoing_it(client, auth, fhir_example):
    bundle = fhir_example("pas-submit-complete")
    _practitioner(bundle)["identifier"][0]["value"] = "1234567890"
    r = client.post("/fhir/Claim/$submit", json=bundle, headers=auth("submitter"))
    assert r.status_code == 422 and "prescriber.npi" in r.text and "check digit" in r.text
    assert "1234567890" not in r.text
    assert _stored(client, auth) == []
