"""DTR $questionnaire-package: the Questionnaire and a response pre-filled from the EHR's data."""

from __future__ import annotations

import datetime as dt

from priorauth.core import load_policy
from priorauth.fhir.prefill import read_record

POLICY = load_policy("besponsa").current()
PACKAGE = "/fhir/Questionnaire/$questionnaire-package"


def answers(response: dict) -> dict:
    out = {}
    for item in response.get("item", []):
        for sub in item.get("item", []):
            out[sub["linkId"]] = sub["answer"][0]["valueDecimal"]
        for a in item.get("answer", []):
            value = next(v for k, v in a.items() if k.startswith("value"))
            out.setdefault(item["linkId"], []).append(value["code"] if isinstance(value, dict) else value)
    return out


def test_package_prefills_from_patient_condition_and_observations(client, auth, fhir_example):
    r = client.post(PACKAGE, json=fhir_example("dtr-package-parameters"), headers=auth("submitter"))
    assert r.status_code == 200
    (param,) = r.json()["parameter"]
    assert param["name"] == "PackageBundle"  # DTR 2.0.1 dtr-qpackage-output-parameters
    questionnaire, library, response = (e["resource"] for e in param["resource"]["entry"])
    assert library["resourceType"] == "Library" and library["url"] in questionnaire["extension"][0]["valueCanonical"]
    assert questionnaire["resourceType"] == "Questionnaire"
    assert response["questionnaire"] == "http://priorauth.example.org/fhir/Questionnaire/besponsa|2025-06-24"
    assert response["subject"] == {"reference": "Patient/pat-1"}
    got = answers(response)
    assert got["birth_date"] == ["1970-05-14"] and got["icd10_codes"] == ["C91.02"]
    # The decision date is the day PAS receives the claim; the form says today, never the order's authoredOn.
    assert got["request_date"] == [dt.date.today().isoformat()]
    assert got["member_state"] == ["OR"] and got["line_of_business"] == ["commercial"]
    assert got["body_height"] == 170.0 and got["body_weight"] == 69.85  # 154 lb
    assert "cd22_positive" not in got  # clinical questions are left to the clinician


def test_record_reading_skips_what_is_not_a_current_diagnosis():
    conditions = [
        {
            "resourceType": "Condition",
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C9100"}]},
        },
        {
            "resourceType": "Condition",
            "clinicalStatus": {"coding": [{"code": "resolved"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C83.50"}]},
        },
        {
            "resourceType": "Condition",
            "verificationStatus": {"coding": [{"code": "refuted"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C91.02"}]},
        },
    ]
    patient = {"resourceType": "Patient", "birthDate": "1970-05", "address": [{"state": "Oregon"}]}
    record = read_record(POLICY, patient, conditions)
    assert record.facts == {"icd10_codes": ["C91.00"]}  # a partial birth date and a state name are not guessed


def test_package_needs_coverage_and_an_order_questionnaire_or_context(client, auth):
    headers = auth("submitter")
    r = client.post(
        PACKAGE,
        json={"resourceType": "Parameters", "parameter": [{"name": "context", "valueString": "abc"}]},
        headers=headers,
    )
    assert r.status_code == 400 and "coverage" in r.json()["issue"][0]["diagnostics"]
    r = client.post(
        PACKAGE,
        json={
            "resourceType": "Parameters",
            "parameter": [
                {
                    "name": "coverage",
                    "resource": {
                        "resourceType": "Coverage",
                        "status": "active",
                        "beneficiary": {"reference": "Patient/1"},
                        "payor": [{"reference": "Organization/1"}],
                    },
                },
                {"name": "questionnaire", "valueCanonical": "http://elsewhere.example.org/Questionnaire/x"},
            ],
        },
        headers=headers,
    )
    assert r.status_code == 200
    (outcome,) = r.json()["parameter"]
    assert outcome["name"] == "operationOutcome" and outcome["resource"]["issue"][0]["code"] == "not-found"


def test_questionnaire_read_and_capability_statement(client):
    assert client.get("/fhir/Questionnaire/besponsa").json()["url"].endswith("/Questionnaire/besponsa")
    assert client.get("/fhir/Questionnaire/nope").status_code == 404
    assert client.get("/fhir/metadata").json()["fhirVersion"] == "4.0.1"


def test_response_to_contract_facts_endpoint(client, auth, fhir_example):
    r = client.post(
        "/fhir/QuestionnaireResponse/$facts",
        json=fhir_example("questionnaire-response-complete"),
        headers=auth("submitter"),
    )
    assert r.status_code == 200
    assert r.json()["policy"] == "besponsa" and r.json()["facts"]["request_date"] == "2026-03-02"
