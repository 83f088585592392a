"""The determination letter: the decision, the period and limits or each denial reason, how to appeal."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

import pytest

from priorauth.core import evaluate_facts, load_policy
from priorauth.web.letters import build_letter
from priorauth.web.pdf import letter_pdf
from priorauth.web.rendering import render

from .pdftext import pdf_text


@pytest.fixture(scope="module")
def policy():
    return load_policy("besponsa")


def decide(policy, name: str, **changes):
    facts = json.loads((resources.files("priorauth") / "examples" / f"{name}.json").read_text())["facts"]
    return evaluate_facts(policy, {**facts, **changes})


def html(letter) -> str:
    return render("letter.html", {"letter": letter, "back_url": "/back", "pdf_url": "/pdf"})


def test_denial_letter_lists_each_reason_with_its_section_and_how_to_appeal(policy):
    det = decide(policy, "pended-comorbidities-unknown", substantial_comorbidities=True)
    letter = build_letter(policy=policy, request_id="req_1", determination=det.to_dict(), outcome="denied",
                          reviewer_note="Substantial comorbidities are documented.", letter_date=dt.date(2026, 3, 4))
    assert letter.outcome_text == "Denied"
    assert ("The patient has no substantial comorbidities.", "Section III") in [
        (r.requirement, r.citation) for r in letter.reasons]
    page = html(letter)
    assert "March 4, 2026" in page
    assert "The patient has no substantial comorbidities. <em>(Policy Section III.)</em>" in page
    assert "How to appeal" in page and "Substantial comorbidities are documented." in page
    assert "made by a clinical reviewer" in page
    text = pdf_text(letter_pdf(letter))
    assert "Decision: Denied" in text
    assert "- The patient has no substantial comorbidities. (Section III)" in text
    assert "How to appeal" in text and "req_1" in text


def test_denial_letter_groups_reasons_by_branch_with_alternatives_as_one_of(policy):
    """Issue 12: each branch that could have applied, with what it failed; an `any` group reads "One of"."""
    det = decide(policy, "pended-comorbidities-unknown", substantial_comorbidities=True)
    letter = build_letter(policy=policy, request_id="req_1", determination=det.to_dict(), outcome="denied",
                          letter_date=dt.date(2026, 3, 4))
    assert [(b["heading"], len(b["items"])) for b in letter.reason_outline] == [
        ("Adult B-cell precursor ALL", 1), ("Pediatric B-cell precursor ALL", 2)]
    (choice,) = letter.reason_outline[0]["items"]  # adult: relapsed/refractory OR frontline consolidation
    frontline = choice["one_of"][1]
    assert frontline["heading"] == "Frontline consolidation with mini-hyper-CVD in Ph-negative disease"
    (rituximab,) = frontline["items"]  # rituximab not added, OR under 65 without comorbidities
    assert [a["heading"] for a in rituximab["one_of"]] == [None, "The patient is under 65 and has no substantial "
                                                                 "comorbidities"]
    page = html(letter)
    adult = page[page.index("<h3>Adult B-cell precursor ALL</h3>"):page.index("<h3>Pediatric")]
    assert adult.count("One of:") == 2
    assert ("One of:<ul><li>Rituximab is not added to the regimen. <em>(Policy Section III.)</em></li>"
            "<li>The patient is under 65 and has no substantial comorbidities:<ul><li>The patient has no "
            "substantial comorbidities.") in adult
    pediatric = page[page.index("<h3>Pediatric B-cell precursor ALL</h3>"):]
    assert "The patient is younger than 18." in pediatric and "One of" not in pediatric.split("</section>")[0]
    text = pdf_text(letter_pdf(letter))
    assert ("Adult B-cell precursor ALL: - One of: - Relapsed or refractory disease with a listed regimen: "
            "- The disease is relapsed or refractory. (Section III)") in text
    assert ("- One of: - Rituximab is not added to the regimen. (Section III) - The patient is under 65 and has "
            "no substantial comorbidities: - The patient has no substantial comorbidities. (Section III)") in text
    assert "Pediatric B-cell precursor ALL: - The patient is younger than 18. (Section III)" in text


def test_a_letter_for_a_denial_stored_before_reasons_had_branches_still_groups_them(policy):
    """A stored determination without `branch` / `any_of` is placed by the version that decided it."""
    det = decide(policy, "pended-comorbidities-unknown", substantial_comorbidities=True).to_dict()
    det["reasons"] = [{k: r[k] for k in ("criterion", "section", "status", "text")} for r in det["reasons"]]
    letter = build_letter(policy=policy, request_id="req_1", determination=det, outcome="denied")
    assert [b["heading"] for b in letter.reason_outline] == ["Adult B-cell precursor ALL",
                                                              "Pediatric B-cell precursor ALL"]
    assert "One of:" in html(letter)


def test_approval_letter_gives_the_period_and_limits_and_no_appeal(policy):
    det = decide(policy, "approved-adult-relapsed")
    letter = build_letter(policy=policy, request_id="req_2", determination=det)
    assert letter.authorization_lines == [
        "Authorized from March 2, 2026 through September 1, 2026.",
        "Up to 6 treatment cycles in all.",
        "Up to 63 billable units of J9229 in any 21-day period.",
        "This authorization cannot be extended beyond this period.",
    ]
    assert not letter.reviewed_by_clinician
    page = html(letter)
    assert "Authorized from March 2, 2026 through September 1, 2026." in page
    # The letter cites the version that decided, by effective date and digest.
    version = policy.by_digest(det.policy_digest)
    assert letter.policy_version == version.version == det.policy_version
    assert f"version of {version.version}" in page and f"version digest {version.digest[:12]}" in page
    assert f"version digest {version.digest[:12]}" in pdf_text(letter_pdf(letter))
    assert "How to appeal" not in page
    assert "Authorized from March 2, 2026 through September 1, 2026." in pdf_text(letter_pdf(letter))


def test_modified_approval_states_the_reviewer_period_and_the_appeal(policy):
    det = decide(policy, "approved-adult-relapsed")
    period = {**det.authorization.to_dict(), "end": "2026-06-01", "max_cycles": 3}
    letter = build_letter(policy=policy, request_id="req_3", determination=det, outcome="approved_with_modification",
                          authorization=period, modification="The reviewer changed the end date, cycle limit.",
                          reviewer_note="Reassess after 3 cycles.")
    assert letter.authorization_lines[0] == "Authorized from March 2, 2026 through June 1, 2026."
    assert letter.authorization_lines[1] == "Up to 3 treatment cycles in all."
    assert "How to appeal" in html(letter)


def test_pended_letter_asks_for_the_missing_information_in_words(policy):
    det = decide(policy, "pended-comorbidities-unknown")
    letter = build_letter(policy=policy, request_id="req_4", determination=det)
    assert letter.missing == ("Does the patient have substantial comorbidities?",)
    assert "Does the patient have substantial comorbidities?" in html(letter)


def test_medicare_letter_names_the_contractor(policy):
    det = decide(policy, "medicare-virginia")
    letter = build_letter(policy=policy, request_id="req_5", determination=det)
    page = html(letter)
    assert "Not decided under this policy" in page
    assert det.routing.contractor.replace("'", "&#39;") in page
    assert "Medicare jurisdiction" in pdf_text(letter_pdf(letter))


def test_pdf_survives_characters_outside_latin1(policy):
    det = decide(policy, "pended-comorbidities-unknown", substantial_comorbidities=True)
    letter = build_letter(policy=policy, request_id="req_6", determination=det, outcome="denied",
                          reviewer_note="Comorbidities – see “notes” ≥ 2 ✓ 漢")
    text = pdf_text(letter_pdf(letter))
    assert 'Comorbidities - see "notes" >= 2' in text


def test_pended_dose_day_letter_names_the_doses_in_words(policy):
    # Days 10 and 15 are 5 days apart: both dose days need clarification (pended, not denied).
    example = resources.files("priorauth") / "examples" / "approved-adult-relapsed.json"
    facts = json.loads(example.read_text())["facts"]
    dosing = {"height_cm": 170, "weight_kg": 70, "cycle": 1,
              "doses": [{"day": 1, "mg": 1.456}, {"day": 10, "mg": 0.91}, {"day": 15, "mg": 0.91}]}
    det = evaluate_facts(policy, facts, dosing)
    assert det.missing_facts == ("dosing.doses[1].day", "dosing.doses[2].day")
    letter = build_letter(policy=policy, request_id="req_7", determination=det.to_dict())
    assert letter.missing == ("the day of dose 2", "the day of dose 3")
    page = html(letter)
    assert "the day of dose 2" in page and "doses[" not in page
    assert "the day of dose 3" in pdf_text(letter_pdf(letter))
