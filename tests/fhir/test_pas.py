"""PAS submit and inquire over the service layer; the full CRD -> DTR -> PAS round trip."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from dateutil.relativedelta import relativedelta
from fhir_door_helpers import coverage_information, review_action

from priorauth.core import load_policy
from priorauth.fhir import systems
from priorauth.fhir.questionnaire import answer_value
from priorauth.fhir.resources import parse

POLICY = load_policy("besponsa").current()  # the version whose questions DTR asks
# What the clinician answers in the DTR form (the rest was pre-filled).
CLINICAL_ANSWERS = {
    "request_type": "initial",
    "diagnosis": "b_cell_precursor_all",
    "cd22_positive": True,
    "prior_inotuzumab": False,
    "baseline_ecg_normal": True,
    "ecg_monitoring_planned": True,
    "disease_setting": "relapsed_refractory",
    "regimen": "single_agent",
}


def fill(response: dict, answers: dict) -> dict:
    """The pre-filled QuestionnaireResponse with the clinician's answers added."""
    done = copy.deepcopy(response)
    for fact, value in answers.items():
        item = {"linkId": fact, "answer": [answer_value(POLICY, POLICY.question(fact), value)]}
        done.setdefault("item", []).insert(0, item)
    done["status"] = "completed"
    return done


def with_response(bundle: dict, response: dict) -> dict:
    bundle["entry"][1]["resource"] = response
    return bundle


def certified_period(received: dt.date) -> dict:
    """Six months from the day PAS received the claim (Section I), the last day included."""
    return {"start": received.isoformat(), "end": (received + relativedelta(months=6, days=-1)).isoformat()}


def requests_stored(client, headers) -> int:
    return client.get("/v1/requests", headers=headers).json()["total"]


def crd_then_dtr(client, headers, fhir_example) -> dict:
    """CRD says authorization is needed and names the questionnaire; DTR returns it pre-filled."""
    hook = fhir_example("crd-order-sign")
    (action,) = client.post("/cds-services/priorauth-crd-order-sign", json=hook, headers=headers).json()[
        "systemActions"
    ]
    info = coverage_information(action["resource"])
    assert info["pa-needed"] == ["auth-needed"]
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
    assert [e["resource"]["resourceType"] for e in entries] == ["Questionnaire", "Library", "QuestionnaireResponse"]
    assert f"{entries[0]['resource']['url']}|{entries[0]['resource']['version']}" == questionnaire
    prefilled = entries[2]["resource"]
    known = {i["linkId"] for i in prefilled["item"]}
    assert {"birth_date", "icd10_codes", "request_date", "line_of_business", "member_state"} <= known
    return prefilled


