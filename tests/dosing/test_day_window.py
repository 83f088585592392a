"""The label's dose-day window (`dosing.day_window`): a shifted dose day is an administration
detail, checked as its scheduled day; outside the window the dose day is asked again (pended,
A4), never denied on that ground alone. Besponsa: days 8 and 15 may move +/- 2 days, at least
6 days between doses; day 1 is the cycle's start and never moves."""

from __future__ import annotations

import copy
import json
from importlib import resources
from itertools import pairwise
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from priorauth import Decision, DoseOutcome, check_doses, evaluate, load_policy, plan_doses
from priorauth.core._policy.dosing import Dosing

POLICY_FILE = Path(__file__).resolve().parents[2] / "src/priorauth/policies/besponsa/2025-06-24.yaml"
APPROVABLE = json.loads((resources.files("priorauth") / "examples" / "approved-adult-relapsed.json").read_text())
# 170 cm, 70 kg: BSA 1.82 m2; label 1.456 mg on day 1, 0.91 mg on days 8 and 15.
BODY = {"height_cm": 170, "weight_kg": 70, "cycle": 1}
LABEL = {1: 1.456, 8: 0.91, 15: 0.91}


def doses(*days_as: tuple[int, int]) -> list[dict]:
    """Doses on `day`, each the label amount of the scheduled day it stands for."""
    return [{"day": day, "mg": LABEL[scheduled]} for day, scheduled in days_as]


def request(dosing_doses, facts=None):
    out = copy.deepcopy(APPROVABLE)
    out["dosing"] = {**BODY, "doses": dosing_doses}
    out["facts"].update(facts or {})
    return out


def test_the_besponsa_window_is_in_the_policy_file_with_its_source():
    window = load_policy("besponsa").latest.dosing.day_window
    assert (window.days_early, window.days_late, window.min_days_between_doses) == (2, 2, 6)
    assert window.section == "V" and "+/- 2 days" in window.source and "6 days" in window.source
    assert window.window_of(1) == (1, 1) and window.window_of(8) == (6, 10) and window.window_of(15) == (13, 17)


@pytest.mark.parametrize("shifted", [
    [(1, 1), (9, 8), (15, 15)],
    [(1, 1), (10, 8), (16, 15)],
    [(1, 1), (8, 8), (16, 15)],
    [(1, 1), (8, 8), (17, 15)],
    [(1, 1), (9, 8), (16, 15)],
    [(1, 1), (7, 8), (13, 15)],
])
def test_days_within_the_window_are_checked_as_scheduled(shifted):
    exact = check_doses("besponsa", {**BODY, "doses": doses(*((s, s) for _, s in shifted))})
    result = check_doses("besponsa", {**BODY, "doses": doses(*shifted)})
    assert result.outcome is DoseOutcome.APPROVED and result.x12_action == "A1"
    assert [(d.day, d.scheduled_day) for d in result.days] == shifted
    assert [d.allowed for d in result.days] == [d.allowed for d in exact.days]
    moved = [r for r in result.reasons if r.rule == "dose_day_window"]
    assert len(moved) == sum(day != s for day, s in shifted) and all(r.section == "V" for r in moved)
    det = evaluate(request(doses(*shifted)))
    assert det.decision is Decision.APPROVED and det.authorization is not None
    assert det.to_dict()["dose_check"]["days"][1]["scheduled_day"] == 8


def test_a_shifted_day_gets_the_label_dose_of_its_scheduled_day():
    # day 9 stands for day 8 (0.91 mg, +10% = 1.001 mg), not for day 1 (1.456 mg): 1.4 mg is cut to 0.91.
    result = check_doses("besponsa", {**BODY, "doses": [{"day": 1, "mg": 1.456}, {"day": 9, "mg": 1.4}]})
    assert result.outcome is DoseOutcome.MODIFIED and result.x12_action == "A6"
    assert float(result.days[1].label_mg) == 0.91 and float(result.days[1].allowed.mg) == 0.91
    assert result.reasons[0].text.startswith("Day 9 (as day 8): the requested dose")


