"""Capabilities the policy language gained with the second bundled policy, each tested on its own
with a made-up policy (no bundled file): the `between` and `period_not_over` leaf operators, and
per-branch authorization terms (`authorizations:`) with a course of treatment."""

from __future__ import annotations

import datetime as dt

import pytest

from priorauth.core import (
    Decision,
    PolicyError,
    RequestError,
    authorization_for,
    evaluate_facts,
    parse_policy_version,
    plan_doses,
)

HEAD = """
id: rangeamab
effective: "2026-01-01"
title: Rangeamab (made up)
drug: rangeamab
route: intravenous
decided_on: request_date
metadata:
  document_number: TEST-RANGE
  date_approved: "2026-01-01"
  date_of_origin: "2026-01-01"
  dates_reviewed: ["2026-01"]
  source: tests/core/test_language_additions.py
questions:
  - {id: request_type, type: choice, values: [initial, renewal], text: "Initial or renewal?"}
  - {id: request_date, type: date, text: The decision date.}
  - {id: setting, type: choice, values: [a, b, c], text: The setting.}
  - {id: score, type: number, minimum: 0, maximum: 10, text: A score from 0 to 10.}
  - {id: given, type: integer, minimum: 0, text: Cycles given.}
  - {id: started, type: date, text: The course started.}
"""
BILLING = """
billing:
  section: VI
  hcpcs: {code: J9999, description: made up, amount_per_unit: 1, amount_unit: mcg}
  ndc:
    - {pattern: 99999-0001-xx, labeler: "99999", product: "0001", description: vial, vial_amount: 10, single_dose: true}
  modifiers: {reading: CMS rules., discarded: JW, none_discarded: JZ}
references: []
code_lists: {}
"""
PARAMETERS = """
parameters:
  course_months: {section: I, text: The course lasts this many months., value: 12}
  course_cycles: {section: I, text: Cycles in a course., value: 6}
"""
CRITERIA = """
criteria:
  id: coverage
  section: III
  text: Initial or renewal.
  any:
    - id: initial
      section: III
      text: Initial.
      all:
        - {id: is_initial, guard: true, section: III, text: Initial., equals: {request_type: initial}}
        - {id: score_in_range, section: III, text: Score 2 to 5., between: {fact: score, at_least: 2, at_most: 5}}
    - id: renewal
      section: IV
      text: Renewal.
      all:
        - {id: is_renewal, guard: true, section: IV, text: Renewal., equals: {request_type: renewal}}
        - id: course_open
          section: IV
          text: Course not over.
          period_not_over: {fact: started, parameter: course_months}
        - {id: some_left, section: IV, text: At most 5 given., between: {fact: given, at_most: 5}}
"""
AUTHORIZATIONS = """
authorizations:
  - id: first_a
    section: I
    text: Setting a, initial.
    when: {request_type: [initial], setting: [a]}
    cycles: {from: 1, to: 3}
    months: 4
    max_cycles: 3
    max_units: 300
    unit_window_days: 21
    renewable: true
  - id: first_other
    section: I
    text: Any other initial request.
    when: {request_type: [initial]}
    months: 2
    max_cycles: 2
    max_units: 200
    unit_window_days: 14
    renewable: false
  - id: renewal
    section: I
    text: A renewal within the course.
    when: {request_type: [renewal]}
    cycles: {from: 4, to: 6}
    months: 3
    max_cycles: 2
    max_units: 300
    unit_window_days: 42
    renewable: true
    course: {start: started, months: course_months, cycles: course_cycles, given: given}
"""
DOSING = """
dosing:
  section: V
  indication: test
  inputs:
    cycle: {type: integer, min: 1, max: 9, text: The cycle.}
  schedules:
    - id: every_cycle
      section: V
      text: every cycle
      cycles: {from: 1}
      length_days: 21
      doses:
        - {days: [1, 8], amount: 10, unit: mcg, basis: flat}
"""


def policy(authorizations: str = AUTHORIZATIONS, criteria: str = CRITERIA, parameters: str = PARAMETERS,
           dosing: str = DOSING):
    return parse_policy_version(HEAD + parameters + authorizations + criteria + dosing + BILLING, "rangeamab.yaml")


