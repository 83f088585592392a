"""CRD: CDS Hooks discovery, order-select and order-sign answers, malformed hook requests."""

from __future__ import annotations

import datetime as dt

import pytest
from dateutil.relativedelta import relativedelta
from fhir_door_helpers import coverage_information, detail

from priorauth import service
from priorauth.fhir import crd, systems

SIGN = "/cds-services/priorauth-crd-order-sign"
SELECT = "/cds-services/priorauth-crd-order-select"


def test_discovery_lists_both_hooks_with_prefetch_for_patient_coverage_and_order(client):
    services = {s["hook"]: s for s in client.get("/cds-services").json()["services"]}
    assert set(services) == {"order-select", "order-sign"}
    for service_ in services.values():
        assert service_["extension"]["davinci-crd.version"] == ["2.0"]
        (option,) = service_["extension"]["davinci-crd.configuration-options"]
        assert option["code"] == "coverage-info" and option["type"] == "boolean" and option["default"] is True
        assert option["name"] and option["description"]
    prefetch = services["order-sign"]["prefetch"]
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    assert prefetch["coverage"].startswith("Coverage?patient={{context.patientId}}")
    assert "{{context.draftOrders.MedicationRequest.id}}" in prefetch["medicationRequests"]


def test_order_sign_updates_the_order_with_coverage_information(client, auth, fhir_example):
    r = client.post(SIGN, json=fhir_example("crd-order-sign"), headers=auth("submitter"))
    assert r.status_code == 200
    body = r.json()
    assert body["cards"] == []
    (action,) = body["systemActions"]
    assert action["type"] == "update" and action["resource"]["id"] == "mr-1"
    info = coverage_information(action["resource"])
    assert info["coverage"] == [{"reference": "Coverage/cov-1"}]
    assert info["covered"] == ["conditional"] and info["pa-needed"] == ["auth-needed"]
    assert info["doc-needed"] == ["clinical"] and info["info-needed"] == ["OTH"]
    # what the record settled is not asked again: age and ICD-10 code are known
    reason = info["reason"][0]["text"]
    assert "cd22_positive" in reason and "birth_date" not in reason and "icd10_codes" not in reason
    assert info["questionnaire"] == [f"{systems.questionnaire_url('besponsa')}|2025-06-24"]
    quantity = detail(info, "allowed-quantity")
    assert quantity["value"]["valueQuantity"]["value"] == 63 and "21 days" in quantity["qualification"]["valueString"]
    period = detail(info, "allowed-period")["value"]["valuePeriod"]
    today = dt.date.today()  # 6 months from today (the order's authoredOn is not the request date)
    assert period == {"start": today.isoformat(), "end": (today + relativedelta(months=6, days=-1)).isoformat()}
    assert detail(info, "policy-link")["value"]["valueString"] == "/v1/policies/besponsa"
    assert info["billingCode"][0]["code"] == "J9229"
    assert len(info["coverage-assertion-id"][0]) == 32 and dt.date.fromisoformat(info["date"][0])


def test_what_the_record_settles_narrows_what_is_asked(client, auth, fhir_example):
    hook = fhir_example("crd-order-sign")
    # three months old: no initial approval is possible
    hook["prefetch"]["patient"]["birthDate"] = (dt.date.today() - dt.timedelta(days=90)).isoformat()
    r = client.post(SIGN, json=hook, headers=auth("submitter"))
    info = coverage_information(r.json()["systemActions"][0]["resource"])
    # only a renewal could still be covered, so only the renewal questions are open
    assert info["covered"] == ["conditional"]
    assert info["reason"][0]["text"].endswith("request_type, first_authorization_date, cycles_received.")