@pytest.mark.parametrize(("dosing_doses", "missing", "says"), [
    ([{"day": 1, "mg": 1.456}, {"day": 11, "mg": 0.91}], ("dosing.doses[1].day",), "Day 11 is neither"),
    ([{"day": 1, "mg": 1.456}, {"day": 8, "mg": 0.91}, {"day": 18, "mg": 0.91}],
     ("dosing.doses[2].day",), "Day 18 is neither"),
    ([{"day": 1, "mg": 1.456}, {"day": 10, "mg": 0.91}, {"day": 15, "mg": 0.91}],
     ("dosing.doses[1].day", "dosing.doses[2].day"), "Days 10 and 15 are 5 days apart"),
    ([{"day": 1, "mg": 1.456}, {"day": 6, "mg": 0.91}], ("dosing.doses[0].day", "dosing.doses[1].day"),
     "Days 1 and 6 are 5 days apart"),
    ([{"day": 8, "mg": 0.91}, {"day": 9, "mg": 0.91}], ("dosing.doses[0].day", "dosing.doses[1].day"),
     "Days 8 and 9 both count as day 8"),
    # day 1 never moves: a dose on day 2 or 3 is not a late day 1 (the cycle's days count from day 1)
    ([{"day": 2, "mg": 1.456}], ("dosing.doses[0].day",), "Day 2 is neither"),
    ([{"day": 3, "mg": 1.456}, {"day": 10, "mg": 0.91}], ("dosing.doses[0].day",), "Day 3 is neither"),
])
def test_outside_the_window_the_dose_day_is_asked_again_never_denied(dosing_doses, missing, says):
    result = check_doses("besponsa", {**BODY, "doses": dosing_doses})
    assert result.outcome is DoseOutcome.PENDED and result.x12_action == "A4"
    assert result.missing == missing
    assert any(r.rule == "dose_day_window" and r.status.value == "unknown" and r.text.startswith(says)
               and "clarification" in r.text for r in result.reasons)
    det = evaluate(request(dosing_doses))
    assert det.decision is Decision.PENDED and det.authorization is None
    assert det.missing_facts == missing
    assert {r.criterion for r in det.reasons} == {"dose.dose_day_window"}


def test_a_clarification_never_hides_a_denial():
    det = evaluate(request([{"day": 1, "mg": 1.456}, {"day": 11, "mg": 0.91}], {"cd22_positive": False}))
    assert det.decision is Decision.DENIED and det.dose_check.outcome is DoseOutcome.PENDED
    # a cycle that may not be given is still denied, whatever the days
    stop = check_doses("besponsa", {"bsa_m2": 1.8, "cycle": 7, "response": "CR", "doses": [{"day": 11, "mg": 0.9}]})
    assert stop.outcome is DoseOutcome.DENIED


def test_the_window_holds_when_the_schedule_depends_on_an_unknown_response():
    # cycle 2, response unknown: day 8 is 0.5 mg/m2 in both later-cycle schedules; day 9 stands for it
    result = check_doses("besponsa", {"bsa_m2": 1.8, "cycle": 2, "doses": [{"day": 9, "mg": 0.9}]})
    assert result.outcome is DoseOutcome.APPROVED and result.days[0].scheduled_day == 8
    unclear = check_doses("besponsa", {"bsa_m2": 1.8, "cycle": 2, "doses": [{"day": 12, "mg": 0.9}]})
    assert unclear.outcome is DoseOutcome.PENDED and unclear.missing == ("dosing.doses[0].day",)


def test_a_policy_without_a_window_keeps_exact_days():
    policy = load_policy("blincyto")
    assert policy.latest.dosing.day_window is None
    facts = {"request_type": "initial", "disease_setting": "relapsed_refractory"}
    off = check_doses(policy, {"weight_kg": 70, "cycle": 1, "doses": [{"day": 30, "mcg": 28}]}, facts=facts)
    assert off.outcome is DoseOutcome.DENIED and {r.rule for r in off.reasons} == {"dose_schedule"}