VERSION = policy()


def decide(**facts):
    facts.setdefault("request_date", "2026-03-01")
    return evaluate_facts(_as_policy(VERSION), facts)


def _as_policy(version):
    from priorauth.core import Policy

    return Policy.of(version)


# --- `between` ------------------------------------------------------------------------------

@pytest.mark.parametrize(("score", "decision"), [
    (1.99, Decision.DENIED), (2, Decision.APPROVED), (3.5, Decision.APPROVED), (5, Decision.APPROVED),
    (5.01, Decision.DENIED), (0, Decision.DENIED), (10, Decision.DENIED),
])
def test_between_is_inclusive_at_both_ends(score, decision):
    assert decide(request_type="initial", setting="b", score=score).decision is decision


def test_between_with_one_bound_is_at_most():
    base = {"request_type": "renewal", "started": "2026-01-01"}
    assert decide(**base, given=5).decision is Decision.APPROVED
    assert decide(**base, given=0).decision is Decision.APPROVED
    assert decide(**base, given=6).decision is Decision.DENIED


def test_between_unknown_names_the_fact_and_only_when_it_matters():
    assert decide(request_type="initial", setting="b").missing_facts == ("score",)
    pended = decide(request_type="renewal", started="2026-01-01")
    assert pended.decision is Decision.PENDED and pended.missing_facts == ("given",)
    # the course is over: `given` cannot change the denial, so it is not asked
    over = decide(request_type="renewal", started="2024-01-01")
    assert over.decision is Decision.DENIED and over.missing_facts == ()


def test_between_agrees_with_its_generated_code_and_witnesses():
    criteria = VERSION.runtime.criteria
    node = criteria.by_id["score_in_range"]
    for score in (None, 0, 1.99, 2, 5, 5.01, 10):
        facts = {} if score is None else {"score": score}
        assert criteria.evaluate(facts, {})[node.index] is criteria.evaluate_by_loop(facts, {})[node.index]
    values = node.witnesses("score", {}, {}, dt.date(2026, 3, 1))
    statuses = {node.test({"score": v}, {}) for v in values}
    assert len(statuses) == 2  # the witnesses reach both sides of the range


@pytest.mark.parametrize(("argument", "problem"), [
    ("{fact: score}", "at least one of `at_least`, `at_most`"),
    ("{fact: score, at_least: 6, at_most: 5}", "`at_least` is above `at_most`"),
    ("{fact: score, at_least: yes}", "`at_least` is a number"),
    ("{fact: setting, at_least: 1}", "'setting' is not a number question"),
    ("{fact: score, at_most: 11}", "above the largest value of 'score'"),
    ("{fact: given, at_least: 1.5}", "'given' is a whole number; a bound is not"),
    ("{fact: score, below: 3}", "takes fact, optional at_least, optional at_most"),
])
def test_between_refuses_a_malformed_argument(argument, problem):
    text = CRITERIA.replace("between: {fact: score, at_least: 2, at_most: 5}", f"between: {argument}")
    with pytest.raises(PolicyError) as info:
        policy(criteria=text)
    assert problem in str(info.value)


# --- `period_not_over` ----------------------------------------------------------------------------

def test_period_not_over_tests_only_the_end_of_the_period():
    base = {"request_type": "renewal", "given": 2}
    # 12 months from 31 January 2025 end on 30 January 2026, the day before the same date a year later
    assert decide(**base, started="2025-01-31", request_date="2026-01-30").decision is Decision.APPROVED
    assert decide(**base, started="2025-01-31", request_date="2026-01-31").decision is Decision.DENIED
    # from 29 February: the same date a year later does not exist, the period ends on 28 February
    assert decide(**base, started="2028-02-29", request_date="2029-02-28").decision is Decision.APPROVED
    assert decide(**base, started="2028-02-29", request_date="2029-03-01").decision is Decision.DENIED
    # a decision date before the start is not a period that is over
    assert decide(**base, started="2026-06-01", request_date="2026-03-01").decision is Decision.APPROVED


