"""The dose-rule language expresses a continuous-infusion, weight-banded drug (a made-up test policy).

`tests/dosing/policies/infusamab/2026-01-15.yaml`: 28 infusion days in a 42-day cycle (84 days
from cycle 6); 9 then 28 mcg/day from 45 kg; 5 then 15 mcg/m2/day below 45 kg, at most 9 and
28 mcg a day; the step-up (days 1-7 of cycle 1) only for relapsed or refractory disease; one
35 mcg vial per infusion day; 1 unit = 1 mcg; 980 units in any 42 days.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from priorauth import DoseOutcome, PolicyError, RequestError, check_doses, plan_doses
from priorauth.core import Truth, load_policy_file, parse_dosing, parse_policy_version

FOLDER = Path(__file__).parent / "policies"
POLICY = load_policy_file(FOLDER / "infusamab")
VERSION = POLICY.latest
RR = {"disease_setting": "relapsed_refractory"}
MRD = {"disease_setting": "mrd_positive"}


def amounts(plan):
    return [(d.day, d.amount) for d in plan.days]


def test_from_45_kg_the_dose_is_fixed_with_a_step_up_in_cycle_1():
    plan = plan_doses(POLICY, weight_kg=45, facts=RR)  # exactly 45 kg: the fixed dose
    assert plan.unit == "mcg" and plan.bsa is None and plan.weight_kg == Decimal(45)
    assert amounts(plan) == [(d, Decimal(9)) for d in range(1, 8)] + [(d, Decimal(28)) for d in range(8, 29)]
    assert {d.basis for d in plan.days} == {"flat"}
    assert (plan.schedule.length_days, plan.schedule.id) == (42, "rr_cycle_1")
    # one 35 mcg vial a day: 9 mcg leaves 26 units of waste (JW), 28 mcg leaves 7
    first, eighth = plan.days[0].billing, plan.days[7].billing
    assert (first.units, first.vials, first.discarded_units, first.modifier) == (9, 1, 26, "JW")
    assert (eighth.units, eighth.vials, eighth.discarded_units, eighth.billed_units) == (28, 1, 7, 35)
    assert (plan.total_amount, plan.total_units, plan.total_discarded_units, plan.total_vials) == (
        Decimal(651), 651, 329, 28)
    assert (plan.window.units, plan.window.limit, plan.within_limit) == (980, 980, True)
    out = plan.to_dict()
    assert out["totals"] == {"mcg": 651.0, "units": 651, "discarded_units": 329, "billed_units": 980, "vials": 28}
    assert out["days"][0]["mcg_per_day"] == 9.0 and out["mcg_per_unit"] == 1.0 and out["vial_mcg"] == 35.0


def test_below_45_kg_the_dose_is_per_m2():
    # 30 kg, 130 cm: BSA sqrt(130 x 30 / 3600) = 1.0408 -> 1.04 m2
    plan = plan_doses(POLICY, weight_kg=30, height_cm=130, facts=RR)
    assert plan.bsa.m2 == Decimal("1.04")
    assert plan.days[0].amount == Decimal("5.20") and plan.days[7].amount == Decimal("15.60")
    assert {d.basis for d in plan.days} == {"per_m2"} and not any(d.label.capped for d in plan.days)
    assert plan.days[0].billing.units == 6  # 5.2 mcg rounds up to 6 units


def test_the_daily_cap_applies_after_multiplying():
    # 44 kg with a BSA of 2.0 m2: 5 x 2 = 10 -> at most 9; 15 x 2 = 30 -> at most 28 mcg a day
    plan = plan_doses(POLICY, weight_kg=44, bsa_m2=2.0, facts=RR)
    assert (plan.days[0].amount, plan.days[0].label.uncapped, plan.days[0].label.capped) == (
        Decimal(9), Decimal("10.0"), True)
    assert (plan.days[7].amount, plan.days[7].label.capped) == (Decimal(28), True)
    assert "capped at 28 mcg a day" in plan.days[7].label.explain()


@pytest.mark.parametrize(("weight", "basis"), [(45, "flat"), (44.99, "per_m2"), (45.01, "flat"), (2, "per_m2")])
def test_the_weight_band_boundary(weight, basis):
    plan = plan_doses(POLICY, weight_kg=weight, bsa_m2=0.5, facts=RR)
    assert {d.basis for d in plan.days} == {basis}


def test_the_bsa_is_needed_only_below_45_kg():
    assert plan_doses(POLICY, weight_kg=80, facts=RR).bsa is None
    with pytest.raises(RequestError) as exc:
        plan_doses(POLICY, weight_kg=40, facts=RR)
    assert exc.value.field == "height_cm" and exc.value.code == "missing_measurement"
    with pytest.raises(RequestError) as exc:
        plan_doses(POLICY, height_cm=150, facts=RR)  # the weight picks the band
    assert exc.value.field == "weight_kg"


def test_the_step_up_is_in_one_branch_only_and_the_cycle_length_follows_the_cycle():
    mrd = plan_doses(POLICY, weight_kg=70, facts=MRD)
    assert amounts(mrd) == [(d, Decimal(28)) for d in range(1, 29)]
    continued = plan_doses(POLICY, weight_kg=70, cycle=6, facts=RR)
    assert (continued.schedule.length_days, len(continued.days)) == (84, 28)
    assert plan_doses(POLICY, weight_kg=70, cycle=3, facts=RR).schedule.length_days == 42


def test_the_schedule_needs_the_fact_that_chooses_it():
    with pytest.raises(RequestError) as exc:
        plan_doses(POLICY, weight_kg=70)
    assert exc.value.field == "facts.disease_setting" and exc.value.problem.startswith("required")
    with pytest.raises(RequestError) as exc:
        plan_doses(POLICY, weight_kg=70, cycle=5, facts=MRD)  # the MRD schedule has 4 cycles
    assert exc.value.field == "cycle"


def test_stop_rules_by_branch():
    eligible = plan_doses(POLICY, weight_kg=70, cycle=9, facts=RR).eligibility
    assert eligible.status is Truth.MET and [r.rule for r in eligible.rules] == ["rr_nine_cycles"]


def test_a_plan_for_one_day():
    plan = plan_doses(POLICY, weight_kg=70, day=3, facts=RR)
    assert amounts(plan) == [(3, Decimal(9))]
    with pytest.raises(RequestError) as exc:
        plan_doses(POLICY, weight_kg=70, day=30, facts=RR)
    assert exc.value.field == "day" and "1-28" in exc.value.problem


def test_the_dosing_block_reads_the_inputs_the_policy_declares():
    block = parse_dosing(VERSION, {"weight_kg": 70, "cycle": 1, "doses": [{"day": 1, "mcg": 9}]})
    assert block.doses[0].amount == 9 and block.value("weight_kg") == 70
    for raw, field in [
        ({"weight_kg": 70, "cycle": 10}, "dosing.cycle"),  # cycles 1 to 9
        ({"weight_kg": 70, "day": 85}, "dosing.day"),
        ({"weight_kg": 70, "response": "CR"}, "dosing.response"),  # another policy's input
        ({"weight_kg": 70, "cycle": 1, "doses": [{"day": 1, "mg": 9}]}, "dosing.doses[0].mg"),  # doses are in mcg
        ({"weight_kg": 400}, "dosing.weight_kg"),
    ]:
        with pytest.raises(RequestError) as exc:
            parse_dosing(VERSION, raw)
        assert exc.value.field == field, raw
    # the weight picks the band and the BSA may come with it (unlike a policy that reads weight only for a BSA)
    assert parse_dosing(VERSION, {"weight_kg": 40, "bsa_m2": 1.2}).value("bsa_m2") == 1.2


def check(doses, facts=RR, **inputs):
    return check_doses(VERSION, {"cycle": 1, **inputs, "doses": doses}, facts=facts)


def test_dose_check_of_an_infusion():
    ok = check([{"day": d, "mcg": 9} for d in range(1, 8)] + [{"day": 8, "units": 28}], weight_kg=70)
    assert ok.outcome is DoseOutcome.APPROVED and ok.unit == "mcg"
    assert ok.window.units == 8 * 35 and "for 70 kg" in ok.reasons[0].text
    over = check([{"day": 1, "mcg": 28}], weight_kg=70)  # the step-up day asks for the full dose
    assert over.outcome is DoseOutcome.MODIFIED and over.days[0].allowed.amount == Decimal(9)
    assert over.to_dict()["days"][0]["allowed_mcg"] == 9.0
    assert check([{"day": 29, "mcg": 28}], weight_kg=70).outcome is DoseOutcome.DENIED  # a day off infusion
    capped = check([{"day": 8, "mcg": 30}], weight_kg=40, bsa_m2=2.0)
    assert capped.outcome is DoseOutcome.MODIFIED and "capped at 28 mcg a day" in capped.reasons[0].text


def test_unknown_inputs_pend_only_when_they_change_the_answer():
    # Day 8 is 28 mcg in both branches: no need to know the setting; day 1 is not.
    assert check([{"day": 8, "mcg": 28}], facts=None, weight_kg=70).outcome is DoseOutcome.APPROVED
    pended = check([{"day": 1, "mcg": 28}], facts=None, weight_kg=70)
    assert pended.outcome is DoseOutcome.PENDED and pended.missing == ("disease_setting",)
    no_weight = check([{"day": 8, "mcg": 28}])
    assert no_weight.outcome is DoseOutcome.PENDED and no_weight.missing == ("dosing.weight_kg",)
    child = check([{"day": 8, "mcg": 15}], weight_kg=30)
    assert child.outcome is DoseOutcome.PENDED and child.missing == ("dosing.height_cm",)


def test_cli_dose_with_a_policy_from_the_policy_path():
    proc = subprocess.run(
        [sys.executable, "-m", "priorauth.cli", "--policy-path", str(FOLDER), "dose", "--policy", "infusamab",
         "--weight-kg", "45", "--disease-setting", "relapsed_refractory", "--cycle", "1", "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["totals"]["billed_units"] == 980 and out["days"][0]["mcg"] == 9.0
    proc = subprocess.run(
        [sys.executable, "-m", "priorauth.cli", "--policy-path", str(FOLDER), "dose", "--policy", "infusamab",
         "--weight-kg", "45"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: --disease-setting: required")


def test_claims_synth_and_audit_for_the_test_policy():
    from priorauth.claims import ClaimRules, audit_claims
    from priorauth.claims.reference import audit_reference
    from priorauth.claims.synth import synth_claims

    claims = synth_claims(POLICY, 3000, 4)
    assert set(claims["hcpcs"].unique()) >= {"J9999"}
    result = audit_claims(claims, policy=POLICY)
    expected, _ = audit_reference(claims.to_dicts(), ClaimRules.from_policy(POLICY))
    assert result.lines.to_dicts() == expected
    assert result.summary.edit_counts["UNITS_OVER_LIMIT"] > 0 and result.summary.edit_counts["CYCLE_LIMIT"] > 0
    # a member's 28 daily lines of one cycle are 28 x 35 = 980 billed units at most
    daily = result.lines.filter(pl.col("edits").list.len() == 0)
    assert daily["rolling_units"].max() <= 980


def _variant(old: str, new: str) -> str:
    text = (FOLDER / "infusamab" / "2026-01-15.yaml").read_text(encoding="utf-8")
    changed, count = re.subn(re.escape(old), new, text, count=1)
    assert count == 1, old
    return changed


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("weight_kg: {below: 45}}\n        - {days: {from: 8", "weight_kg: {below: 40}}\n        - {days: {from: 8",
     "weight bands must cover every weight exactly once"),
    ("unit: mcg, basis: flat, weight_kg: {at_least: 45}}\n        - {days: {from: 1, to: 7}",
     "unit: mg, basis: flat, weight_kg: {at_least: 45}}\n        - {days: {from: 1, to: 7}",
     "every dose must be in the same unit"),
    ("amount: 9, unit: mcg, basis: flat", "amount: 9, unit: mcg, basis: flat, per_week: 1", "unknown key"),
    ("length_days: 84", "length_days: 20", "beyond the 20-day cycle"),
    ("    cycle: {type: integer, min: 1, max: 9, text: The cycle (1 to 9).}\n", "", "`cycle` must be declared"),
    ("when: {disease_setting: [mrd_positive]}\n      length_days", "when: {disease_setting: [mrd]}\n      length_days",
     "not one of its values"),
])
def test_malformed_dosing_is_refused_when_the_file_is_loaded(old, new, problem):
    from priorauth.core._policy.dosing import dosing_problems

    try:
        version = parse_policy_version(_variant(old, new), "variant.yaml")
    except PolicyError as exc:
        assert problem in str(exc)
    else:
        assert any(problem in p for p in dosing_problems(version)), list(dosing_problems(version))
