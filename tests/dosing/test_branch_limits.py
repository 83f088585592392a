"""Dose checks and plans take the unit limit of the authorization terms covering their cycle, for a
policy whose limits differ by indication branch (a made-up policy: tests/dosing/branched.py)."""

from __future__ import annotations

from tests.dosing.branched import branched_policy

from priorauth import DoseOutcome, check_doses, evaluate_facts, plan_doses

POLICY = branched_policy()
VERSION = POLICY.latest
RR = {"disease_setting": "relapsed_refractory"}


def test_a_plan_reads_the_limit_of_the_branch_covering_its_cycle():
    # 45 kg, cycle 2 (42 days, 28 mcg on days 1-28 = 35 billed units a day): rr_initial, 100 per 10 days
    plan = plan_doses(POLICY, weight_kg=45, cycle=2, facts=RR)
    assert (plan.limit.branch, plan.limit.max_units, plan.limit.window_days) == ("rr_initial", 100, 10)
    # the busiest 10-day window holds 10 x 35 = 350 billed units
    assert (plan.window.units, plan.within_limit) == (350, False)
    # cycle 3 is the renewal's (20 days)
    plan = plan_doses(POLICY, weight_kg=45, cycle=3, facts=RR)
    assert (plan.limit.branch, plan.limit.window_days, plan.window.units) == ("rr_renewal", 20, 700)
    assert plan.to_dict()["unit_limit"] | {"busiest_window": None} == {
        "max_units": 100, "window_days": 20, "waste_counts_toward_limit": True, "section": "I",
        "branch": "rr_renewal", "busiest_window": None}


def test_the_request_type_and_setting_choose_the_terms_of_a_check():
    doses = {"weight_kg": 45, "cycle": 1, "doses": [{"day": d, "mcg": 28} for d in range(8, 13)]}
    # MRD, cycle 1: 60 units per 10 days; each day bills 35 (28 + 7 discarded): the 2nd day is cut
    mrd = check_doses(POLICY, doses, facts={"request_type": "initial", "disease_setting": "mrd_positive"})
    assert mrd.limit.branch == "mrd" and mrd.outcome is DoseOutcome.MODIFIED
    assert [d.allowed.units for d in mrd.days] == [28, 0, 0, 0, 0]
    # relapsed or refractory, cycle 1 of the step-up schedule: rr_initial's 100 units: two whole days
    rr = check_doses(POLICY, {**doses, "doses": [{"day": d, "mcg": 9} for d in range(1, 6)]},
                     facts={"request_type": "initial", **RR})
    assert rr.limit.branch == "rr_initial" and [d.allowed.units for d in rr.days] == [9, 9, 0, 0, 0]


def test_a_determination_checks_doses_against_its_own_branch():
    facts = {"request_type": "initial", "request_date": "2026-02-01", "disease_setting": "mrd_positive",
             "icd10_codes": ["C91.01"]}
    det = evaluate_facts(POLICY, facts, {"weight_kg": 50, "cycle": 1, "doses": [{"day": 1, "mcg": 28}]})
    assert det.authorization.branch == "mrd" and det.authorization.unit_window_days == 10
    assert det.dose_check.limit.branch == "mrd" and det.dose_check.outcome is DoseOutcome.APPROVED
