"""The request form generated from the policy's questions; its preview is the service's decision."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

import pytest

from priorauth import service
from priorauth.core import load_policy
from priorauth.web.forms import fact_label, facts_form_values, humanize
from priorauth.web.forms import read_form as read_policy_form

from .conftest import NEWER, NEWER_QUESTION

SUBMITTER = service.Principal("tok_form", "submitter", "clinic-a")


@pytest.fixture(scope="module")
def policy():
    return load_policy("besponsa")


@pytest.fixture(scope="module")
def version(policy):
    return policy.current()


def read_form(policy, form, **kwargs):
    """The form as the new-request page reads it: previewed by the service for a submitter."""
    return read_policy_form(policy, form, principal=SUBMITTER, **kwargs)


def example_form(name: str) -> dict[str, str]:
    facts = json.loads((resources.files("priorauth") / "examples" / f"{name}.json").read_text())["facts"]
    return facts_form_values(load_policy("besponsa").current(), facts)


def visible(state) -> list[str]:
    return [f.id for f in state.visible]


def test_every_question_has_a_labelled_control(policy, version):
    state = read_form(policy, {})
    assert state.version is version  # no request date yet: today's version asks
    assert [f.id for f in state.fields] == [q.id for q in version.questions]
    for f in state.fields:
        assert f.label == version.question(f.id).text
        assert f.control in ("radio", "select", "date", "number", "text")
    by_id = {f.id: f for f in state.fields}
    assert by_id["cd22_positive"].control == "radio"
    assert [o.label for o in by_id["cd22_positive"].options] == ["Yes", "No", "Not known"]
    assert by_id["diagnosis"].control == "select"
    assert by_id["birth_date"].control == "date" and by_id["birth_date"].phi
    assert by_id["cycles_received"].control == "number"


def test_empty_form_hides_questions_that_cannot_matter_yet(policy, version):
    state = read_form(policy, {})
    shown = visible(state)
    # Renewal questions matter until the request type is known; Medicare routing does not.
    assert "request_type" in shown and "cycles_received" in shown
    assert "member_state" not in shown and "member_county" not in shown
    assert "tki" not in shown
    # line_of_business has a default answer, so it is shown with that answer.
    assert "line_of_business" in shown
    assert {f.id: f.value for f in state.visible}["line_of_business"] == "commercial"
    assert state.hidden_count == len(version.questions) - len(shown)


def test_answers_narrow_the_questions(policy):
    initial = read_form(policy, {"request_type": "initial", "request_date": "2026-03-02"})
    assert "first_authorization_date" not in visible(initial)
    assert "cycles_received" not in visible(initial)
    medicare = read_form(policy, {"line_of_business": "medicare"})
    assert visible(medicare) == ["line_of_business", "member_state"]
    assert medicare.determination.decision.value == "not_applicable"


def test_preview_is_the_engine_decision(policy):
    pended = read_form(policy, example_form("pended-comorbidities-unknown"))
    assert pended.valid
    assert pended.determination.decision.value == "pended"
    assert pended.determination.missing_facts == ("substantial_comorbidities",)
    assert "substantial_comorbidities" in visible(pended)
    denied = read_form(policy, {**example_form("pended-comorbidities-unknown"), "substantial_comorbidities": "true"})
    assert denied.determination.decision.value == "denied"
    assert {r.criterion for r in denied.determination.reasons if r.any_of == "fc_rituximab"} == {
        "fc_no_rituximab", "fc_no_comorbidities"}
    approved = read_form(policy, example_form("approved-adult-relapsed"))
    assert approved.determination.decision.value == "approved"


def test_form_strings_become_contract_values(policy):
    state = read_form(policy, {
        "icd10_codes": "C91.02, c9100 ;C83.50", "cd22_positive": "false", "cycles_received": "2",
        "member_state": "or", "request_date": "2026-03-02",
    })
    assert state.facts["icd10_codes"] == ["C91.02", "C91.00", "C83.50"]
    assert state.raw["cd22_positive"] is False
    assert state.raw["cycles_received"] == 2
    assert state.facts["member_state"] == "OR"
    assert not state.errors


def test_a_bad_answer_is_reported_next_to_its_question_and_the_rest_still_decides(policy):
    state = read_form(policy, {
        **example_form("pended-comorbidities-unknown"), "birth_date": "1966-02-30", "cycles_received": "two",
    })
    assert set(state.errors) == {"birth_date", "cycles_received"}
    assert "calendar date" in state.errors["birth_date"]
    assert state.errors["cycles_received"] == "expected a whole number"
    fields = {f.id: f for f in state.visible}
    assert fields["birth_date"].error and fields["birth_date"].value == "1966-02-30"
    assert "cycles_received" in fields  # shown because it is in error, even if it cannot matter
    assert state.determination is not None and not state.valid  # preview from the valid answers only


def test_inconsistent_dates_block_the_preview(policy):
    state = read_form(policy, {"request_date": "2026-03-02", "birth_date": "2027-01-01"})
    assert state.determination is None
    assert state.errors["birth_date"] == "after request_date"


def test_unknown_choice_is_refused(policy):
    state = read_form(policy, {"diagnosis": "flu"})
    assert state.errors["diagnosis"].startswith("not one of")


def test_only_limits_the_form_to_named_facts(policy):
    state = read_form(policy, {"substantial_comorbidities": "true", "cd22_positive": "false"},
                      only={"substantial_comorbidities"})
    assert [f.id for f in state.fields] == ["substantial_comorbidities"]
    assert state.raw == {"substantial_comorbidities": True}


def test_humanize_keeps_acronyms():
    assert humanize("b_cell_precursor_all") == "B cell precursor ALL"
    assert humanize("mini_hyper_cvd") == "Mini hyper CVD"
    assert humanize("tki_combination") == "TKI combination"


def test_questions_and_preview_follow_the_version_in_force_on_the_request_date(load_newer_version):
    load_newer_version()
    policy = load_policy("besponsa")
    answers = example_form("pended-comorbidities-unknown")  # request date 2026-03-02
    old = read_form(policy, answers)
    assert old.version is policy.version_on(dt.date(2026, 3, 2)) and old.version.version != NEWER
    assert old.determination.policy_version == old.version.version
    assert old.determination.policy_digest == old.version.digest
    new = read_form(policy, {**answers, "request_date": "2026-07-15"})
    assert new.version is policy.latest and new.version.version == NEWER
    assert new.determination.policy_version == NEWER and new.determination.policy_digest == policy.latest.digest
    assert {f.id: f.label for f in new.fields}["substantial_comorbidities"] == NEWER_QUESTION
    # Before the first version: today's version asks, and the date is refused next to it.
    early = read_form(policy, {**answers, "request_date": "2020-01-02"})
    assert early.determination is None
    assert early.errors["request_date"].startswith("before the first version of policy besponsa")


def test_without_a_principal_there_is_no_preview(version):
    state = read_policy_form(version, {"cd22_positive": "false"})
    assert state.version is version and state.determination is None and not state.errors
    assert state.raw == {"cd22_positive": False}


@pytest.mark.parametrize(("fact", "words"), [
    ("dosing.doses[1].day", "the day of dose 2"),
    ("dosing.doses[0].mg", "the amount (mg) of dose 1"),
    ("dosing.doses[2].units", "the HCPCS units of dose 3"),
    ("dosing.weight_kg", "the weight (kg)"),
    ("dosing.bsa_m2", "the body surface area (m²)"),
    ("dosing.cycle", "the cycle number"),
])
def test_fact_label_puts_dosing_fields_in_words(fact, words):
    assert fact_label(fact, {}) == words


def test_fact_label_prefers_the_question():
    assert fact_label("age", {"age": "How old is the patient?"}) == "How old is the patient?"
