"""A drug order end to end, as the guides run it: CRD at order-sign called by an EHR with a signed JWT;
DTR's package pre-populated by its CQL Library run in the reference CQL engine (as a DTR client would);
PAS $submit of the completed response; PAS $inquire. The decision sits where the PAS profile puts it."""

from __future__ import annotations

import base64
import datetime as dt
import json

from cds_jwt import SIGN_PATH, Ehr
from cql_engine import run_elm
from fhir_door_helpers import coverage_information, review_action

from priorauth.core import load_policy
from priorauth.fhir import cql, systems
from priorauth.fhir.cds_clients import add_client
from priorauth.fhir.questionnaire import answer_value

VERSION = load_policy("besponsa").current()
CLINICIAN = {
    "request_type": "initial",
    "diagnosis": "b_cell_precursor_all",
    "cd22_positive": True,
    "prior_inotuzumab": False,
    "baseline_ecg_normal": True,
    "ecg_monitoring_planned": True,
    "disease_setting": "relapsed_refractory",
    "regimen": "single_agent",
}


def elm_answer(question, value):
    """What a DTR client puts in the response for a CQL result: a Code becomes the item's Coding."""
    if isinstance(value, dict):
        return {"valueCoding": {"system": value["system"], "code": value["code"]}}
    return {"valueDate": value} if question.type == "date" else answer_value(VERSION, question, value)


def plain(answer: dict):
    """An answer's value: the code of a Coding, else the value itself."""
    (value,) = answer.values()
    return value["code"] if isinstance(value, dict) else value


def test_crd_with_jwt_then_dtr_prefilled_by_elm_then_pas_submit_and_inquire(
    client, db, auth, fhir_example, engine, tmp_path
):
    ehr = Ehr()
    with db.session() as session:
        add_client(session, ehr.issuer, "clinic-a", jwks=ehr.jwks)
    hook = fhir_example("crd-order-sign")

    # CRD: the EHR signs its call; the order needs authorization and DTR's questionnaire is named.
    token = ehr.token(f"http://testserver{SIGN_PATH}", "ES384")
    r = client.post(SIGN_PATH, json=hook, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    info = coverage_information(r.json()["systemActions"][0]["resource"])
    assert info["pa-needed"] == ["auth-needed"] and info["doc-needed"] == ["clinical"]
    (questionnaire_url,) = info["questionnaire"]

    # DTR: the package for the CRD context.
    coverage = hook["prefetch"]["coverage"]["entry"][0]["resource"]
    patient = hook["prefetch"]["patient"]
    conditions = [e["resource"] for e in hook["prefetch"]["conditions"]["entry"]]
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "coverage", "resource": coverage},
            {"name": "questionnaire", "valueCanonical": questionnaire_url},
            {"name": "context", "valueString": info["coverage-assertion-id"][0]},
        ],
    }
    submitter = auth("submitter")
    r = client.post("/fhir/Questionnaire/$questionnaire-package", json=parameters, headers=submitter)
    (package,) = [p["resource"] for p in r.json()["parameter"] if p["name"] == "PackageBundle"]
    questionnaire, library, service_response = (e["resource"] for e in package["entry"])
    assert f"{questionnaire['url']}|{questionnaire['version']}" == questionnaire_url

    # The DTR client runs the Library's ELM over the patient's record: the same answers as the service's.
    (elm_content,) = [c for c in library["content"] if c["contentType"] == "application/elm+json"]
    results = run_elm(
        engine, json.loads(base64.b64decode(elm_content["data"])), [patient, coverage, *conditions], tmp_path
    )
    prefilled = []
    for fact in cql.prefilled_facts(VERSION):
        values = results[fact] if isinstance(results[fact], list) else [results[fact]]
        question = VERSION.question(fact)
        prefilled.append({"linkId": fact, "answer": [elm_answer(question, v) for v in values if v is not None]})
    prefilled = [i for i in prefilled if i["answer"]]
    by_service = {i["linkId"]: [plain(a) for a in i["answer"]] for i in service_response["item"]}
    for item in prefilled:
        assert [plain(a) for a in item["answer"]] == by_service[item["linkId"]], item["linkId"]
    assert {i["linkId"] for i in prefilled} >= {"birth_date", "icd10_codes", "line_of_business", "member_state"}

    # The clinician answers the rest; PAS $submit.
    answered = [{"linkId": k, "answer": [answer_value(VERSION, VERSION.question(k), v)]} for k, v in CLINICIAN.items()]
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": questionnaire_url,
        "status": "completed",
        "subject": {"reference": "Patient/pat-1"},
        "item": answered + prefilled,
    }
    bundle = fhir_example("pas-submit-complete")
    bundle["entry"][1]["resource"] = response
    r = client.post("/fhir/Claim/$submit", json=bundle, headers=submitter)
    assert r.status_code == 200, r.text
    assert review_action(r.json()) == "A1"
    claim_response = r.json()["entry"][0]["resource"]
    today = dt.date.today().isoformat()
    assert claim_response["preAuthPeriod"]["start"] == today

    # PAS $inquire (member, provider and the submission's identifier): the same decision, in the same place.
    inquiry = fhir_example("pas-inquire")
    inquiry["entry"][0]["resource"]["identifier"] = bundle["entry"][0]["resource"]["identifier"]
    r = client.post("/fhir/Claim/$inquire", json=inquiry, headers=submitter)
    assert r.status_code == 200, r.text
    assert review_action(r.json()) == "A1"
    assert r.json()["entry"][0]["resource"]["preAuthRef"] == claim_response["preAuthRef"]
    assert systems.PAS_CLAIM_INQUIRY_RESPONSE in r.json()["entry"][0]["resource"]["meta"]["profile"][0]
