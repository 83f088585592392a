"""The case page read as a reviewer and a submitter read it, in Debian's Chromium (issue 12, item 8).

The summary sentence first, facts in words with the patient's age, people by name, criteria by
text, the criteria tree collapsed to the failing paths with "Show all criteria", no header
counts, and a submitter's awaiting-review page that says what happens next.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from .live import browser_page, chromium_missing

reason = chromium_missing()
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")

TODAY = dt.date.today()


def years_ago(years: int, days: int = 40) -> str:
    """A birth date `years` whole years (and `days` days) before today."""
    born = TODAY - dt.timedelta(days=days)
    try:
        return born.replace(year=born.year - years).isoformat()
    except ValueError:  # 29 February
        return (born - dt.timedelta(days=1)).replace(year=born.year - years).isoformat()


# A 17-year-old on a TKI combination: the adult branch fails on age, the pediatric on single agent.
TEEN_TKI = {
    "request_type": "initial", "birth_date": years_ago(17), "diagnosis": "b_cell_precursor_all",
    "icd10_codes": ["C91.00"], "cd22_positive": True, "prior_inotuzumab": False, "baseline_ecg_normal": True,
    "ecg_monitoring_planned": True, "disease_setting": "relapsed_refractory", "regimen": "tki_combination",
    "ph_status": "positive", "with_rituximab": False, "substantial_comorbidities": False,
}
MEDICARE_TEXAS = {"request_type": "initial", "line_of_business": "medicare", "member_state": "TX"}


@pytest.fixture(scope="module")
def seeded(server):
    """Named tokens and two stored requests, made through the service on the server's database."""
    from priorauth import service
    from priorauth.store.db import Database

    db = Database.open(server.url_db)
    try:
        with db.session() as session:
            tokens = {
                "submitter": service.create_token(session, "submitter", "clinic-a", label="Sam Intake").secret,
                "reviewer": service.create_token(session, "reviewer", "health-plan", label="Dr Ada Reviewer").secret,
            }
            who = service.authenticate(session, tokens["submitter"])
            teen = service.submit_request(session, who, "besponsa", TEEN_TKI,
                                          patient={"name": "Casey Placeholder", "member_id": "M100203"})
            medicare = service.submit_request(session, who, "besponsa", MEDICARE_TEXAS)
            return {"tokens": tokens, "teen": teen, "medicare": medicare}
    finally:
        db.dispose()



def clause(text: str) -> str:
    text = text.rstrip(".")
    return text[0].lower() + text[1:] if len(text) > 1 and not text[1].isupper() else text


def test_the_submitter_awaiting_review_reads_what_happens_next_and_never_the_recommendation(server, browser, seeded):
    from playwright.sync_api import expect

    stored = seeded["teen"]
    assert stored.status == "awaiting_review"
    page = browser_page(browser, server, seeded["tokens"]["submitter"])
    page.goto(f"{server.base}/web/requests/{stored.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Awaiting clinical review")
    nxt = page.get_by_role("region", name="What happens next")
    expect(nxt).to_contain_text("A clinical reviewer at the health plan is reviewing this request.")
    due = r"The decision is due by \d{4}-\d\d-\d\d \d\d:\d\d UTC \(\d+ d \d+ h left\)"
    expect(nxt).to_contain_text(re.compile(due))
    expect(nxt).to_contain_text("The decision appears on this page when the reviewer makes it")
    submitted = nxt.locator("dl")
    expect(submitted).to_contain_text("Besponsa")
    expect(submitted).to_contain_text("by clinic-a")
    expect(submitted).to_contain_text("Standard")
    given = sum(1 for v in stored.facts.values() if v is not None)  # with the received date and defaults
    expect(submitted).to_contain_text(f"{given} (listed under Facts given)")
    expect(page.get_by_role("region", name="Facts given")).to_contain_text("Casey Placeholder")
    # Never the engine's recommendation, its reasons or a letter before a clinician decides.
    body = page.locator("main").inner_text()
    assert "Denied" not in body and "denial" not in body.lower() and "requires" not in body
    assert "single agent" not in body and "Engine" not in body
    expect(page.locator("#summary")).to_have_count(0)
    expect(page.get_by_role("link", name="Determination letter")).to_have_count(0)
    page.context.close()