def test_round_trip_crd_dtr_pas_certified(client, auth, fhir_example):
    headers = auth("submitter")
    prefilled = crd_then_dtr(client, headers, fhir_example)
    bundle = with_response(fhir_example("pas-submit-complete"), fill(prefilled, CLINICAL_ANSWERS))
    r = client.post("/fhir/Claim/$submit", json=bundle, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    parse(r.json(), "Bundle")
    response = r.json()["entry"][0]["resource"]
    assert review_action(r.json()) == "A1"
    assert response["outcome"] == "complete" and response["preAuthRef"].startswith("req_")
    # The decision date is the day PAS received the claim, not the order's date the DTR form carried.
    assert response["preAuthPeriod"] == certified_period(dt.date.today())
    assert "63 units of J9229 per 21 days" in response["processNote"][0]["text"]
    assert r.json()["identifier"]["value"] and r.json()["entry"][0]["fullUrl"].startswith("http://clinic.example.org/")
    stored = client.get(f"/v1/requests/{response['preAuthRef']}", headers=headers).json()
    assert stored["status"] == "approved" and stored["facts"]["cd22_positive"] is True


def test_round_trip_missing_fact_pended_then_information_added_then_inquire(client, auth, fhir_example):
    headers = auth("submitter")
    prefilled = crd_then_dtr(client, headers, fhir_example)
    answers = {k: v for k, v in CLINICAL_ANSWERS.items() if k != "ecg_monitoring_planned"}
    bundle = with_response(fhir_example("pas-submit-missing-fact"), fill(prefilled, answers))
    r = client.post("/fhir/Claim/$submit", json=bundle, headers=headers)
    assert review_action(r.json()) == "A4"
    response = r.json()["entry"][0]["resource"]
    assert response["outcome"] == "complete" and "preAuthPeriod" not in response
    assert "ecg_monitoring_planned" in response["processNote"][0]["text"]
    ref = response["preAuthRef"]

    added = client.post(
        f"/v1/requests/{ref}/information", json={"facts": {"ecg_monitoring_planned": True}}, headers=headers
    )
    assert added.status_code == 200 and added.json()["status"] == "approved"

    r = client.post("/fhir/Claim/$inquire", json=fhir_example("pas-inquire"), headers=headers)
    assert r.status_code == 200, r.text
    assert review_action(r.json()) == "A1"
    inquiry = r.json()["entry"][0]["resource"]
    assert inquiry["preAuthRef"] == ref and inquiry["outcome"] == "complete"
    audit = client.get(f"/v1/requests/{ref}/audit", headers=auth("reviewer")).json()
    assert [e["action"] for e in audit["events"]][:4] == ["create", "decision", "information", "decision"]


def test_more_units_than_allowed_are_modified(client, auth, fhir_example):
    bundle = fhir_example("pas-submit-complete")
    bundle["entry"][0]["resource"]["item"][0]["quantity"]["value"] = 80
    r = client.post("/fhir/Claim/$submit", json=bundle, headers=auth("submitter"))
    assert review_action(r.json()) == "A6"
    response = r.json()["entry"][0]["resource"]
    # The item keeps what was requested; addItem says what is authorised (PAS spec-36, spec-37).
    (requested,) = [e for e in response["item"][0]["extension"] if e["url"] == systems.ITEM_AUTHORIZED_DETAIL]
    assert requested["extension"][0]["valueQuantity"]["value"] == 80
    (added,) = response["addItem"]
    assert added["itemSequence"] == [1] and added["quantity"] == {"value": 63}
    assert added["productOrService"]["coding"][0]["code"] == "J9229"
    assert added["servicedPeriod"] == response["preAuthPeriod"] == certified_period(dt.date.today())
    (action,) = added["adjudication"][0]["extension"]
    parts = {p["url"]: p for p in action["extension"]}
    assert parts["number"]["valueString"] == response["preAuthRef"]
    assert parts[systems.REVIEW_ACTION_CODE]["valueCodeableConcept"]["coding"][0]["code"] == "A1"


def test_engine_denial_goes_to_review_and_a_reviewer_denial_is_not_certified(client, auth, fhir_example):
    submitter, reviewer = auth("submitter"), auth("reviewer")
    bundle = fhir_example("pas-submit-complete")
    bundle["entry"][1]["resource"]["item"][4]["answer"] = [{"valueBoolean": False}]  # cd22_positive
    r = client.post("/fhir/Claim/$submit", json=bundle, headers=submitter)
    response = r.json()["entry"][0]["resource"]
    assert review_action(r.json()) == "A4" and "CD22" not in r.text  # withheld until a clinician decides
    ref = response["preAuthRef"]
    version = client.get(f"/v1/requests/{ref}", headers=reviewer).json()["version"]
    client.post(
        f"/v1/requests/{ref}/review",
        headers=reviewer,
        json={"action": "deny", "note": "CD22-negative disease.", "expected_version": version},
    )
    inquiry = fhir_example("pas-inquire")
    inquiry["entry"][0]["resource"]["identifier"] = [{"system": systems.PRE_AUTH_REF, "value": ref}]
    r = client.post("/fhir/Claim/$inquire", json=inquiry, headers=submitter)
    assert review_action(r.json()) == "A3"
    assert r.json()["entry"][0]["resource"]["processNote"][-1]["text"] == "Reviewer: CD22-negative disease."


def test_a_denial_note_lists_the_criteria_not_met_by_branch_with_alternatives_as_one_of(client, auth, fhir_example):
    """Issue 12: the processNote gives every branch's failures; an `any` group reads "One of:", not as
    requirements that must all be met."""
    submitter, reviewer = auth("submitter"), auth("reviewer")
    bundle = fhir_example("pas-submit-complete")
    (regimen,) = [i for i in bundle["entry"][1]["resource"]["item"] if i["linkId"] == "regimen"]
    regimen["answer"][0]["valueCoding"]["code"] = "other"
    ref = client.post("/fhir/Claim/$submit", json=bundle, headers=submitter).json()["entry"][0]["resource"][
        "preAuthRef"]
    version = client.get(f"/v1/requests/{ref}", headers=reviewer).json()["version"]
    client.post(f"/v1/requests/{ref}/review", headers=reviewer,
                json={"action": "deny", "note": "Unlisted regimen.", "expected_version": version})
    inquiry = fhir_example("pas-inquire")
    inquiry["entry"][0]["resource"]["identifier"] = [{"system": systems.PRE_AUTH_REF, "value": ref}]
    r = client.post("/fhir/Claim/$inquire", json=inquiry, headers=submitter)
    note = r.json()["entry"][0]["resource"]["processNote"][0]["text"]
    assert note.splitlines() == [
        "Denied by a clinical reviewer. Criteria not met:",
        "Adult B-cell precursor ALL:",
        "  - One of:",
        "    - Relapsed or refractory disease with a listed regimen:",
        "      - One of:",
        "        - Used as single agent therapy (without rituximab):",
        "          - Used as a single agent. (Section III)",
        "        - Used with mini-hyper-CVD (with or without blinatumomab) in Ph-negative disease:",
        "          - The regimen is mini-hyper-CVD. (Section III)",
        "        - Used with a tyrosine kinase inhibitor in Ph-positive disease:",
        "          - The regimen combines the drug with a TKI. (Section III)",
        "    - Frontline consolidation with mini-hyper-CVD in Ph-negative disease:",
        "      - The drug is used as frontline consolidation. (Section III)",
        "Pediatric B-cell precursor ALL:",
        "  - The patient is younger than 18. (Section III)",
    ]


def test_resubmitting_the_same_claim_returns_the_same_authorization(client, auth, fhir_example):
    headers = auth("submitter")
    first = client.post("/fhir/Claim/$submit", json=fhir_example("pas-submit-complete"), headers=headers).json()
    again = client.post("/fhir/Claim/$submit", json=fhir_example("pas-submit-complete"), headers=headers).json()
    assert first["entry"][0]["resource"]["preAuthRef"] == again["entry"][0]["resource"]["preAuthRef"]
    assert requests_stored(client, headers) == 1


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        (
            lambda b: b["entry"][0]["resource"]["item"][0]["quantity"].update(value="thirty-six"),
            "Bundle.entry[0].resource.item[0].quantity.value",
        ),
        (lambda b: b["entry"][2]["resource"].update(birthDate="14/05/1970"), "Bundle.entry[2].resource.birthDate"),
        (lambda b: b["entry"].insert(0, b["entry"].pop(2)), "Bundle.entry[0].resource"),
        (lambda b: b["entry"][3]["resource"].update(resourceType="Insurance"), "Bundle.entry[3].resource.resourceType"),
        (
            lambda b: b["entry"][1]["resource"]["item"][1]["answer"][0].update(valueDate="2026-02-30"),
            "Bundle.entry[1].resource.item[1].answer[0].valueDate",
        ),
        (
            lambda b: b["entry"][0]["resource"]["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0].update(
                code="91.02"
            ),
            "Bundle.entry[0].resource.diagnosis[0].diagnosisCodeableConcept.coding",
        ),
    ],
)
def test_invalid_bundles_get_an_operation_outcome_and_nothing_is_stored(client, auth, fhir_example, change, expression):
    headers = auth("submitter")
    bundle = fhir_example("pas-submit-complete")
    change(bundle)
    r = client.post("/fhir/Claim/$submit", json=bundle, headers=headers)
    assert r.status_code == 400, r.text
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == [expression]
    assert "1970" not in r.text and "thirty" not in r.text
    assert requests_stored(client, headers) == 0


