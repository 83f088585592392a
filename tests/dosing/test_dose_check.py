"""The dose check of a request, alone and inside `evaluate` (the contract's `dosing` block)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from priorauth import Decision, DoseOutcome, RequestError, check_doses, evaluate

APPROVABLE = {
    "policy": "besponsa",
    "facts": {
        "request_type": "initial", "request_date": "2026-03-02", "birth_date": "1970-05-14",
        "diagnosis": "b_cell_precursor_all", "icd10_codes": ["C91.02"], "cd22_positive": True,
        "prior_inotuzumab": False, "baseline_ecg_normal": True, "ecg_monitoring_planned": True,
        "disease_setting": "relapsed_refractory", "regimen": "single_agent", "ph_status": "negative",
    },
}
LABEL_170_70 = [{"day": 1, "mg": 1.456}, {"day": 8, "mg": 0.91}, {"day": 15, "mg": 0.91}]


def with_dosing(dosing, facts=None):
    request = copy.deepcopy(APPROVABLE)
    request["dosing"] = dosing
    request["facts"].update(facts or {})
    return request


def check(**dosing):
    return check_doses("besponsa", dosing)


def test_label_doses_are_approved_a1():
    result = check(height_cm=170, weight_kg=70, cycle=1, doses=LABEL_170_70)
    assert result.outcome is DoseOutcome.APPROVED and result.x12_action == "A1"
    assert [d.status for d in result.days] == ["approved"] * 3


def test_dose_rounding_tolerance_is_10_percent_above_the_label_dose():
    # day 8 label 0.91 mg; 10% above is 1.001 mg: 1.0 mg passes, 1.01 mg does not.
    ok = check(bsa_m2=1.82, cycle=1, doses=[{"day": 8, "mg": 1.0}])
    assert ok.outcome is DoseOutcome.APPROVED
    over = check(bsa_m2=1.82, cycle=1, doses=[{"day": 8, "mg": 1.01}])
    assert over.outcome is DoseOutcome.MODIFIED and over.x12_action == "A6"
    day = over.days[0]
    assert (float(day.label_mg), float(day.max_mg), float(day.allowed.mg), day.allowed.units) == (
        0.91, 1.001, 0.91, 10)
    assert over.reasons[0].section == "V" and "allowed 0.91 mg" in over.reasons[0].text


def test_over_tolerance_rounds_to_a_whole_vial_when_that_is_within_tolerance():
    # BSA 1.7: day 1 label 1.36 mg; 2 vials = 1.8 mg > 1.496 (label + 10%): allowed 1.36 mg.
    # BSA 1.7: day 8 label 0.85 mg; 1 vial = 0.9 mg <= 0.935: a request for 2 mg is cut to 0.9 mg.
    result = check(bsa_m2=1.7, cycle=1, doses=[{"day": 1, "mg": 1.8}, {"day": 8, "mg": 2.0}])
    assert [float(d.allowed.mg) for d in result.days] == [1.36, 0.9]
    assert result.days[1].allowed.modifier == "JZ"


def test_units_may_be_requested_instead_of_mg():
    # day 1: 16 units = 1.6 mg <= 1.6016; day 8: 10 units = 1.0 mg <= 1.001; 11 units = 1.1 mg is over.
    result = check(bsa_m2=1.82, cycle=1, doses=[{"day": 1, "units": 16}, {"day": 8, "units": 10}])
    assert result.outcome is DoseOutcome.APPROVED
    assert check(bsa_m2=1.82, cycle=1, doses=[{"day": 8, "units": 11}]).outcome is DoseOutcome.MODIFIED


def test_the_label_dose_rounded_up_to_a_whole_unit_is_always_acceptable_in_units():
    # child 0.52 m2, day 8: label 0.26 mg (+10% = 0.286 mg) bills as 3 units (0.3 mg): approved; 4 units: not.
    assert check(bsa_m2=0.52, cycle=1, doses=[{"day": 8, "units": 3}]).outcome is DoseOutcome.APPROVED
    four = check(bsa_m2=0.52, cycle=1, doses=[{"day": 8, "units": 4}])
    assert four.outcome is DoseOutcome.MODIFIED and four.days[0].allowed.units == 3


def test_unit_limit_cuts_the_last_dose_of_a_3_6_m2_patient():
    # Billed (with waste): day 1 36, day 8 18 -> 54; 9 units left of 63: day 15 gets 1 vial, 0.9 mg.
    result = check(bsa_m2=3.6, cycle=1, doses=[{"day": 1, "mg": 2.88}, {"day": 8, "mg": 1.8}, {"day": 15, "mg": 1.8}])
    assert result.outcome is DoseOutcome.MODIFIED
    assert [(d.allowed.units, d.allowed.billed_units) for d in result.days] == [(29, 36), (18, 18), (9, 9)]
    assert result.window.units == 63 and result.window.within_limit
    limit_reason = [r for r in result.reasons if r.rule == "unit_limit"]
    assert limit_reason and limit_reason[0].section == "II"


@pytest.mark.parametrize(("dosing", "rule", "section"), [
    ({"bsa_m2": 1.8, "cycle": 7, "response": "CR", "doses": [{"day": 1, "mg": 0.9}]}, "no_hsct_six_cycles", "V"),
    ({"bsa_m2": 1.8, "cycle": 4, "response": "none", "proceeding_to_hsct": False,
      "doses": [{"day": 1, "mg": 1.44}]}, "no_response_by_cycle_3", "V"),
    ({"bsa_m2": 1.8, "cycle": 1, "ndc": "12345-6789-01", "doses": [{"day": 1, "mg": 1.44}]}, "ndc", "VI"),
    ({"bsa_m2": 1.8, "cycle": 1, "hcpcs": "J9999", "doses": [{"day": 1, "mg": 1.44}]}, "hcpcs", "VI"),
])
def test_denials_cite_their_section(dosing, rule, section):
    result = check_doses("besponsa", dosing)
    assert result.outcome is DoseOutcome.DENIED and result.x12_action == "A3"
    assert (rule, section) in {(r.rule, r.section) for r in result.reasons}


def test_the_policy_ndc_in_any_unambiguous_form_is_accepted():
    for ndc in ("00008-0100-01", "0008-0100-01", "00008010001", "0008010001"):
        result = check(bsa_m2=1.8, cycle=1, ndc=ndc, hcpcs="j9229", doses=[{"day": 1, "mg": 1.44}])
        assert result.outcome is DoseOutcome.APPROVED, ndc


def test_unknown_response_pends_only_when_it_changes_the_answer():
    # 0.9 mg on day 1 is within both later-cycle doses (0.5 and 0.8 mg/m2 x 1.8 m2): approved either way.
    same = check(bsa_m2=1.8, cycle=2, doses=[{"day": 1, "mg": 0.9}])
    assert same.outcome is DoseOutcome.APPROVED
    differs = check(bsa_m2=1.8, cycle=2, doses=[{"day": 1, "mg": 1.44}])
    assert differs.outcome is DoseOutcome.PENDED and differs.x12_action == "A4"
    assert differs.missing == ("dosing.response",)
    measured = check(cycle=1, doses=[{"day": 1, "mg": 1.44}])
    assert measured.outcome is DoseOutcome.PENDED
    assert measured.missing == ("dosing.height_cm", "dosing.weight_kg")


def test_labs_give_the_response_and_must_agree_with_a_stated_one():
    labs = {"marrow_blasts_percent": 2, "peripheral_blasts": False, "platelets": 80, "anc": 1.2}
    result = check(bsa_m2=1.8, cycle=2, labs=labs, doses=[{"day": 1, "mg": 0.9}])
    assert result.response.value == "CRi" and result.response_assessment.section == "V"
    with pytest.raises(RequestError) as exc:
        check(bsa_m2=1.8, cycle=2, labs=labs, response="none", doses=[{"day": 1, "mg": 0.9}])
    assert exc.value.field == "dosing.response"


def test_no_doses_no_check():
    assert check(bsa_m2=1.8, cycle=1) is None
    det = evaluate(with_dosing({"bsa_m2": 1.8}))
    assert det.dose_check is None and det.to_dict()["dose_check"] is None
    assert evaluate(APPROVABLE).to_dict()["dose_check"] is None


# --- evaluate: how the dose check combines with the criteria ----------------------------------------


def test_approved_criteria_and_approved_doses():
    det = evaluate(with_dosing({"height_cm": 170, "weight_kg": 70, "cycle": 1, "doses": LABEL_170_70}))
    out = det.to_dict()
    assert out["decision"] == "approved" and out["authorization"] is not None
    assert out["dose_check"]["outcome"] == "approved" and out["dose_check"]["x12_action"] == "A1"
    assert out["reasons"][-1]["criterion"] == "dose.dose_check"


def test_approved_with_modification_is_never_silent():
    det = evaluate(with_dosing({"bsa_m2": 3.6, "cycle": 1, "doses": [
        {"day": 1, "mg": 2.88}, {"day": 8, "mg": 1.8}, {"day": 15, "mg": 1.8}]}))
    out = det.to_dict()
    assert out["decision"] == "approved"
    assert out["dose_check"]["outcome"] == "approved_with_modification" and out["dose_check"]["x12_action"] == "A6"
    assert out["dose_check"]["days"][2]["allowed_mg"] == 0.9
    modified = [r for r in out["reasons"] if r["criterion"] == "dose.unit_limit"]
    assert modified and modified[0]["status"] == "not_met" and modified[0]["section"] == "II"
    json.dumps(out)  # the whole determination is JSON


def test_denied_doses_deny_an_approvable_request():
    det = evaluate(with_dosing({"bsa_m2": 1.8, "cycle": 7, "response": "CR", "doses": [{"day": 1, "mg": 0.9}]}))
    assert det.decision is Decision.DENIED and det.authorization is None
    assert {r.section for r in det.reasons} == {"V"}


def test_pended_doses_pend_an_approvable_request_and_name_the_missing_fields():
    det = evaluate(with_dosing({"cycle": 1, "doses": [{"day": 1, "mg": 1.44}]}))
    assert det.decision is Decision.PENDED
    assert det.missing_facts == ("dosing.height_cm", "dosing.weight_kg")


def test_denied_criteria_stay_denied_whatever_the_doses():
    det = evaluate(with_dosing({"bsa_m2": 1.8, "cycle": 1, "doses": [{"day": 1, "mg": 1.44}]},
                               {"cd22_positive": False}))
    assert det.decision is Decision.DENIED and det.dose_check.outcome is DoseOutcome.APPROVED


def test_medicare_requests_check_no_doses():
    det = evaluate(with_dosing({"bsa_m2": 1.8, "cycle": 1, "doses": [{"day": 1, "mg": 1.44}]},
                               {"line_of_business": "medicare", "member_state": "OR"}))
    assert det.decision is Decision.NOT_APPLICABLE and det.dose_check is None


@pytest.mark.parametrize(("dosing", "field"), [
    ("lots", "dosing"),
    ({"bsa_m2": "1.8", "cycle": 1, "doses": [{"day": 1, "mg": 1}]}, "dosing.bsa_m2"),
    ({"bsa_m2": 1.8, "doses": [{"day": 1, "mg": 1}]}, "dosing.cycle"),
    ({"bsa_m2": 1.8, "cycle": 1, "doses": [{"day": 1}]}, "dosing.doses[0]"),
    ({"bsa_m2": 1.8, "cycle": 1, "doses": [{"day": 1, "mg": 1, "units": 10}]}, "dosing.doses[0]"),
    ({"bsa_m2": 1.8, "cycle": 1, "doses": [{"day": 1, "mg": -1}]}, "dosing.doses[0].mg"),
    ({"bsa_m2": 1.8, "cycle": 1, "doses": [{"day": 1, "mg": 1}, {"day": 1, "mg": 1}]}, "dosing.doses"),
    ({"bsa_m2": 1.8, "cycle": 1, "response": "partial", "doses": [{"day": 1, "mg": 1}]}, "dosing.response"),
    ({"bsa_m2": 1.8, "cycle": 1, "weight": 70, "doses": [{"day": 1, "mg": 1}]}, "dosing.weight"),
    ({"height_cm": 170, "weight_kg": 900, "cycle": 1, "doses": [{"day": 1, "mg": 1}]}, "dosing.weight_kg"),
    ({"bsa_m2": 1.8, "cycle": 1, "ndc": "0008010", "doses": [{"day": 1, "mg": 1}]}, "dosing.ndc"),
])
def test_bad_dosing_input_is_refused_naming_the_field(dosing, field):
    with pytest.raises(RequestError) as exc:
        evaluate(with_dosing(dosing))
    assert exc.value.field == field


def test_unknown_icd10_code_is_refused_naming_the_field():
    with pytest.raises(RequestError) as exc:
        evaluate(with_dosing(None, {"icd10_codes": ["C91.02", "C91.09"]}))
    assert exc.value.field == "facts.icd10_codes"
    assert exc.value.problem.startswith("item 1:") and "ICD-10-CM" in exc.value.problem


def test_cli_evaluate_uses_the_dose_check():
    request = with_dosing({"bsa_m2": 3.6, "cycle": 1, "doses": [
        {"day": 1, "mg": 2.88}, {"day": 8, "mg": 1.8}, {"day": 15, "mg": 1.8}]})
    proc = subprocess.run([sys.executable, "-m", "priorauth.cli", "evaluate", "-"], input=json.dumps(request),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dose_check"]["x12_action"] == "A6"
    request["dosing"]["bsa_m2"] = 40
    proc = subprocess.run([sys.executable, "-m", "priorauth.cli", "evaluate", "-"], input=json.dumps(request),
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith("error: dosing.bsa_m2:") and proc.stderr.count("\n") == 1
