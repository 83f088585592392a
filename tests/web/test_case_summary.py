"""The case page's words: the summary sentence per outcome, ages beside birth dates, the collapsed tree."""

from __future__ import annotations

from types import SimpleNamespace

from priorauth.core import evaluate_facts, load_policy
from priorauth.web.case import FactWords, age_text, summary_text
from priorauth.web.views import criteria_tree

POLICY = load_policy("besponsa")
VERSION = POLICY.first
QUESTIONS = {q.id: q.text for q in VERSION.questions}
ADULT = {
    "request_type": "initial", "request_date": "2026-03-02", "birth_date": "1966-11-02",
    "diagnosis": "b_cell_precursor_all", "icd10_codes": ["C91.00"], "cd22_positive": True,
    "prior_inotuzumab": False, "baseline_ecg_normal": True, "ecg_monitoring_planned": True,
    "disease_setting": "relapsed_refractory", "regimen": "single_agent", "ph_status": "negative",
    "with_rituximab": False, "substantial_comorbidities": False,
}


def stored(facts, status=None, review_action=None):
    det = evaluate_facts(POLICY, facts).to_dict()
    status = status or {"denied": "awaiting_review"}.get(det["decision"], det["decision"])
    return SimpleNamespace(determination=det, status=status, review_action=review_action)


def test_age_on_the_request_date_beside_a_birth_date():
    assert age_text("2009-05-01", "2026-04-30") == "16 years on the request date"
    assert age_text("2009-05-01", "2026-05-01") == "17 years on the request date"
    assert age_text("2025-07-15", "2026-03-02") == "7 months on the request date"
    assert age_text("2025-03-02", "2026-03-02") == "1 year on the request date"
    assert age_text("2027-01-01", "2026-03-02") is None and age_text(None, "2026-03-02") is None
    words = FactWords(VERSION, ADULT)  # the birth date is the fact the policy's age criteria read
    assert words.answer("birth_date", "1966-11-02") == "1966-11-02 (59 years on the request date)"
    assert words.answer("request_date", "2026-03-02") == "2026-03-02"
    assert words.answer("cd22_positive", True) == "Yes" and words.answer("prior_inotuzumab", False) == "No"
    assert words.pair("regimen", "tki_combination") == ("Regimen", "TKI combination")


def test_the_summary_sentence_per_outcome():
    approved = summary_text(stored(ADULT), VERSION, QUESTIONS, True)
    assert approved.startswith("Approved: the request meets the policy's criteria; authorized 2026-03-02 to ")
    pended = summary_text(stored({**ADULT, "cd22_positive": None}), VERSION, QUESTIONS, True)
    assert pended == "Pended: 1 answer needed to decide: Is the disease CD22-positive?"
    teen = {**ADULT, "birth_date": "2009-05-01", "regimen": "tki_combination", "ph_status": "positive"}
    waiting = stored(teen)
    text = summary_text(waiting, VERSION, QUESTIONS, True)
    assert text.startswith("Awaiting clinical review; the engine recommends a denial: ")
    assert "Adult B-cell precursor ALL requires that the patient is 18 years of age or older" in text
    assert "; Pediatric B-cell precursor ALL requires that " in text and text.endswith(".")
    assert summary_text(waiting, VERSION, QUESTIONS, False) is None  # a submitter: withheld
    approved_anyway = stored(teen, status="approved", review_action="approve")
    assert summary_text(approved_anyway, VERSION, QUESTIONS, True).startswith(
        "Approved by the clinical reviewer, against the engine's finding: Adult B-cell precursor ALL requires")


def test_alternatives_read_as_one_of_in_the_summary():
    facts = {**ADULT, "disease_setting": "frontline_consolidation", "regimen": "mini_hyper_cvd",
             "with_rituximab": True, "substantial_comorbidities": True}
    text = summary_text(stored(facts), VERSION, QUESTIONS, True)
    assert "Adult B-cell precursor ALL requires one of: " in text
    assert "rituximab is not added to the regimen, or the patient has no substantial comorbidities" in text


def test_under_a_not_the_met_criterion_is_the_failing_path():
    leaf = {"criterion": "prior", "status": "met", "text": "Treated before.", "section": "III", "facts": {"p": True}}
    trace = {"criterion": "root", "status": "not_met", "operator": "all", "text": "All.", "section": "III",
             "children": [
                 {"criterion": "ok", "status": "met", "text": "Fine.", "section": "III"},
                 {"criterion": "never", "status": "not_met", "operator": "not", "text": "Not treated before.",
                  "section": "III", "children": [leaf]},
             ]}
    tree = criteria_tree(trace, {"never"})
    ok, never = tree.children
    assert tree.on_path and never.on_path and never.children[0].on_path and not ok.on_path
    assert never.children[0].fact_texts == (("p", "Yes"),)
    approved = criteria_tree({**trace, "status": "met", "children": [trace["children"][0]]})
    assert approved.on_path and not approved.children[0].on_path  # a met root shows collapsed
