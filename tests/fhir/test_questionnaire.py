"""The DTR Questionnaire is generated from the policy's fact vocabulary; answers read back as facts."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from priorauth.core import determine, holds, load_policy, validate_facts
from priorauth.fhir import systems
from priorauth.fhir.prefill import questionnaire_response
from priorauth.fhir.questionnaire import build_questionnaire, facts_from_response
from priorauth.fhir.resources import FhirInputError, parse

POLICY = load_policy("besponsa").current()  # the version the Questionnaire is generated from


def items_by_link():
    return {i["linkId"]: i for i in build_questionnaire("besponsa")["item"]}


def conditions(item):
    return {
        (w["question"], w["operator"], (w.get("answerCoding") or {}).get("code", w.get("answerBoolean")))
        for w in item.get("enableWhen", [])
    }


def test_questionnaire_is_valid_fhir_with_one_item_per_fact():
    q = build_questionnaire("besponsa")
    parse(q, "Questionnaire")
    facts = [i["linkId"] for i in q["item"] if i["type"] != "group"]
    assert facts == [question.id for question in POLICY.questions]
    assert q["url"] == systems.questionnaire_url("besponsa") and q["version"] == "2025-06-24"


def test_item_types_and_answer_options_come_from_the_policy_file():
    items = items_by_link()
    assert items["cd22_positive"]["type"] == "boolean"
    assert items["birth_date"]["type"] == "date"
    assert items["cycles_received"]["type"] == "integer"
    assert [o["valueCoding"]["code"] for o in items["disease_setting"]["answerOption"]] == [
        "relapsed_refractory",
        "frontline_consolidation",
        "frontline_induction",
        "other",
    ]
    icd = items["icd10_codes"]
    assert icd["repeats"] is True and icd["type"] == "open-choice"
    assert {"C91.00", "C91.01", "C91.02"} <= {o["valueCoding"]["code"] for o in icd["answerOption"]}


def test_only_relevant_questions_show():
    items = items_by_link()
    assert "enableWhen" not in items["line_of_business"]
    # Rituximab: asked in frontline consolidation (the note) and with a single agent for relapsed or
    # refractory disease (single agent plus rituximab is not single agent): given as an expression.
    assert conditions(items["with_rituximab"]) == {("disease_setting", "=", "frontline_consolidation"),
                                                   ("regimen", "=", "single_agent")}
    assert conditions(items["substantial_comorbidities"]) == {("disease_setting", "=", "frontline_consolidation")}
    assert conditions(items["first_authorization_date"]) == {("request_type", "=", "renewal")}
    assert conditions(items["cycles_received"]) == {("request_type", "=", "renewal")}
    assert conditions(items["cd22_positive"]) == {("request_type", "=", "initial")}
    assert conditions(items["member_state"]) == {("line_of_business", "=", "medicare")}
    assert conditions(items["member_county"]) == {("member_state", "=", "VA")}
    assert conditions(items["tki"]) == {("regimen", "=", "tki_combination")}  # asked_when in the policy file
    assert conditions(items["regimen"]) == {
        ("disease_setting", "=", "relapsed_refractory"),
        ("disease_setting", "=", "frontline_consolidation"),
    }
    assert items["regimen"]["enableBehavior"] == "any"


def test_relevance_that_is_not_flat_is_given_exactly_as_an_expression():
    ph = items_by_link()["ph_status"]
    (expr,) = [e for e in ph["extension"] if e["url"] == systems.SDC_ENABLE_WHEN_EXPRESSION]
    text = expr["valueExpression"]["expression"]
    assert "'frontline_consolidation'" in text and "'mini_hyper_cvd'" in text and "'tki_combination'" in text
    # enableWhen alone shows the question in a superset of those cases
    assert ph["enableBehavior"] == "any"


DOMAINS = {
    q.id: (
        list(q.values)
        if q.type == "choice"
        else [True, False]
        if q.type == "boolean"
        else [["C91.02"], ["C83.50"], ["C92.00"]]
        if q.type == "code_list"
        else ["OR", "VA", "CA"]
        if q.type == "state"
        else ["Fairfax County", "Richmond"]
        if q.id == "member_county"
        else [0, 3, 6, 8]
        if q.type == "integer"
        else ["1960-05-14", "2000-01-01", "2020-06-30", "2025-12-01"]
        if q.id == "birth_date"
        else ["2025-10-01", "2026-01-15"]
        if q.id == "first_authorization_date"
        else ["2026-03-02"]
        if q.id == "request_date"
        else ["dasatinib"]
    )
    for q in POLICY.questions
}


def _reachable(rel, facts):
    """Shown now, or shown once some question it depends on is answered."""
    return rel is None or any(
        all(c.fact not in facts or (facts[c.fact] in c.values) is not c.negated for c in conj) for conj in rel
    )


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in DOMAINS.items()}))
def test_a_hidden_question_cannot_change_the_decision(raw):
    """Whatever the answer to a question that is not shown, the core decides the same."""
    facts = validate_facts(POLICY, raw)
    rel = POLICY.runtime.relevance
    for q in POLICY.questions:
        if q.id in raw or _reachable(rel[q.id], facts):
            continue
        decisions = set()
        for value in DOMAINS[q.id]:
            try:
                decisions.add(determine(POLICY, validate_facts(POLICY, {**raw, q.id: value})).decision)
            except Exception:  # inconsistent dates are refused by the core, not by the form
                continue
        assert len(decisions) <= 1, (q.id, decisions)


def test_a_shown_question_is_answerable_in_the_questionnaire():
    rel = POLICY.runtime.relevance
    assert holds(rel["with_rituximab"], {"disease_setting": "frontline_consolidation"})
    assert not holds(rel["with_rituximab"], {"disease_setting": "relapsed_refractory"})
    assert holds(rel["with_rituximab"], {"disease_setting": "relapsed_refractory", "regimen": "single_agent"})
    assert not holds(rel["with_rituximab"], {"disease_setting": "relapsed_refractory", "regimen": "mini_hyper_cvd"})


@pytest.mark.parametrize(
    "name",
    [
        "approved-adult-relapsed",
        "renewal-within-period",
        "medicare-virginia",
        "pended-comorbidities-unknown",
        "denied-pediatric-combination",
    ],
)
def test_response_round_trips_to_the_same_facts(name):
    request = json.loads((resources.files("priorauth") / "examples" / f"{name}.json").read_text())
    facts = validate_facts(POLICY, request["facts"])
    response = questionnaire_response(POLICY, facts)
    parse(response, "QuestionnaireResponse")
    assert facts_from_response(POLICY, response) == facts


def test_completed_response_gives_contract_facts(fhir_example):
    facts = facts_from_response(POLICY, fhir_example("questionnaire-response-complete"))
    assert facts["request_date"] == dt.date(2026, 3, 2)
    assert facts["cd22_positive"] is True and facts["regimen"] == "single_agent"
    assert determine(POLICY, {**facts, "icd10_codes": ["C91.02"]}).decision.value == "approved"


def test_a_wrong_answer_type_names_the_item(fhir_example):
    response = fhir_example("questionnaire-response-complete")
    response["item"][4]["answer"] = [{"valueString": "yes"}]  # cd22_positive
    with pytest.raises(FhirInputError) as err:
        facts_from_response(POLICY, response)
    assert err.value.issues[0].expression == "QuestionnaireResponse.item[4].answer[0]"


def test_an_unknown_question_and_a_bad_value_are_refused(fhir_example):
    response = fhir_example("questionnaire-response-complete")
    response["item"].append({"linkId": "favourite_colour", "answer": [{"valueString": "blue"}]})
    with pytest.raises(FhirInputError, match="not a question"):
        facts_from_response(POLICY, response)
    response = fhir_example("questionnaire-response-complete")
    response["item"][0]["answer"] = [
        {"valueCoding": {"system": systems.answer_system("besponsa", "request_type"), "code": "extension"}}
    ]
    with pytest.raises(FhirInputError) as err:
        facts_from_response(POLICY, response)
    assert err.value.issues[0].expression == "QuestionnaireResponse.item[0].answer"
    assert "initial, renewal" in err.value.issues[0].diagnostics