def test_only_submitters_submit_and_only_their_organisation_inquires(client, auth, fhir_example):
    r = client.post("/fhir/Claim/$submit", json=fhir_example("pas-submit-complete"), headers=auth("reviewer"))
    assert r.status_code == 403 and r.json()["resourceType"] == "OperationOutcome"
    assert client.post("/fhir/Claim/$submit", json=fhir_example("pas-submit-complete")).status_code == 401
    client.post("/fhir/Claim/$submit", json=fhir_example("pas-submit-missing-fact"), headers=auth("submitter"))
    other = client.post("/fhir/Claim/$inquire", json=fhir_example("pas-inquire"), headers=auth("submitter", "clinic-b"))
    assert other.status_code == 404 and other.json()["resourceType"] == "OperationOutcome"


def test_an_item_no_policy_decides_is_a_business_outcome_not_an_error(client, auth, fhir_example):
    headers = auth("submitter")
    bundle = fhir_example("pas-submit-complete")
    bundle["entry"][0]["resource"]["item"][0]["productOrService"]["coding"][0].update(code="J9035")
    r = client.post("/fhir/Claim/$submit", json=bundle, headers=headers)
    assert r.status_code == 200, r.text
    assert review_action(r.json()) == "A3"
    response = r.json()["entry"][0]["resource"]
    assert response["outcome"] == "complete" and "preAuthRef" not in response
    assert "J9229" in response["processNote"][0]["text"]
    assert requests_stored(client, headers) == 0