# --- the window in the policy file is validated ------------------------------------------------------


def _dosing_with(**window):
    raw = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))["dosing"]
    raw["day_window"] = {**raw["day_window"], **window}
    return Dosing.model_validate(raw)


@pytest.mark.parametrize(("window", "problem"), [
    ({"days_early": -1}, "days_early"),
    ({"days_late": -2}, "days_late"),
    ({"min_days_between_doses": 0}, "min_days_between_doses"),
    ({"days_late": 2.5}, "days_late"),
    ({"source": None}, "source"),
    ({"colour": "blue"}, "colour"),
    ({"days_early": 4, "days_late": 4}, "the windows of days 8 and 15 overlap"),
    ({"min_days_between_doses": 8}, "days 1 and 8 are fewer than 8 days apart"),
    ({"days_early": 0, "days_late": 7}, "day 15 + 7 is beyond the cycle"),
])
def test_a_bad_window_fails_loading_naming_the_problem(window, problem):
    with pytest.raises(ValidationError) as info:
        _dosing_with(**window)
    assert problem in str(info.value)


def test_a_window_of_zero_days_is_exact_days():
    dosing = _dosing_with(days_early=0, days_late=0)
    assert dosing.day_window.scheduled_day((1, 8, 15), 9) is None
    assert dosing.day_window.scheduled_day((1, 8, 15), 8) == 8


# --- properties --------------------------------------------------------------------------------------

shifts = st.integers(min_value=-2, max_value=2)
bsas = st.decimals(min_value="0.3", max_value="3.0", places=2)


@settings(max_examples=60, deadline=None)
@given(bsas, shifts, shifts, st.sampled_from([(8,), (15,), (8, 15)]), st.booleans())
def test_any_shift_within_the_window_never_changes_the_decision(bsa, s8, s15, later, with_day_1):
    """Doses moved within the label's window (keeping 6 days apart) are decided as on their days."""
    shift = {8: s8, 15: s15}
    days = ((1,) if with_day_1 else ()) + later
    moved = {d: d + shift.get(d, 0) for d in days}
    if any(b - a < 6 for a, b in pairwise(sorted(moved.values()))):
        return  # outside the label (too close): a clarification, tested below
    plan = {d.day: d.amount for d in plan_doses("besponsa", bsa_m2=float(bsa), cycle=1).days}
    as_scheduled = [{"day": d, "mg": float(plan[d])} for d in days]
    as_given = [{"day": moved[d], "mg": float(plan[d])} for d in days]
    base = copy.deepcopy(APPROVABLE)
    exact = evaluate({**base, "dosing": {"bsa_m2": float(bsa), "cycle": 1, "doses": as_scheduled}})
    shifted = evaluate({**base, "dosing": {"bsa_m2": float(bsa), "cycle": 1, "doses": as_given}})
    assert shifted.decision is exact.decision
    assert shifted.dose_check.outcome is exact.dose_check.outcome
    assert [d.allowed for d in shifted.dose_check.days] == [d.allowed for d in exact.dose_check.days]


def _on_label(days: list[int]) -> bool:
    """An independent statement of the label's window: each day on 1, 6-10 or 13-17, one per slot,
    at least 6 days apart."""
    slot = {1: 1, **dict.fromkeys(range(6, 11), 8), **dict.fromkeys(range(13, 18), 15)}
    slots = [slot.get(d) for d in days]
    ordered = sorted(days)
    return (None not in slots and len(set(slots)) == len(slots)
            and all(b - a >= 6 for a, b in pairwise(ordered)))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=31), min_size=1, max_size=3, unique=True))
def test_a_dose_day_alone_never_denies_an_approvable_request(days):
    det = evaluate(request([{"day": d, "units": 1} for d in days]))
    assert det.decision is (Decision.APPROVED if _on_label(days) else Decision.PENDED)
    if det.decision is Decision.PENDED:
        assert det.missing_facts and all(f.startswith("dosing.doses[") for f in det.missing_facts)
