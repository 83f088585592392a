"""Blincyto dosing worked by hand (Section V), billed (Section VI) and held to Section II: both weight
bands, the daily cap, the step-up of one branch only, 42- and 84-day cycles. The arithmetic is in
the comments; every number comes from the bundled policy file, none from code.

J9039: 1 billable unit = 1 mcg; one 35 mcg single-dose vial per infusion day; discarded drug is
whole units rounded down (JW), JZ when none; 980 units (28 vials x 35) per 42 or 84 days.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest

from priorauth import DoseOutcome, check_doses, evaluate_facts, plan_doses
from priorauth.core import RequestError, load_policy

POLICY = load_policy("blincyto")
RR = {"disease_setting": "relapsed_refractory"}
MRD = {"disease_setting": "mrd_positive"}
CONSOLIDATION = {"disease_setting": "frontline_consolidation"}


def rows(plan):
    return [(d.day, d.amount, d.billing.units, d.billing.vials, d.billing.discarded_amount,
             d.billing.discarded_units, d.billing.modifier) for d in plan.days]


def test_70_kg_relapsed_cycle_1_fixed_dose_with_step_up():
    # 70 kg >= 45 kg: the fixed band, mcg/day (no BSA)
    # days 1-7:  9 mcg  ->  9 units; 1 vial (35 mcg); 35 - 9  = 26 mcg discarded -> 26 units JW
    # days 8-28: 28 mcg -> 28 units; 1 vial;          35 - 28 =  7 mcg discarded ->  7 units JW
    # cycle: 7 x 9 + 21 x 28 = 63 + 588 = 651 mcg = 651 units; discarded 7 x 26 + 21 x 7 = 182 + 147 = 329
    # billed 651 + 329 = 980 = 28 vials x 35: exactly the 980 units of the 42-day window
    plan = plan_doses(POLICY, weight_kg=70, cycle=1, facts=RR)
    assert plan.bsa is None and plan.weight_kg == Decimal(70)
    assert (plan.schedule.id, plan.schedule.length_days) == ("rr_cycle_1", 42)
    assert rows(plan) == [(d, Decimal(9), 9, 1, Decimal(26), 26, "JW") for d in range(1, 8)] + [
        (d, Decimal(28), 28, 1, Decimal(7), 7, "JW") for d in range(8, 29)]
    assert {str(d.label.line.weight_kg) for d in plan.days} == {"45 kg or more"}
    assert not any(d.label.capped for d in plan.days)
    assert (plan.total_amount, plan.total_units, plan.total_discarded_units, plan.total_vials) == (
        Decimal(651), 651, 329, 28)
    assert (plan.limit.branch, plan.limit.max_units, plan.limit.window_days) == (
        "relapsed_refractory_initial", 980, 42)
    assert (plan.window.units, plan.window.first_day, plan.window.last_day, plan.within_limit) == (980, 1, 42, True)


def test_exactly_45_kg_is_the_fixed_dose():
    plan = plan_doses(POLICY, weight_kg=45, cycle=2, facts=RR)
    assert {d.amount for d in plan.days} == {Decimal(28)} and {d.basis for d in plan.days} == {"flat"}
    assert len(plan.days) == 28 and plan.schedule.dose_days == tuple(range(1, 29))


def test_30_kg_relapsed_cycle_1_per_m2_with_step_up():
    # 30 kg < 45 kg: the BSA band. BSA = sqrt(130 x 30 / 3600) = sqrt(1.08333) = 1.04083 -> 1.04 m2
    # days 1-7:  5 x 1.04 = 5.2 mcg (under the 9 mcg cap) -> 6 units (5.2 rounded up); 1 vial;
    #            35 - 5.2 = 29.8 mcg discarded -> 29 units JW (rounded down); billed 6 + 29 = 35
    # days 8-28: 15 x 1.04 = 15.6 mcg (under the 28 mcg cap) -> 16 units; 1 vial; 19.4 left -> 19 JW
    # cycle: 7 x 5.2 + 21 x 15.6 = 36.4 + 327.6 = 364 mcg; units 7 x 6 + 21 x 16 = 42 + 336 = 378;
    #        discarded 7 x 29 + 21 x 19 = 203 + 399 = 602; billed 378 + 602 = 980
    plan = plan_doses(POLICY, weight_kg=30, height_cm=130, cycle=1, facts=RR)
    assert plan.bsa.m2 == Decimal("1.04") and plan.bsa.method == "mosteller"
    assert rows(plan)[0] == (1, Decimal("5.20"), 6, 1, Decimal("29.80"), 29, "JW")
    assert rows(plan)[7] == (8, Decimal("15.60"), 16, 1, Decimal("19.40"), 19, "JW")
    assert {str(d.label.line.weight_kg) for d in plan.days} == {"under 45 kg"}
    assert not any(d.label.capped for d in plan.days)
    assert (plan.total_amount, plan.total_units, plan.total_discarded_units) == (Decimal("364.00"), 378, 602)
    assert plan.window.units == 980 and plan.within_limit


def test_44_kg_with_a_large_bsa_is_capped_each_day():
    # 44 kg, BSA 2.0 m2 (given): 5 x 2.0 = 10 mcg -> capped at 9 mcg/day on days 1-7;
    # 15 x 2.0 = 30 mcg -> capped at 28 mcg/day on days 8-28: the fixed doses again
    plan = plan_doses(POLICY, weight_kg=44, bsa_m2=2.0, cycle=1, facts=RR)
    assert all(d.label.capped for d in plan.days)
    assert [d.label.uncapped for d in plan.days[:1] + plan.days[7:8]] == [Decimal("10.00"), Decimal("30.00")]
    assert [d.amount for d in plan.days[:1] + plan.days[7:8]] == [Decimal(9), Decimal(28)]
    assert plan.days[0].label.explain() == (
        "5 mcg/m2 x 2 m2 = 10 mcg, for under 45 kg, capped at 9 mcg a day")
    assert plan.total_amount == Decimal(651)


def test_8_kg_infant_mrd_cycle_1_no_step_up():
    # MRD-positive: no step-up. BSA = sqrt(70 x 8 / 3600) = sqrt(0.15556) = 0.39441 -> 0.39 m2
    # days 1-28: 15 x 0.39 = 5.85 mcg -> 6 units; 1 vial; 29.15 mcg left -> 29 units JW; billed 35
    # cycle: 28 x 5.85 = 163.8 mcg; 168 units + 812 discarded = 980 billed
    plan = plan_doses(POLICY, weight_kg=8, height_cm=70, cycle=1, facts=MRD)
    assert plan.bsa.m2 == Decimal("0.39")
    assert (plan.schedule.id, plan.schedule.length_days) == ("mrd_cycles", 42)
    assert set(rows(plan)) == {(d, Decimal("5.85"), 6, 1, Decimal("29.15"), 29, "JW") for d in range(1, 29)}
    assert (plan.total_amount, plan.total_units, plan.total_discarded_units) == (Decimal("163.80"), 168, 812)
    assert (plan.limit.branch, plan.limit.window_days) == ("mrd_positive", 42)


def test_consolidation_has_no_step_up_and_the_step_up_is_only_relapsed_cycle_1():
    consolidation = plan_doses(POLICY, weight_kg=60, cycle=1, facts=CONSOLIDATION)
    assert {d.amount for d in consolidation.days} == {Decimal(28)}
    assert consolidation.limit.branch == "frontline_consolidation"
    relapsed_2 = plan_doses(POLICY, weight_kg=60, cycle=2, facts=RR)
    assert {d.amount for d in relapsed_2.days} == {Decimal(28)}


def test_continued_therapy_cycle_6_is_84_days_under_the_renewal_window():
    # cycles 6-9: 28 mcg on days 1-28 of an 84-day cycle; 980 units every 84 days (the renewal's terms)
    # 28 days x (28 + 7 discarded) = 980 billed in the busiest 84-day window
    plan = plan_doses(POLICY, weight_kg=70, cycle=6, facts=RR)
    assert (plan.schedule.id, plan.schedule.length_days) == ("rr_cycles_6_to_9", 84)
    assert (plan.limit.branch, plan.limit.max_units, plan.limit.window_days) == (
        "relapsed_refractory_renewal", 980, 84)
    assert (plan.window.units, plan.window.last_day) == (980, 84)


def test_a_day_of_the_cycle_alone():
    plan = plan_doses(POLICY, weight_kg=70, cycle=1, day=8, facts=RR)
    assert rows(plan) == [(8, Decimal(28), 28, 1, Decimal(7), 7, "JW")]
    with pytest.raises(RequestError, match="not a dose day of cycle 1"):
        plan_doses(POLICY, weight_kg=70, cycle=1, day=29, facts=RR)


@pytest.mark.parametrize(("inputs", "facts", "field"), [
    ({"cycle": 1}, RR, "weight_kg"),  # the weight always picks the band
    ({"weight_kg": 30, "cycle": 1}, RR, "height_cm"),  # below 45 kg a BSA is needed
    ({"weight_kg": 70, "cycle": 1}, {}, "facts.disease_setting"),  # the schedule follows the setting
    ({"weight_kg": 70, "cycle": 5}, MRD, "cycle"),  # MRD-positive: 4 cycles
    ({"weight_kg": 70, "cycle": 10}, RR, "cycle"),  # at most 9
    ({"weight_kg": 0.2, "cycle": 1}, RR, "weight_kg"),  # implausible
])
def test_what_a_plan_needs_is_named(inputs, facts, field):
    with pytest.raises(RequestError) as info:
        plan_doses(POLICY, facts=facts, **inputs)
    assert info.value.field == field


def test_a_requested_dose_is_checked_against_the_label_and_the_branch_window():
    facts = {"request_type": "initial", **RR}
    ok = check_doses(POLICY, {"weight_kg": 70, "cycle": 1, "doses": [{"day": 8, "mcg": 28}]}, facts=facts)
    assert ok.outcome is DoseOutcome.APPROVED and ok.limit.branch == "relapsed_refractory_initial"
    # a whole vial (35 mcg) is above the label dose and there is no rounding tolerance: 28 allowed
    over = check_doses(POLICY, {"weight_kg": 70, "cycle": 1, "doses": [{"day": 8, "units": 35}]}, facts=facts)
    assert over.outcome is DoseOutcome.MODIFIED and over.days[0].allowed.units == 28
    assert over.x12_action == "A6"
    # under 45 kg without a BSA the check is pended, naming the measurement
    pended = check_doses(POLICY, {"weight_kg": 30, "cycle": 1, "doses": [{"day": 1, "mcg": 5}]}, facts=facts)
    assert pended.outcome is DoseOutcome.PENDED and "dosing.height_cm" in pended.missing


def test_a_determination_with_doses_carries_the_check_of_its_branch():
    facts = {"request_type": "renewal", "request_date": "2026-06-15", "disease_setting": "relapsed_refractory",
             "first_authorization_date": "2025-10-01", "cycles_received": 5, "complete_remission": "first",
             "unacceptable_toxicity": False}
    det = evaluate_facts("blincyto", facts, {"weight_kg": 70, "cycle": 6,
                                             "doses": [{"day": d, "mcg": 28} for d in range(1, 29)]})
    assert det.decision.value == "approved" and det.authorization.unit_window_days == 84
    check = det.dose_check
    assert check.outcome is DoseOutcome.APPROVED and (check.limit.window_days, check.window.units) == (84, 980)
    assert det.to_dict()["dose_check"]["unit_limit"]["branch"] == "relapsed_refractory_renewal"


def dose_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "priorauth.cli", "dose", *args],
                          capture_output=True, text=True, timeout=60)


def test_cli_json_of_the_30_kg_example():
    proc = dose_cli("--policy", "blincyto", "--weight-kg", "30", "--height-cm", "130",
                    "--disease-setting", "relapsed_refractory", "--cycle", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["bsa"]["m2"] == 1.04 and out["unit"] == "mcg" and out["hcpcs"] == "J9039"
    first = out["days"][0]
    assert (first["mcg_per_m2"], first["mcg"], first["units"], first["vials"], first["discarded_units"],
            first["modifier"], first["billed_units"], first["capped"], first["weight_band"]) == (
        5.0, 5.2, 6, 1, 29, "JW", 35, False, "under 45 kg")
    assert out["totals"] == {"mcg": 364.0, "units": 378, "discarded_units": 602, "billed_units": 980, "vials": 28}
    assert out["unit_limit"]["branch"] == "relapsed_refractory_initial"
    assert out["unit_limit"]["busiest_window"]["within_limit"] is True


def test_cli_table_names_the_band_the_cap_and_the_window():
    proc = dose_cli("--policy", "blincyto", "--weight-kg", "44", "--bsa", "2", "--disease-setting",
                    "relapsed_refractory", "--cycle", "1")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "BSA 2.00 m2 (given)" in text and "weight 44 kg" in text
    assert "Weight band: under 45 kg: per m2 of BSA; the daily maximum applies on days 1-28" in text
    assert "(capped)" in text and "JW" in text
    assert "unit limit (relapsed_refractory_initial): busiest 42-day window" in text
    assert "980 of 980 units (administered + discarded): within the limit" in text
    day = dose_cli("--policy", "blincyto", "--weight-kg", "70", "--disease-setting", "mrd_positive", "--cycle", "2",
                   "--day", "3")
    assert day.returncode == 0, day.stderr
    text = " ".join(day.stdout.split())
    assert "Weight band: 45 kg or more: a fixed dose" in text and "BSA" not in text
    assert "35 of 980 units" in text


@pytest.mark.parametrize(("args", "option"), [
    (("--policy", "blincyto", "--disease-setting", "relapsed_refractory"), "--weight-kg"),
    (("--policy", "blincyto", "--weight-kg", "30", "--disease-setting", "relapsed_refractory"), "--height-cm"),
    (("--policy", "blincyto", "--weight-kg", "70"), "--disease-setting"),
    (("--policy", "blincyto", "--weight-kg", "70", "--disease-setting", "relapse"), "--disease-setting"),
    (("--policy", "blincyto", "--weight-kg", "70", "--disease-setting", "mrd_positive", "--cycle", "5"), "--cycle"),
    (("--policy", "blincyto", "--weight-kg", "70", "--disease-setting", "mrd_positive", "--day", "30"), "--day"),
    (("--weight-kg", "70", "--disease-setting", "mrd_positive"), "--policy"),
])
def test_cli_bad_input_is_one_line_naming_the_option(args, option):
    proc = dose_cli(*args)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"error: {option}"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_leaving_out_the_policy_names_the_choices():
    proc = dose_cli("--bsa", "1.8")
    assert proc.returncode == 2
    assert "--policy: required when more than one policy is loaded (besponsa, blincyto)" in proc.stderr