def test_medicare_member_is_routed_not_decided(client, auth, fhir_example):
    hook = fhir_example("crd-order-sign")
    hook["prefetch"]["coverage"]["entry"][0]["resource"]["type"]["coding"][0]["code"] = "121"
    info = coverage_information(
        client.post(SIGN, json=hook, headers=auth("submitter")).json()["systemActions"][0]["resource"]
    )
    # CRD 2.0.1 has no `indeterminate`: coverage and authorization are the Medicare contractor's rules.
    assert info["covered"] == ["conditional"] and info["pa-needed"] == ["conditional"]
    assert "Noridian" in info["reason"][0]["text"] and "questionnaire" not in info


def test_order_select_of_another_drug_says_no_authorization_is_needed(client, auth, fhir_example):
    r = client.post(SELECT, json=fhir_example("crd-order-select-other-drug"), headers=auth("submitter"))
    assert r.status_code == 200 and r.json()["cards"] == []
    (action,) = r.json()["systemActions"]
    info = coverage_information(action["resource"])
    assert info["covered"] == ["conditional"] and info["pa-needed"] == ["no-auth"]
    assert "doc-needed" not in info and "questionnaire" not in info and "J9229" in info["reason"][0]["text"]


def test_order_select_of_the_drug_by_hcpcs_alone(client, auth, fhir_example):
    hook = fhir_example("crd-order-select-other-drug")
    hook["context"]["selections"] = ["MedicationRequest/mr-1"]
    hook["context"]["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"]["coding"].pop(0)
    (action,) = client.post(SELECT, json=hook, headers=auth("submitter")).json()["systemActions"]
    assert action["resource"]["id"] == "mr-1"
    info = coverage_information(action["resource"])
    # order-select is a secondary hook: no documentation is asked there (CRD 2.0.1 hook-19)
    assert info["pa-needed"] == ["auth-needed"] and info["covered"] == ["conditional"]
    assert not {"doc-needed", "doc-purpose", "questionnaire"} & set(info)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda h: h["context"].pop("draftOrders"), "context.draftOrders"),
        (lambda h: h.update(hook="order-select"), "hook"),
        (lambda h: h.pop("hookInstance"), "hookInstance"),
        (
            lambda h: h["context"]["draftOrders"]["entry"][0]["resource"].update(authoredOn="yesterday"),
            "context.draftOrders.entry[0].resource.authoredOn",
        ),
        (lambda h: h["prefetch"]["patient"].update(birthDate="14/05/1970"), "prefetch.patient.birthDate"),
    ],
)
def test_malformed_hook_requests_get_400_naming_the_field(client, auth, fhir_example, change, field):
    hook = fhir_example("crd-order-sign")
    change(hook)
    r = client.post(SIGN, json=hook, headers=auth("submitter"))
    assert r.status_code == 400
    assert r.json()["field"] == field
    assert "1970" not in r.text  # the value is never echoed


def test_without_coverage_the_service_says_what_it_needs(client, auth, fhir_example):
    hook = fhir_example("crd-order-sign")
    del hook["prefetch"]["coverage"]
    r = client.post(SIGN, json=hook, headers=auth("submitter"))
    assert r.status_code == 412
    (issue,) = r.json()["issue"]
    assert r.json()["resourceType"] == "OperationOutcome" and issue["expression"] == ["prefetch.coverage"]


def test_hooks_need_a_token(client, fhir_example):
    assert client.post(SIGN, json=fhir_example("crd-order-sign")).status_code == 401


def test_unknown_service(client, auth, fhir_example):
    assert (
        client.post("/cds-services/nope", json=fhir_example("crd-order-sign"), headers=auth("submitter")).status_code
        == 404
    )


def test_answer_hook_without_http(fhir_example):
    caller = service.Principal(token_id="tok_test", role="submitter", org="clinic-a")
    answer = crd.answer_hook(
        caller, "priorauth-crd-order-sign", fhir_example("crd-order-sign"), "http://x/", dt.date(2026, 3, 2)
    )
    info = coverage_information(answer["systemActions"][0]["resource"])
    assert info["date"] == ["2026-03-02"]
    assert detail(info, "allowed-period")["value"]["valuePeriod"]["start"] == "2026-03-02"