def test_a_claim_with_the_drug_and_another_item_decides_the_drug_and_refuses_the_other(client, auth, fhir_example):
    bundle = fhir_example("pas-submit-complete")
    other = copy.deepcopy(bundle["entry"][0]["resource"]["item"][0])
    cpt = {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "96413"}]}
    other.update(sequence=2, productOrService=cpt)
    bundle["entry"][0]["resource"]["item"].append(other)
    r = client.post("/fhir/Claim/$submit", json=bundle, headers=auth("submitter"))
    assert [review_action(r.json(), i) for i in (0, 1)] == ["A1", "A3"]
    assert [i["itemSequence"] for i in r.json()["entry"][0]["resource"]["item"]] == [1, 2]


def submit_pended(client, headers, fhir_example) -> str:
    bundle = fhir_example("pas-submit-complete")
    bundle["entry"][0]["resource"]["identifier"][0]["value"] = "PA-2026-0002"
    bundle["entry"][1]["resource"]["item"] = [
        i for i in bundle["entry"][1]["resource"]["item"] if i["linkId"] != "ecg_monitoring_planned"
    ]
    r = client.post("/fhir/Claim/$submit", json=bundle, headers=headers)
    assert review_action(r.json()) == "A4"
    return r.json()["entry"][0]["resource"]["preAuthRef"]


def test_inquire_reports_the_submitted_items_not_the_inquiry_items(client, auth, fhir_example):
    headers = auth("submitter")
    ref = submit_pended(client, headers, fhir_example)
    inquiry = fhir_example("pas-inquire")
    inquiry["entry"][0]["resource"]["item"][0]["quantity"]["value"] = 999
    r = client.post("/fhir/Claim/$inquire", json=inquiry, headers=headers)
    assert r.status_code == 200, r.text
    response = r.json()["entry"][0]["resource"]
    assert response["meta"]["profile"][0].split("|")[0].endswith("/profile-claiminquiryresponse")
    assert response["preAuthRef"] == ref and review_action(r.json()) == "A4"
    submitted = {"system": "http://clinic.example.org/pa-requests", "value": "PA-2026-0002"}
    assert response["request"] == {"identifier": submitted}
    assert "addItem" not in response  # 999 units were never asked for


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b["entry"][2]["resource"].update(subscriberId="OTHER-MEMBER"),  # another member
        lambda b: b["entry"][4]["resource"]["identifier"][0].update(value="1999999992"),  # another provider NPI
    ],
)
def test_inquire_needs_the_member_and_the_provider_to_match(client, auth, fhir_example, change):
    headers = auth("submitter")
    submit_pended(client, headers, fhir_example)
    inquiry = fhir_example("pas-inquire")
    kinds = [e["resource"]["resourceType"] for e in inquiry["entry"]]
    assert kinds[2:5] == ["Coverage", "Organization", "Organization"]
    change(inquiry)
    r = client.post("/fhir/Claim/$inquire", json=inquiry, headers=headers)
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"


