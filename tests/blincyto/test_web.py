"""The web pages for Blincyto requests: the queue's policy filter, the case page (criteria tree, dose
table), the new-request form (only the questions that can still matter) and the letters."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from tests.received import dated_today, months_on
from tests.web.conftest import PEOPLE_FORM, Site, form_values
from tests.web.pdftext import pdf_text

from priorauth import service

MRD_CHILD = {
    "request_type": "initial",
    "request_date": "2026-03-02",
    "birth_date": "2019-11-30",
    "diagnosis": "b_cell_precursor_all",
    "icd10_codes": ["C91.01"],
    "cd19_positive": True,
    "regimen": "single_agent",
    "prior_blinatumomab": False,
    "disease_setting": "mrd_positive",
    "complete_remission": "first",
}
DOSING = {"weight_kg": 20, "height_cm": 110, "cycle": 1}


@pytest.fixture
def site(tmp_path):
    s = Site(tmp_path)
    yield s
    s.db.dispose()


def submit(site, policy: str, facts: dict, dosing: dict | None = None):
    with site.db.session() as session:
        who = service.authenticate(session, site.token("submitter", "clinic-a"))
        # A stored request is decided on the day received: the example's dates are moved to today.
        return service.submit_request(session, who, policy, dated_today(facts), "standard", dosing=dosing)


def long_day(day) -> str:
    """How a letter writes a date: `March 2, 2026`."""
    day = dt.date.fromisoformat(str(day))
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def test_the_queue_filters_by_policy(site):
    blincyto = submit(site, "blincyto", MRD_CHILD)
    besponsa = submit(site, "besponsa", {"request_type": "initial", "request_date": "2026-03-02"})
    reviewer = site.client("reviewer", "plan")
    page = reviewer.get("/web/requests").text
    assert '<option value="blincyto"' in page and blincyto.id in page and besponsa.id in page
    only = reviewer.get("/web/requests?policy=blincyto").text
    assert blincyto.id in only and besponsa.id not in only and "1 request," in only


def test_the_case_page_shows_the_criteria_tree_and_the_dose_table(site):
    stored = submit(site, "blincyto", MRD_CHILD, DOSING)
    assert stored.status == "pended"
    page = site.client("reviewer", "plan").get(f"/web/requests/{stored.id}").text
    text = text_of(page)
    assert "Blincyto (blinatumomab) (Intravenous)" in text and "decided under policy version 2026-01-15" in text
    # the tree, each line with its section; the unknown MRD level is what is needed
    assert "✔ met The patient is at least 1 month of age. §III" in text
    assert "? unknown MRD is 0.1% or greater. §III" in text
    assert "✘ not met The patient has relapsed or refractory disease. §III" in text
    assert "Needed to decide: Measurable residual disease in the bone marrow" in text
    # the dose table of cycle 1 for 20 kg, 110 cm: BSA 0.78 m2, 15 x 0.78 = 11.7 mcg a day, no step-up
    assert "Dose plan Cycle 1 (42 days), BSA 0.78 m² (mosteller), weight 20 kg; J9039, vials of 35 mcg." in text
    assert "1 15 11.7 12 1 23 JW 35" in text  # day, mcg/m², mcg, units, vials, discarded, modifier, billed
    assert "Cycle total 327.6 336 28 644 980" in text and "Busiest 42-day window: 980 of 980 units" in text


def test_the_new_request_form_asks_only_what_can_still_matter(site):
    client = site.client("submitter")
    page = client.get("/web/requests/new?policy=blincyto")
    assert page.status_code == 200
    text = page.text
    assert "New request: Blincyto (blinatumomab) (Intravenous)" in text
    assert '<nav aria-label="Policy"' in text and 'href="/web/requests/new?policy=besponsa"' in text
    assert 'id="cd19_positive-true"' in text and 'id="cd22_positive-true"' not in text
    # renewal questions, MRD and Philadelphia status cannot matter before the setting is known
    for hidden in ('id="first_authorization_date"', 'id="unacceptable_toxicity-true"', 'id="member_state"'):
        assert hidden not in text
    values = {**form_values({k: v for k, v in MRD_CHILD.items() if k != "complete_remission"}),
              "policy": "blincyto", "urgency": "standard", "csrf": client.csrf}
    preview = client.post("/web/requests/preview", data=values)
    assert preview.status_code == 200
    # MRD-positive: the remission and the MRD level are asked; the Philadelphia status is not
    assert 'id="complete_remission"' in preview.text and 'id="mrd_percent"' in preview.text
    assert 'id="ph_status"' not in preview.text
    assert "Pended: information needed" in preview.text
    consolidation = client.post("/web/requests/preview", data={**values, "disease_setting": "frontline_consolidation"})
    assert 'id="ph_status"' in consolidation.text and 'id="mrd_percent"' not in consolidation.text
    bad = client.post("/web/requests", data={**values, "mrd_percent": "150", "action": "submit"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    created = client.post("/web/requests", data={**values, "complete_remission": "first", "mrd_percent": "0.1",
                                                 "action": "submit", **PEOPLE_FORM}, follow_redirects=False)
    assert created.status_code == 303
    case = text_of(client.get(created.headers["location"]).text)
    assert "The request was submitted." in case and "Approved" in case


def test_letters_for_an_approval_and_a_denial(site):
    approved = submit(site, "blincyto", {**MRD_CHILD, "mrd_percent": 0.3})
    assert approved.status == "approved"
    reviewer = site.client("reviewer", "plan")
    letter = text_of(reviewer.get(f"/web/requests/{approved.id}/letter").text)
    start = approved.received_on
    assert f"Authorized from {long_day(start)} through {long_day(months_on(start.isoformat(), 6))}." in letter
    assert "Up to 4 treatment cycles under this authorization." in letter
    assert "Up to 980 billable units of J9039 in any 42-day period." in letter
    assert "This authorization cannot be extended beyond this period." in letter
    pdf = reviewer.get(f"/web/requests/{approved.id}/letter.pdf")
    assert pdf.status_code == 200 and "J9039" in pdf_text(pdf.content)

    denied = submit(site, "blincyto", {**MRD_CHILD, "mrd_percent": 0.05})
    assert denied.status == "awaiting_review"
    done = reviewer.post(f"/web/requests/{denied.id}/review", data={
        "csrf": reviewer.csrf, "expected_version": "1", "action": "deny",
        "note": "MRD below 0.1% on the latest marrow."}, follow_redirects=False)
    assert done.status_code == 303
    letter = text_of(reviewer.get(f"/web/requests/{denied.id}/letter").text)
    assert "Denied" in letter and "MRD is 0.1% or greater. (Policy Section III.)" in letter
    assert "How to appeal" in letter and "MRD below 0.1% on the latest marrow." in letter


def test_a_renewal_letter_counts_the_cycles_of_this_authorization(site):
    renewal = submit(site, "blincyto", {
        "request_type": "renewal", "request_date": "2026-06-15", "disease_setting": "relapsed_refractory",
        "first_authorization_date": "2025-10-01", "cycles_received": 7, "complete_remission": "second",
        "unacceptable_toxicity": False})
    letter = text_of(site.client("reviewer", "plan").get(f"/web/requests/{renewal.id}/letter").text)
    start = renewal.received_on
    assert f"Authorized from {long_day(start)} through {long_day(months_on(start.isoformat(), 6))}." in letter
    assert "Up to 2 treatment cycles under this authorization." in letter
    assert "Up to 980 billable units of J9039 in any 84-day period." in letter
    assert "This authorization cannot be extended beyond this period." in letter  # 7 + 2 = 9: the course is done


# --- the generic web fixes these pages needed, each on its own ------------------------------


def test_a_number_question_is_a_number_field_read_as_a_number():
    from priorauth.core import Question
    from priorauth.web.forms import FormField, convert

    score = Question(id="score", type="number", text="A score from 0 to 10.", minimum=0, maximum=10)
    assert convert(score, "0.1") == 0.1 and convert(score, "3") == 3 and convert(score, "2.50") == 2.5
    assert convert(score, "") is None
    for bad in ("abc", "nan", "inf", "1,5"):
        with pytest.raises(ValueError, match="expected a number"):
            convert(score, bad)
    field = FormField(id="score", type="number", label=score.text, minimum=0, maximum=10)
    assert (field.control, field.step) == ("number", "any")
    assert FormField(id="n", type="integer", label="n").step == "1"


def test_a_letter_counts_cycles_of_the_authorization_when_terms_differ_by_branch():
    import datetime as dt

    from priorauth.web.letters import DeterminationLetter

    def lines(authorization):
        letter = DeterminationLetter(
            request_id="req_1", letter_date=dt.date(2026, 3, 2), outcome="approved", organization=None,
            policy_title="A policy", policy_document="DOC-1", policy_version="2026-01-01", policy_digest="0" * 64,
            drug="a drug", hcpcs="J0000", reasons=(), authorization=authorization, modification=None,
            reviewer_note=None, reviewed_by_clinician=False, missing=(), routing=None)
        return letter.authorization_lines

    one_set = {"max_cycles": 6, "cycles_remaining": 2}
    assert "Up to 6 treatment cycles in all (2 remaining)." in lines(one_set)
    assert "Up to 2 treatment cycles under this authorization." in lines(
        {"max_cycles": 2, "cycles_remaining": 2, "branch": "renewal"})
