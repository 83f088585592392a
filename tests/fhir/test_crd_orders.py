"""CRD coverage-information on every order type it may sit on, configuration options, Coverage states,
the policy link, and what the call did not prefetch read from the EHR's FHIR server (a loopback server)."""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest
from fhir_door_helpers import coverage_information

SIGN = "/cds-services/priorauth-crd-order-sign"
SELECT = "/cds-services/priorauth-crd-order-select"


def only_action(r) -> dict:
    assert r.status_code == 200, r.text
    (action,) = r.json()["systemActions"]
    assert action["type"] == "update" and action["description"]
    return action


def test_a_service_request_for_the_drug_by_hcpcs_as_the_crd_guide_spells_it(client, auth, fhir_example):
    hook = fhir_example("crd-order-sign")
    hook["context"]["draftOrders"]["entry"][0]["resource"] = {
        "resourceType": "ServiceRequest",
        "id": "sr-1",
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "code": "J9229"}]},
        "subject": {"reference": "Patient/pat-1"},
    }
    action = only_action(client.post(SIGN, json=hook, headers=auth("submitter")))
    assert action["resource"]["resourceType"] == "ServiceRequest"
    info = coverage_information(action["resource"])
    assert info["pa-needed"] == ["auth-needed"] and info["doc-needed"] == ["clinical"]


def test_a_contained_medication_names_the_drug(client, auth, fhir_example):
    hook = fhir_example("crd-order-sign")
    order = hook["context"]["draftOrders"]["entry"][0]["resource"]
    concept = order.pop("medicationCodeableConcept")
    order["contained"] = [{"resourceType": "Medication", "id": "med", "code": concept}]
    order["medicationReference"] = {"reference": "#med"}
    info = coverage_information(only_action(client.post(SIGN, json=hook, headers=auth("submitter")))["resource"])
    assert info["pa-needed"] == ["auth-needed"]


def test_every_draft_order_gets_coverage_information(client, auth, fhir_example):
    hook = fhir_example("crd-order-sign")
    other = copy.deepcopy(hook["context"]["draftOrders"]["entry"][0])
    other["resource"].update(id="mr-2", medicationCodeableConcept={"text": "ondansetron 8 mg"})
    hook["context"]["draftOrders"]["entry"].append(other)
    r = client.post(SIGN, json=hook, headers=auth("submitter"))
    infos = {a["resource"]["id"]: coverage_information(a["resource"]) for a in r.json()["systemActions"]}
    assert infos["mr-1"]["pa-needed"] == ["auth-needed"] and infos["mr-2"]["pa-needed"] == ["no-auth"]
    # each order under the same coverage has its own assertion
    assert infos["mr-1"]["coverage-assertion-id"] != infos["mr-2"]["coverage-assertion-id"]


def test_coverage_information_can_be_switched_off_by_the_client(client, auth, fhir_example):
    hook = fhir_example("crd-order-sign")
    hook["extension"] = {"davinci-crd.configuration": {"coverage-info": False}}
    r = client.post(SIGN, json=hook, headers=auth("submitter"))
    assert r.status_code == 200 and r.json() == {"cards": [], "systemActions": []}
    hook["extension"]["davinci-crd.configuration"]["coverage-info"] = "no"
    r = client.post(SIGN, json=hook, headers=auth("submitter"))
    assert r.status_code == 400 and r.json()["field"] == "extension.davinci-crd.configuration.coverage-info"


def test_a_coverage_not_in_force_covers_nothing(client, auth, fhir_example):
    hook = fhir_example("crd-order-sign")
    hook["prefetch"]["coverage"]["entry"][0]["resource"]["status"] = "cancelled"
    info = coverage_information(only_action(client.post(SIGN, json=hook, headers=auth("submitter")))["resource"])
    assert info["covered"] == ["not-covered"] and "pa-needed" not in info
    assert info["coverage"] == [{"reference": "Coverage/cov-1"}]


