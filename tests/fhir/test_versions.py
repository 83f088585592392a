"""Policy versions at the FHIR door: questions come from the version a new request is asked, a
decision from the version in force on the request's date, and what is said of a stored request
from the version that decided it."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from fhir_door_helpers import coverage_information, detail
from tests.policy_fixtures import BUNDLED, NEXT, policy_path_with_next_version

from priorauth import service
from priorauth.core import ErrorCode, PolicyRegistry, PriorAuthError, policy_registry, use_registry
from priorauth.fhir import crd, systems
from priorauth.fhir.questionnaire import build_questionnaire, canonical
from priorauth.fhir.resources import FhirInputError, invalid

CALLER = service.Principal(token_id="tok_test", role="submitter", org="clinic-a")
ECG_TEXT = "Will the ECG be monitored periodically during treatment?"
EDITED_ECG_TEXT = "Is periodic ECG monitoring planned (edited wording)?"


@pytest.fixture
def registry_in_use():
    """use(registry): make `registry` the one in use for this test only."""
    before = policy_registry()
    yield use_registry
    use_registry(before)


@pytest.fixture
def revised(tmp_path):
    """The bundled version and a next one from 2026-07-01 (4 months, 72 units)."""
    return PolicyRegistry([policy_path_with_next_version(tmp_path / "path")])


def test_the_questionnaire_is_the_version_a_new_request_is_asked(revised):
    policy = revised.get("besponsa")
    before, after = dt.date(2026, 6, 30), dt.date(2026, 7, 1)
    assert build_questionnaire(policy, before)["version"] == "2025-06-24"
    assert build_questionnaire(policy, after)["version"] == NEXT
    assert canonical(policy.current(after)) == f"{systems.questionnaire_url('besponsa')}|{NEXT}"


def test_crd_decides_under_the_version_in_force_the_day_it_is_asked_whatever_the_order_date(
    revised, registry_in_use, fhir_example
):
    registry_in_use(revised)
    hook = fhir_example("crd-order-sign")  # authored 2026-03-02: not the request date
    answer = crd.answer_hook(CALLER, "priorauth-crd-order-sign", hook, "http://x/", dt.date(2026, 6, 30))
    info = coverage_information(answer["systemActions"][0]["resource"])
    assert detail(info, "allowed-quantity")["value"]["valueQuantity"]["value"] == 63
    assert detail(info, "allowed-period")["value"]["valuePeriod"] == {"start": "2026-06-30", "end": "2026-12-29"}
    assert info["questionnaire"] == [f"{systems.questionnaire_url('besponsa')}|2025-06-24"]

    answer = crd.answer_hook(CALLER, "priorauth-crd-order-sign", hook, "http://x/", dt.date(2026, 7, 2))
    info = coverage_information(answer["systemActions"][0]["resource"])
    assert detail(info, "allowed-quantity")["value"]["valueQuantity"]["value"] == 72
    assert detail(info, "allowed-period")["value"]["valuePeriod"]["end"] == "2026-11-01"  # 4 months
    assert info["questionnaire"] == [f"{systems.questionnaire_url('besponsa')}|{NEXT}"]


def test_an_inquiry_speaks_under_the_version_that_decided(client, auth, fhir_example, registry_in_use, tmp_path):
    headers = auth("submitter")
    r = client.post("/fhir/Claim/$submit", json=fhir_example("pas-submit-missing-fact"), headers=headers)
    assert r.status_code == 200, r.text
    assert ECG_TEXT in r.json()["entry"][0]["resource"]["processNote"][0]["text"]

    # The same version date, edited in place: another digest. The stored request keeps its own.
    folder = tmp_path / "edited" / "besponsa"
    folder.mkdir(parents=True)
    text = BUNDLED.read_text(encoding="utf-8")
    assert ECG_TEXT in text
    (folder / BUNDLED.name).write_text(text.replace(ECG_TEXT, EDITED_ECG_TEXT), encoding="utf-8")
    registry_in_use(PolicyRegistry([tmp_path / "edited"]))

    r = client.post("/fhir/Claim/$inquire", json=fhir_example("pas-inquire"), headers=headers)
    assert r.status_code == 200, r.text
    note = r.json()["entry"][0]["resource"]["processNote"][0]["text"]
    assert ECG_TEXT in note and EDITED_ECG_TEXT not in note
    # A new request is asked today's wording.
    questionnaire = client.get("/fhir/Questionnaire/besponsa").json()
    (item,) = [i for i in questionnaire["item"] if i["linkId"] == "ecg_monitoring_planned"]
    assert item["text"] == EDITED_ECG_TEXT
    shutil.rmtree(tmp_path / "edited")


def test_the_doors_errors_are_priorauth_errors_with_stable_codes():
    assert isinstance(invalid("Bundle", "bad"), PriorAuthError)
    assert FhirInputError().code == ErrorCode.FHIR_INPUT_INVALID
    error = crd.HookError(400, "context.patientId", "required")
    assert isinstance(error, PriorAuthError) and error.code == ErrorCode.HOOK_INPUT_INVALID
    assert str(error) == "context.patientId: required" and error.to_dict()["code"] == "hook_input_invalid"