def test_period_not_over_month_end_rule():
    base = {"request_type": "renewal", "given": 2}
    # 6 months from 31 August: there is no 31 February, so the period ends on the last day of February
    text = PARAMETERS.replace("value: 12", "value: 6")
    six = policy(parameters=text)
    from priorauth.core import Policy

    run = lambda **f: evaluate_facts(Policy.of(six), {**base, **f}).decision  # noqa: E731
    assert run(started="2025-08-31", request_date="2026-02-28") is Decision.APPROVED  # the last day
    assert run(started="2025-08-31", request_date="2026-03-01") is Decision.DENIED


def test_period_not_over_unknown_dates_are_asked():
    pended = decide(request_type="renewal", given=1)
    assert pended.decision is Decision.PENDED and pended.missing_facts == ("started",)


@pytest.mark.parametrize(("argument", "problem"), [
    ("{fact: started, parameter: nope}", "unknown parameter 'nope'"),
    ("{fact: score, parameter: course_months}", "'score' is not a date question"),
    ("{fact: started}", "takes fact, parameter"),
])
def test_period_not_over_refuses_a_malformed_argument(argument, problem):
    text = CRITERIA.replace("period_not_over: {fact: started, parameter: course_months}",
                            f"period_not_over: {argument}")
    assert text != CRITERIA
    with pytest.raises(PolicyError) as info:
        policy(criteria=text)
    assert problem in str(info.value)


# --- per-branch authorization terms -------------------------------------------------------------

def test_the_first_entry_whose_condition_holds_gives_the_terms():
    a = decide(request_type="initial", setting="a", score=3).authorization
    assert (a.branch, a.start, a.end, a.max_cycles, a.max_units, a.unit_window_days, a.renewable) == (
        "first_a", dt.date(2026, 3, 1), dt.date(2026, 6, 30), 3, 300, 21, True)
    b = decide(request_type="initial", setting="c", score=3).authorization
    assert (b.branch, b.end, b.max_cycles, b.unit_window_days, b.renewable) == (
        "first_other", dt.date(2026, 4, 30), 2, 14, False)
    assert b.to_dict()["branch"] == "first_other"


def test_a_course_caps_the_end_the_cycles_and_renewal():
    # 3 months from 2026-03-01 end 2026-05-31; the course (12 months from 2025-06-15) ends 2026-06-14
    inside = decide(request_type="renewal", started="2025-06-15", given=3).authorization
    assert (inside.end, inside.max_cycles, inside.cycles_remaining, inside.renewable) == (
        dt.date(2026, 5, 31), 2, 2, True)
    # the course ends first (2026-04-09), and 5 of 6 cycles are given: one more, not renewable
    late = decide(request_type="renewal", started="2025-04-10", given=5).authorization
    assert (late.end, late.max_cycles, late.cycles_remaining, late.renewable) == (
        dt.date(2026, 4, 9), 1, 1, False)
    # 4 given + 2 = 6: no cycle of the course would remain, so no further renewal
    assert decide(request_type="renewal", started="2025-06-15", given=4).authorization.renewable is False


def test_authorization_for_names_what_choosing_the_terms_needs():
    with pytest.raises(RequestError) as info:
        authorization_for(VERSION, {"request_date": dt.date(2026, 3, 1), "setting": "a"})
    assert info.value.field == "facts.request_type"
    with pytest.raises(RequestError) as info:
        authorization_for(VERSION, {"request_date": dt.date(2026, 3, 1), "request_type": "renewal",
                                    "started": dt.date(2025, 6, 1)})
    assert info.value.field == "facts.given"
    # a reviewer's approval of an initial request whose setting is unknown: `first_a` is still
    # possible, so the terms cannot be chosen
    with pytest.raises(RequestError) as info:
        authorization_for(VERSION, {"request_date": dt.date(2026, 3, 1), "request_type": "initial"})
    assert info.value.field == "facts.setting"


def test_no_applicable_entry_is_a_policy_error():
    only_a = AUTHORIZATIONS.split("  - id: first_other")[0]
    version = policy(authorizations=only_a)
    with pytest.raises(PolicyError):
        authorization_for(version, {"request_date": dt.date(2026, 3, 1), "request_type": "renewal"})


