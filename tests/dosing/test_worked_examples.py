"""Worked examples computed by hand (docs/dosing.md), checked through the API and the CLI.

Rules: BSA (Mosteller) rounded half up to 2 decimals; mg = mg/m2 x BSA (exact);
units = mg / 0.1 rounded up; vials = mg / 0.9 rounded up; discarded units =
(vials x 0.9 - mg) / 0.1 rounded down, JW if > 0 else JZ; the limit counts
administered + discarded units, 63 in any 21 days.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

from priorauth import plan_doses


def rows(plan):
    return [(d.day, d.mg, d.billing.units, d.billing.vials, d.billing.discarded_mg, d.billing.discarded_units,
             d.billing.modifier) for d in plan.days]


def test_adult_170_cm_70_kg_cycle_1():
    # BSA = sqrt(170 x 70 / 3600) = sqrt(3.30556) = 1.81812 -> 1.82 m2
    # day 1:  0.8 x 1.82 = 1.456 mg -> 14.56 -> 15 units; 2 vials (1.8 mg); 0.344 mg left -> 3 units JW
    # day 8:  0.5 x 1.82 = 0.91 mg  ->  9.1  -> 10 units; 2 vials; 0.89 mg left -> 8 units JW
    # day 15: as day 8
    # cycle: 3.276 mg, 35 units + 19 discarded = 54 billed (= 6 vials x 9) <= 63
    plan = plan_doses("besponsa", height_cm=170, weight_kg=70, cycle=1)
    assert plan.bsa.m2 == Decimal("1.82") and plan.bsa.method == "mosteller"
    assert rows(plan) == [
        (1, Decimal("1.456"), 15, 2, Decimal("0.344"), 3, "JW"),
        (8, Decimal("0.91"), 10, 2, Decimal("0.89"), 8, "JW"),
        (15, Decimal("0.91"), 10, 2, Decimal("0.89"), 8, "JW"),
    ]
    assert (plan.total_mg, plan.total_units, plan.total_discarded_units, plan.total_vials) == (
        Decimal("3.276"), 35, 19, 6)
    assert (plan.window.units, plan.window.limit, plan.within_limit) == (54, 63, True)
    assert (plan.schedule.length_days, plan.schedule.extended_length_days) == (21, 28)


def test_large_patient_3_6_m2_hits_the_unit_limit():
    # day 1:  0.8 x 3.6 = 2.88 mg -> 28.8 -> 29 units; 4 vials (3.6 mg); 0.72 mg left -> 7 units JW
    # day 8:  0.5 x 3.6 = 1.8 mg  -> 18 units; exactly 2 vials; nothing left -> JZ
    # day 15: as day 8
    # cycle: 6.48 mg, 65 units (already > 63) + 7 discarded = 72 billed > 63
    plan = plan_doses("besponsa", bsa_m2=3.6, cycle=1)
    assert rows(plan) == [
        (1, Decimal("2.88"), 29, 4, Decimal("0.72"), 7, "JW"),
        (8, Decimal("1.8"), 18, 2, Decimal("0"), 0, "JZ"),
        (15, Decimal("1.8"), 18, 2, Decimal("0"), 0, "JZ"),
    ]
    assert (plan.total_units, plan.total_discarded_units, plan.total_vials) == (65, 7, 8)
    assert (plan.window.first_day, plan.window.last_day, plan.window.units) == (1, 21, 72)
    assert not plan.within_limit


def test_child_12_kg_80_cm():
    # BSA = sqrt(80 x 12 / 3600) = sqrt(0.26667) = 0.51640 -> 0.52 m2
    # day 1:  0.8 x 0.52 = 0.416 mg -> 4.16 -> 5 units; 1 vial; 0.484 mg left -> 4 units JW
    # day 8:  0.5 x 0.52 = 0.26 mg  -> 2.6  -> 3 units; 1 vial; 0.64 mg left -> 6 units JW
    # cycle: 0.936 mg, 11 units + 16 discarded = 27 billed (= 3 vials x 9)
    plan = plan_doses("besponsa", height_cm=80, weight_kg=12)
    assert plan.bsa.m2 == Decimal("0.52")
    assert rows(plan) == [
        (1, Decimal("0.416"), 5, 1, Decimal("0.484"), 4, "JW"),
        (8, Decimal("0.26"), 3, 1, Decimal("0.64"), 6, "JW"),
        (15, Decimal("0.26"), 3, 1, Decimal("0.64"), 6, "JW"),
    ]
    assert (plan.total_units, plan.total_discarded_units, plan.window.units) == (11, 16, 27)


def test_later_cycle_after_cr_uses_0_5_mg_per_m2_on_every_dose_day():
    # cycle 2, CR: 0.5 x 1.82 = 0.91 mg on days 1, 8, 15; 28-day cycle
    plan = plan_doses("besponsa", bsa_m2=1.82, cycle=2, response="CR")
    assert [d.mg for d in plan.days] == [Decimal("0.91")] * 3
    assert (plan.schedule.length_days, plan.schedule.extended_length_days) == (28, None)
    no_response = plan_doses("besponsa", bsa_m2=1.82, cycle=2, response="none")
    assert [d.mg_per_m2 for d in no_response.days] == [Decimal("0.8"), Decimal("0.5"), Decimal("0.5")]


def dose_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "priorauth.cli", "dose", "--policy", "besponsa", *args],
                          capture_output=True, text=True, timeout=60)


def test_cli_json_gives_the_documented_numbers():
    proc = dose_cli("--height-cm", "170", "--weight-kg", "70", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["bsa"]["m2"] == 1.82
    assert [(d["day"], d["mg"], d["units"], d["vials"], d["discarded_units"], d["modifier"]) for d in out["days"]] == [
        (1, 1.456, 15, 2, 3, "JW"), (8, 0.91, 10, 2, 8, "JW"), (15, 0.91, 10, 2, 8, "JW")]
    assert out["totals"] == {"mg": 3.276, "units": 35, "discarded_units": 19, "billed_units": 54, "vials": 6}
    assert out["unit_limit"]["busiest_window"] == {"first_day": 1, "last_day": 21, "units": 54, "limit": 63,
                                                   "within_limit": True}
    assert out["may_be_given"]["status"] == "met"
    assert all(r["section"] == "V" for r in out["may_be_given"]["rules"])


def test_cli_table_shows_each_dose_day_and_the_cycle_against_the_limit():
    proc = dose_cli("--bsa", "3.6")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "2.88" in text and "JW" in text and "JZ" in text
    assert "72 of 63 units" in text and "OVER the limit" in text


def test_cli_bad_input_is_one_line_on_stderr_with_exit_2():
    for args, field in [(("--height-cm", "0", "--weight-kg", "70"), "--height-cm"),
                        (("--height-cm", "170", "--weight-kg", "900"), "--weight-kg"),
                        (("--bsa", "-2"), "--bsa"),
                        (("--bsa", "2", "--cycle", "2"), "--response")]:
        proc = dose_cli(*args)
        assert proc.returncode == 2
        assert proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"error: {field}:")
        assert "Traceback" not in proc.stderr