def test_the_reviewer_reads_why_in_one_sentence_facts_in_words_and_who_acted_by_name(server, browser, seeded):
    from playwright.sync_api import expect

    stored = seeded["teen"]
    page = browser_page(browser, server, seeded["tokens"]["reviewer"])
    page.goto(f"{server.base}/web/requests/{stored.id}")

    # The summary sentence, first on the page, names each branch and what it failed.
    summary = page.locator("#summary")
    expect(summary).to_contain_text("Awaiting clinical review; the engine recommends a denial:")
    reasons = stored.determination["reasons"]
    assert {r["branch"] for r in reasons} >= {"adult", "pediatric"}
    for r in reasons:
        expect(summary).to_contain_text(f"{r['branch_text'].rstrip('.')} requires that {clause(r['text'])}")
    assert page.locator("main > *").evaluate_all(
        "els => els.findIndex(e => e.id === 'summary') < els.findIndex(e => e.classList.contains('grid'))")

    # Facts in plain words: Yes/No, choice labels, the age on the request date beside the birth date.
    facts = page.get_by_role("region", name="Facts given")
    expect(facts).to_contain_text(f"{TEEN_TKI['birth_date']} (17 years on the request date)")
    cd22 = facts.locator("dt", has_text="Is the disease CD22-positive?")
    expect(cd22.locator("xpath=following-sibling::dd[1]")).to_have_text("Yes")
    expect(facts).to_contain_text("TKI combination")
    assert not re.search(r"\b(true|false|True|False|tki_combination)\b", facts.inner_text())

    # No header counts ("15 met · 10 not met").
    criteria = page.get_by_role("region", name="Criteria")
    assert not re.search(r"\d+ met ·", page.locator("main").inner_text())

    # The tree opens collapsed to the failing paths; "Show all criteria" shows the rest.
    failing = criteria.get_by_text("The patient is 18 years of age or older.", exact=True)
    expect(failing).to_be_visible()
    expect(criteria).to_contain_text(f"Birth date: {TEEN_TKI['birth_date']} (17 years on the request date)")
    met = criteria.get_by_text("The disease expresses CD22.", exact=True)
    expect(met).to_be_hidden()
    criteria.get_by_label("Show all criteria").check()
    expect(met).to_be_visible()
    expect(criteria).to_contain_text("CD22 positive: Yes")
    criteria.get_by_label("Show all criteria").uncheck()
    expect(met).to_be_hidden()
    assert "True" not in criteria.inner_text() and "False" not in criteria.inner_text()

    # People by name and role, criteria by text; never a token id or a criterion id.
    page.reload()
    timeline = page.get_by_role("region", name="Audit timeline")
    expect(timeline).to_contain_text("Submitted by Sam Intake (submitter, clinic-a)")
    expect(timeline).to_contain_text(re.compile(r"Viewed (2 times )?by Dr Ada Reviewer \(reviewer, health-plan\)"))
    expect(timeline).to_contain_text("criteria not met: The patient is 18 years of age or older")
    text = timeline.inner_text()
    assert "tok_" not in text and "adult_age" not in text and "pediatric_single_agent" not in text

    # After the decision: who decided, by name.
    page.get_by_label(re.compile("^Note")).fill("Under 18 and not a single agent.")
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_text("Your decision was saved.")).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("Denied by the clinical reviewer: ")
    expect(page.get_by_role("region", name="Reviewer's decision")).to_contain_text("by Dr Ada Reviewer (reviewer")
    expect(page.get_by_role("region", name="Audit timeline")).to_contain_text(
        "Denied by Dr Ada Reviewer (reviewer, health-plan)")
    page.context.close()


def test_a_name_ending_in_a_period_ends_the_sentence_with_one_full_stop(server, browser, seeded):
    from playwright.sync_api import expect

    stored = seeded["medicare"]
    assert stored.determination["routing"]["contractor"] == "Novitas Solutions, Inc."
    page = browser_page(browser, server, seeded["tokens"]["submitter"])
    page.goto(f"{server.base}/web/requests/{stored.id}")
    expect(page.locator("#summary")).to_contain_text("Route it to Medicare jurisdiction H: Novitas Solutions, Inc.")
    expect(page.get_by_role("region", name="Engine determination")).to_contain_text(
        "Route to Medicare jurisdiction H: Novitas Solutions, Inc.")
    assert "Inc.." not in page.locator("main").inner_text()
    page.get_by_role("link", name="Determination letter").click()
    expect(page.locator("main")).to_contain_text("Send the request to Medicare jurisdiction H: Novitas Solutions, Inc.")
    assert "Inc.." not in page.locator("main").inner_text()
    page.context.close()