def test_the_unit_limit_of_a_dose_comes_from_the_terms_covering_its_cycle():
    # cycle 2 of setting a: `first_a` (cycles 1-3) whatever the request type, 300 units per 21 days
    plan = plan_doses(VERSION, cycle=2, facts={"setting": "a"})
    assert (plan.limit.branch, plan.limit.max_units, plan.limit.window_days) == ("first_a", 300, 21)
    # cycle 5: only the renewal terms cover it
    plan = plan_doses(VERSION, cycle=5, facts={"setting": "a"})
    assert (plan.limit.branch, plan.limit.window_days) == ("renewal", 42)
    # cycle 2 of setting b: `first_other` (no cycle range) is the only one left
    plan = plan_doses(VERSION, cycle=2, facts={"setting": "b", "request_type": "initial"})
    assert (plan.limit.branch, plan.limit.max_units, plan.limit.window_days) == ("first_other", 200, 14)
    # setting unknown at cycle 2: `first_a` or `first_other`: the stricter (200 per 14 days is 14.3 a
    # day, 300 per 21 days also 14.3: the longer window wins)
    plan = plan_doses(VERSION, cycle=2)
    assert (plan.limit.branch, plan.limit.max_units, plan.limit.window_days) == ("first_a", 300, 21)
    assert plan.to_dict()["unit_limit"]["branch"] == "first_a"


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("months: 4", "months: nope", "authorizations[0].months: unknown parameter 'nope'"),
    ("when: {request_type: [initial], setting: [a]}", "when: {request_type: [initial], setting: [z]}",
     "value 'z' is not one of the values of 'setting'"),
    ("when: {request_type: [initial], setting: [a]}", "when: {score: [1]}",
     "fact 'score' is not a boolean or choice question"),
    ("course: {start: started,", "course: {start: score,", "course.start: 'score' is not a date question"),
    ("given: given}", "given: started}", "course.given: 'started' is not an integer question"),
    ("  - id: first_other", "  - id: first_a", "id 'first_a' is used twice"),
    ("renewable: false", "renewable: course_months", "parameter 'course_months' is not true or false"),
])
def test_malformed_terms_are_refused_naming_the_entry(old, new, problem):
    with pytest.raises(PolicyError) as info:
        policy(authorizations=AUTHORIZATIONS.replace(old, new, 1))
    assert problem in str(info.value)


def test_without_authorizations_the_parameters_are_required():
    with pytest.raises(PolicyError) as info:
        policy(authorizations="")
    assert "'authorization_months' is needed" in str(info.value)


# --- `not_stated`: a fact that can only contradict a choice (issue 12: rituximab on a single agent) ---

NOT_STATED = CRITERIA.replace(
    "{id: score_in_range, section: III, text: Score 2 to 5., between: {fact: score, at_least: 2, at_most: 5}}",
    "{id: not_c, section: III, text: Setting c is not stated., not_stated: {setting: c}}",
)


def test_not_stated_is_met_when_absent_or_other_and_fails_only_on_the_stated_value():
    version = policy(criteria=NOT_STATED, authorizations=AUTHORIZATIONS.replace(", setting: [a]}", "}"))
    runtime = version.runtime

    def decide_here(**facts):
        return evaluate_facts(_as_policy(version), {"request_date": "2026-03-01", "request_type": "initial", **facts})

    absent = decide_here()
    assert absent.decision is Decision.APPROVED and absent.missing_facts == ()  # never asked: absent states nothing
    assert decide_here(setting="a").decision is Decision.APPROVED
    denied = decide_here(setting="c")
    assert denied.decision is Decision.DENIED and [r.criterion for r in denied.reasons] == ["not_c"]
    for facts in ({}, {"setting": "a"}, {"setting": "c"}):  # the generated code and the plain loop agree
        valid = {"request_date": dt.date(2026, 3, 1), "request_type": "initial", **facts}
        assert runtime.criteria.evaluate(valid, runtime.params) == runtime.criteria.evaluate_by_loop(
            valid, runtime.params)


def test_not_stated_names_a_value_of_the_fact():
    with pytest.raises(PolicyError, match="not one of the values"):
        policy(criteria=NOT_STATED.replace("not_stated: {setting: c}", "not_stated: {setting: z}"))