def test_the_policy_link_never_reflects_the_host_header(client, auth, fhir_example, monkeypatch):
    headers = {**auth("submitter"), "Host": "evil.example.org"}
    info = coverage_information(
        only_action(client.post(SIGN, json=fhir_example("crd-order-sign"), headers=headers))["resource"]
    )
    (link,) = [d for d in info["detail"] if d[0]["valueCodeableConcept"]["coding"][0]["code"] == "policy-link"]
    assert "evil" not in json.dumps(link) and link[1]["valueString"] == "/v1/policies/besponsa"
    monkeypatch.setenv("PRIORAUTH_PUBLIC_URL", "https://pa.plan.example.org/")
    info = coverage_information(
        only_action(client.post(SIGN, json=fhir_example("crd-order-sign"), headers=headers))["resource"]
    )
    (link,) = [d for d in info["detail"] if d[0]["valueCodeableConcept"]["coding"][0]["code"] == "policy-link"]
    assert link[1]["valueString"] == "https://pa.plan.example.org/v1/policies/besponsa"


class FhirServer:
    """A loopback FHIR server answering reads and searches from a dict, recording what it was asked."""

    def __init__(self, answers: dict[str, dict]) -> None:
        self.answers, self.asked, self.tokens = answers, [], []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                url = urlparse(self.path)
                key = url.path.removeprefix("/fhir/") + (f"?{url.query}" if url.query else "")
                outer.asked.append(key)
                outer.tokens.append(self.headers.get("Authorization"))
                body = outer.answers.get(key)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/fhir+json")
                self.end_headers()
                self.wfile.write(json.dumps(body or {"resourceType": "OperationOutcome"}).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/fhir"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def ehr_server(fhir_example):
    hook = fhir_example("crd-order-sign")
    server = FhirServer(
        {
            "Patient/pat-1": hook["prefetch"]["patient"],
            "Coverage?patient=pat-1&status=active": hook["prefetch"]["coverage"],
            "Condition?patient=pat-1&clinical-status=active": hook["prefetch"]["conditions"],
        }
    )
    yield server
    server.close()


def test_without_prefetch_the_ehrs_fhir_server_is_read(client, auth, fhir_example, ehr_server):
    with_prefetch = client.post(SIGN, json=fhir_example("crd-order-sign"), headers=auth("submitter"))
    hook = fhir_example("crd-order-sign")
    del hook["prefetch"]
    hook["fhirServer"] = ehr_server.url
    hook["fhirAuthorization"] = {
        "access_token": "ehr-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "user/Patient.read user/Coverage.read",
        "subject": "priorauth",
    }
    action = only_action(client.post(SIGN, json=hook, headers=auth("submitter")))
    assert sorted(ehr_server.asked) == sorted(ehr_server.answers)
    assert set(ehr_server.tokens) == {"Bearer ehr-token"}
    info = coverage_information(action["resource"])
    expected = coverage_information(with_prefetch.json()["systemActions"][0]["resource"])
    # the same answer as with everything prefetched (birth date, diagnosis and coverage were read)
    assert info["reason"] == expected["reason"] and info["coverage"] == [{"reference": "Coverage/cov-1"}]


def test_a_coverage_the_ehr_does_not_have_is_a_412_operation_outcome(client, auth, fhir_example, ehr_server):
    hook = fhir_example("crd-order-sign")
    del hook["prefetch"]["coverage"]
    hook["fhirServer"] = ehr_server.url
    hook["fhirAuthorization"] = {"access_token": "ehr-token", "token_type": "Bearer"}
    del ehr_server.answers["Coverage?patient=pat-1&status=active"]
    r = client.post(SIGN, json=hook, headers=auth("submitter"))
    assert r.status_code == 412 and r.json()["resourceType"] == "OperationOutcome"
    assert ehr_server.asked == ["Coverage?patient=pat-1&status=active"]
