"""Reasons grouped by branch (`group_reasons`, `reason_lines`): what every door renders."""

from __future__ import annotations

import priorauth
from priorauth.core import group_reasons, reason_lines

SOLE = "The patient has relapsed or refractory disease."


def _reason(criterion: str, text: str, branch: str, branch_text: str, **extra) -> dict:
    return {"criterion": criterion, "section": "III", "status": "not_met", "text": text, "branch": branch,
            "branch_text": branch_text, "any_of": None, "alternative": None, **extra}


def test_a_branch_that_is_its_one_reason_gets_no_heading_repeating_it():
    reasons = [
        _reason("rr", SOLE, "rr", SOLE),
        _reason("mrd_level", "MRD is at least 0.1 percent.", "mrd", "MRD-positive disease."),
        _reason("mrd_remission", "The patient is in first or second remission.", "mrd", "MRD-positive disease."),
    ]
    groups = group_reasons(reasons)
    assert [g.heading for g in groups] == [None, "MRD-positive disease."]
    lines = reason_lines(groups)
    assert lines == [
        f"- {SOLE} (Section III)",
        "MRD-positive disease:",
        "  - MRD is at least 0.1 percent. (Section III)",
        "  - The patient is in first or second remission. (Section III)",
    ]
    assert sum(SOLE.rstrip(".") in line for line in lines) == 1


def test_a_denial_lists_every_branch_that_could_have_applied():
    """Issue 12 item 3: a 17-year-old on a TKI combination fails the adult branch on age and the
    pediatric branch on single agent; both are given, each under its branch."""
    det = priorauth.evaluate({"policy": "besponsa", "facts": {
        "request_type": "initial", "request_date": "2026-03-02", "birth_date": "2008-06-01",
        "diagnosis": "b_cell_precursor_all", "icd10_codes": ["C91.02"], "cd22_positive": True,
        "prior_inotuzumab": False, "baseline_ecg_normal": True, "ecg_monitoring_planned": True,
        "disease_setting": "relapsed_refractory", "regimen": "tki_combination", "ph_status": "positive"}})
    assert det.decision.value == "denied"
    by_branch = {g.heading: g for g in group_reasons(det.reasons)}
    assert len(by_branch) == 2
    text = "\n".join(reason_lines(group_reasons(det.reasons)))
    assert "18 years of age or older" in text and "single agent" in text
