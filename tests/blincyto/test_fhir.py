"""A Blincyto order through the FHIR door as an EHR and a DTR client use it (the door itself is the Da
Vinci conformance work): CRD order-select and order-sign recognise J9039 (or its NDC) and answer from
this policy; DTR gives the Questionnaire generated from its questions, pre-filled from the record;
PAS $submit decides the completed response. The example resources are the FHIR tests' (tests/fhir/
examples), with the order's drug and codes changed."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta

from priorauth.core import load_policy
from priorauth.fhir import systems
from priorauth.fhir.questionnaire import answer_value

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir" / "examples"
SIGN = "/cds-services/priorauth-crd-order-sign"
SELECT = "/cds-services/priorauth-crd-order-select"
POLICY = load_policy("blincyto").current()
HCPCS = {"system": "https://bluebutton.cms.gov/resources/codesystem/hcpcs", "code": "J9039",
         "display": "Injection, blinatumomab, 1 microgram"}
NDC = {"system": "http://hl7.org/fhir/sid/ndc", "code": "55513-0160-01", "display": "Blincyto 35 mcg vial"}
# What the clinician answers in the DTR form for a relapsed or refractory patient (the rest is pre-filled).
CLINICAL_ANSWERS = {
    "request_type": "initial",
    "diagnosis": "b_cell_precursor_all",
    "cd19_positive": True,
    "regimen": "single_agent",
    "prior_blinatumomab": False,
    "disease_setting": "relapsed_refractory",
}


def example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def blincyto_order(hook: dict, *codings: dict) -> dict:
    hook = copy.deepcopy(hook)
    for entry in hook["context"]["draftOrders"]["entry"]:
        resource = entry["resource"]
        if resource.get("resourceType") == "MedicationRequest":
            resource["medicationCodeableConcept"] = {"coding": list(codings), "text": "Blincyto"}
    return hook


def coverage_information(order: dict) -> dict[str, list]:
    (ext,) = [e for e in order.get("extension", []) if e["url"] == systems.COVERAGE_INFORMATION]
    out: dict[str, list] = {}
    for sub in ext["extension"]:
        value = sub.get("extension") or next(v for k, v in sub.items() if k.startswith("value"))
        out.setdefault(sub["url"], []).append(value)
    return out


def review_action(bundle: dict) -> str:
    response = bundle["entry"][0]["resource"]
    (adjudication,) = response["item"][0]["adjudication"]
    (action,) = [e for e in adjudication["extension"] if e["url"] == systems.REVIEW_ACTION]
    (code,) = [e for e in action["extension"] if e["url"] == systems.REVIEW_ACTION_CODE]
    return code["valueCodeableConcept"]["coding"][0]["code"]


def test_order_sign_of_j9039_answers_from_the_blincyto_policy(client, auth):
    r = client.post(SIGN, json=blincyto_order(example("crd-order-sign"), HCPCS, NDC), headers=auth("submitter"))
    assert r.status_code == 200, r.text
    (action,) = r.json()["systemActions"]
    info = coverage_information(action["resource"])
    assert info["covered"] == ["conditional"] and info["pa-needed"] == ["auth-needed"]
    assert info["questionnaire"] == [f"{systems.questionnaire_url('blincyto')}|2026-01-15"]
    assert info["billingCode"][0]["code"] == "J9039"
    reason = info["reason"][0]["text"]
    assert "cd19_positive" in reason and "cd22_positive" not in reason and "birth_date" not in reason


def test_order_select_recognises_the_ndc_alone(client, auth):
    hook = blincyto_order(example("crd-order-select-other-drug"), NDC)
    hook["context"]["selections"] = ["MedicationRequest/mr-1"]
    r = client.post(SELECT, json=hook, headers=auth("submitter"))
    assert r.status_code == 200, r.text
    (action,) = r.json()["systemActions"]
    info = coverage_information(action["resource"])
    assert info["pa-needed"] == ["auth-needed"] and info["billingCode"][0]["code"] == "J9039"


def test_dtr_questionnaire_is_generated_from_the_blincyto_questions(client):
    r = client.get("/fhir/Questionnaire/blincyto")
    assert r.status_code == 200, r.text
    questionnaire = r.json()
    link_ids = {i["linkId"] for i in questionnaire["item"]}
    assert {q.id for q in POLICY.questions} <= link_ids or {q.id for q in POLICY.questions} == link_ids
    items = {i["linkId"]: i for i in questionnaire["item"]}
    assert items["mrd_percent"]["type"] == "decimal" and items["cycles_received"]["type"] == "integer"
    assert items["cd19_positive"]["type"] == "boolean" and "cd22_positive" not in items
    remission = {o["valueCoding"]["code"] for o in items["complete_remission"]["answerOption"]}
    assert remission == {"first", "second", "third_or_later", "none"}


def crd_then_dtr(client, headers) -> dict:
    hook = blincyto_order(example("crd-order-sign"), HCPCS)
    (action,) = client.post(SIGN, json=hook, headers=headers).json()["systemActions"]
    info = coverage_information(action["resource"])
    (questionnaire,) = info["questionnaire"]
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "coverage", "resource": hook["prefetch"]["coverage"]["entry"][0]["resource"]},
            {"name": "questionnaire", "valueCanonical": questionnaire},
            {"name": "context", "valueString": info["coverage-assertion-id"][0]},
        ],
    }
    r = client.post("/fhir/Questionnaire/$questionnaire-package", json=parameters, headers=headers)
    assert r.status_code == 200, r.text
    (package,) = [p for p in r.json()["parameter"] if p["name"] == "PackageBundle"]
    entries = package["resource"]["entry"]
    assert entries[0]["resource"]["url"] == systems.questionnaire_url("blincyto")
    return entries[2]["resource"]


def fill(response: dict, answers: dict) -> dict:
    done = copy.deepcopy(response)
    done["item"] = [i for i in done.get("item", []) if i["linkId"] not in answers]
    for fact, value in answers.items():
        question = POLICY.question(fact)
        values = value if isinstance(value, list) else [value]
        done["item"].insert(0, {"linkId": fact, "answer": [answer_value(POLICY, question, v) for v in values]})
    done["status"] = "completed"
    return done


def blincyto_claim(response: dict, units: int) -> dict:
    bundle = example("pas-submit-complete")
    item = bundle["entry"][0]["resource"]["item"][0]
    item["productOrService"]["coding"] = [HCPCS]
    item["quantity"] = {"value": units}
    bundle["entry"][1]["resource"] = response
    return bundle


@pytest.mark.parametrize("units", [980])
def test_round_trip_crd_dtr_pas_approves_under_the_relapsed_terms(client, auth, units):
    headers = auth("submitter")
    prefilled = crd_then_dtr(client, headers)
    known = {i["linkId"] for i in prefilled.get("item", [])}
    assert {"birth_date", "icd10_codes", "request_date"} <= known  # from the record
    r = client.post("/fhir/Claim/$submit", json=blincyto_claim(fill(prefilled, CLINICAL_ANSWERS), units),
                    headers=headers)
    assert r.status_code == 200, r.text
    assert review_action(r.json()) == "A1"
    response = r.json()["entry"][0]["resource"]
    today = dt.date.today()
    # relapsed or refractory, initial: 8 months from the day PAS received the claim
    assert response["preAuthPeriod"] == {"start": today.isoformat(),
                                         "end": (today + relativedelta(months=8, days=-1)).isoformat()}
    assert "980 units of J9039 per 42 days" in response["processNote"][0]["text"]
    stored = client.get(f"/v1/requests/{response['preAuthRef']}", headers=headers).json()
    assert stored["policy"] == "blincyto" and stored["determination"]["authorization"]["branch"] == (
        "relapsed_refractory_initial")


def test_pas_submit_pended_on_the_mrd_level(client, auth):
    headers = auth("submitter")
    prefilled = crd_then_dtr(client, headers)
    answers = {**CLINICAL_ANSWERS, "disease_setting": "mrd_positive", "complete_remission": "second"}
    r = client.post("/fhir/Claim/$submit", json=blincyto_claim(fill(prefilled, answers), 980), headers=headers)
    assert r.status_code == 200, r.text
    assert review_action(r.json()) == "A4"
    assert "mrd_percent" in r.json()["entry"][0]["resource"]["processNote"][0]["text"]


def test_pas_submit_of_a_completed_blincyto_response_is_decided(client, auth):
    """PAS on its own (a DTR client that filled the form without CRD): the response names the Blincyto
    Questionnaire; the claim's item bills J9039."""
    headers = auth("submitter")
    today = dt.date.today()
    response = fill({"resourceType": "QuestionnaireResponse", "id": "qr-1", "status": "in-progress",
                     "questionnaire": f"{systems.questionnaire_url('blincyto')}|2026-01-15",
                     "subject": {"reference": "Patient/pat-1"}, "authored": f"{today.isoformat()}T10:00:00Z"},
                    {**CLINICAL_ANSWERS, "disease_setting": "frontline_consolidation", "ph_status": "negative",
                     "birth_date": "1990-02-20", "icd10_codes": ["C91.01"], "request_date": today.isoformat()})
    r = client.post("/fhir/Claim/$submit", json=blincyto_claim(response, 980), headers=headers)
    assert r.status_code == 200, r.text
    assert review_action(r.json()) == "A1"
    claim_response = r.json()["entry"][0]["resource"]
    # consolidation: 12 months, 4 cycles, 980 units per 42 days
    assert claim_response["preAuthPeriod"] == {"start": today.isoformat(),
                                               "end": (today + relativedelta(months=12, days=-1)).isoformat()}
    assert "980 units of J9039 per 42 days" in claim_response["processNote"][0]["text"]
    assert "at most 4 cycles" in claim_response["processNote"][0]["text"]