def test_inquire_by_example_and_by_authorization_number(client, auth, fhir_example):
    headers = auth("submitter")
    ref = submit_pended(client, headers, fhir_example)
    # A new inquiry trace number (PAS 2.2.1: Claim.identifier names the inquiry, not the request): the
    # member, provider and product find it.
    inquiry = fhir_example("pas-inquire")
    inquiry["entry"][0]["resource"]["identifier"] = [{"system": "http://clinic.example.org/trn", "value": "T-77"}]
    r = client.post("/fhir/Claim/$inquire", json=inquiry, headers=headers)
    assert r.status_code == 200 and r.json()["entry"][0]["resource"]["preAuthRef"] == ref
    # The authorization number on the item (extension-authorizationNumber) names it exactly.
    inquiry["entry"][0]["resource"]["item"][0]["extension"] = [
        {"url": systems.AUTHORIZATION_NUMBER, "valueString": ref}
    ]
    r = client.post("/fhir/Claim/$inquire", json=inquiry, headers=headers)
    assert r.status_code == 200 and r.json()["entry"][0]["resource"]["preAuthRef"] == ref
    # Another product: nothing matches by example.
    inquiry["entry"][0]["resource"]["item"][0].pop("extension")
    inquiry["entry"][0]["resource"]["item"][0]["productOrService"]["coding"][0]["code"] = "J9035"
    assert client.post("/fhir/Claim/$inquire", json=inquiry, headers=headers).status_code == 404


def test_pas_2_2_1_inquiry_answers_parameters_with_one_bundle_per_match(client, auth, fhir_example):
    headers = auth("submitter")
    ref = submit_pended(client, headers, fhir_example)
    inquiry = fhir_example("pas-inquire")
    inquiry["meta"] = {"profile": [f"{systems.PAS}/StructureDefinition/profile-pas-inquiry-request-bundle|2.2.1"]}
    r = client.post("/fhir/Claim/$inquire", json=inquiry, headers=headers)
    assert r.status_code == 200, r.text
    parameters = r.json()
    assert parameters["resourceType"] == "Parameters"
    (returned,) = parameters["parameter"]
    assert returned["name"] == "return" and returned["resource"]["entry"][0]["resource"]["preAuthRef"] == ref
    assert returned["resource"]["meta"]["profile"] == [f"{systems.PAS_INQUIRY_RESPONSE_BUNDLE}|2.2.1"]
    inquiry["entry"][2]["resource"]["subscriberId"] = "OTHER-MEMBER"
    r = client.post("/fhir/Claim/$inquire", json=inquiry, headers=headers)
    assert r.status_code == 200 and r.json() == {"resourceType": "Parameters"}  # zero matches


def test_a_pas_2_2_1_submission_is_told_apart_by_its_profiles(client, auth, fhir_example):
    bundle = fhir_example("pas-submit-complete")
    bundle["entry"][0]["resource"]["meta"] = {"profile": [f"{systems.PAS}/StructureDefinition/profile-claim|2.2.1"]}
    r = client.post("/fhir/Claim/$submit", json=bundle, headers=auth("submitter"))
    assert r.json()["meta"]["profile"] == [f"{systems.PAS_RESPONSE_BUNDLE}|2.2.1"]
    response = r.json()["entry"][0]["resource"]
    assert response["meta"]["profile"] == [f"{systems.PAS_CLAIM_RESPONSE}|2.2.1"]
    assert response["request"]["identifier"]["value"] == "PA-2026-0001"  # 2.2.1: request is required
