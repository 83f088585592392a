"""The whole story in a real browser (Debian's Chromium via Playwright) against `priorauth serve`."""

from __future__ import annotations

import re

import pytest
from tests.received import dated_today

from .live import browser_page, chromium_missing, fill_people

reason = chromium_missing()
if reason:
    print(f"\nbrowser tests skipped: {reason}")
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")



def choose(page, question: str, answer: str) -> None:
    """Answer a Yes/No question (a radio group named by its question)."""
    page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()


def test_story_submit_pended_add_fact_reviewer_denies_letter_lists_reason(server, browser):
    from playwright.sync_api import expect

    submitter = browser_page(browser, server, server.token("submitter", "clinic-a"))
    submitter.get_by_role("link", name="New request").click()
    expect(submitter.get_by_role("heading", name=re.compile("New request"))).to_be_visible()
    # Medicare routing questions cannot matter for a commercial member: not shown.
    state = "In which US state or territory does the member live (two-letter code)?"
    expect(submitter.get_by_label(state)).to_have_count(0)

    # The patient, prescriber and contact are required; the request date is not asked (the day received).
    fill_people(submitter, "Browser Test Patient")
    expect(submitter.locator("#request_date")).to_have_count(0)
    request_type = "Is this an initial request or a renewal of an existing authorization?"
    submitter.get_by_label(request_type).select_option("initial")
    # Once the request is known to be initial, the renewal questions go away.
    expect(submitter.get_by_label("Renewal: how many treatment cycles have already been given?")).to_have_count(0)
    submitter.get_by_label("What is the patient's date of birth?").fill("1966-11-02")
    submitter.get_by_label("What is the diagnosis being treated?").select_option("b_cell_precursor_all")
    submitter.get_by_label("Which ICD-10-CM diagnosis codes are on the request?").fill("C91.00")
    choose(submitter, "Is the disease CD22-positive?", "Yes")
    choose(submitter, "Has the patient previously received inotuzumab ozogamicin?", "No")
    choose(submitter, "Was a baseline ECG within normal limits before starting therapy?", "Yes")
    choose(submitter, "Will the ECG be monitored periodically during treatment?", "Yes")
    submitter.get_by_label("In which disease setting is the drug used?").select_option("frontline_consolidation")
    submitter.get_by_label("In which regimen is the drug used?").select_option("mini_hyper_cvd")
    submitter.get_by_label("Is the patient Philadelphia chromosome positive or negative?").select_option("negative")
    choose(submitter, "Is rituximab added to the regimen?", "Yes")

    preview = submitter.locator("#preview")
    expect(preview).to_contain_text("Pended: information needed")
    expect(preview).to_contain_text("Does the patient have substantial comorbidities?")
    # The answers given survive the live updates.
    expect(submitter.get_by_label("Which ICD-10-CM diagnosis codes are on the request?")).to_have_value("C91.00")

    submitter.get_by_role("button", name="Submit request").click()
    expect(submitter.get_by_text("The request was submitted.")).to_be_visible()
    expect(submitter.get_by_role("heading", level=1)).to_contain_text("Pended")
    request_id = re.search(r"/web/requests/(req_[0-9a-f]+)", submitter.url).group(1)

    # The submitter adds the missing fact from the case page.
    info = submitter.get_by_role("region", name="Information needed")
    info.get_by_role("group", name="Does the patient have substantial comorbidities?").get_by_label("Yes").check()
    info.get_by_role("button", name="Add information").click()
    expect(submitter.get_by_text("The information was added and the request was decided again.")).to_be_visible()
    expect(submitter.get_by_role("heading", level=1)).to_contain_text("Awaiting clinical review")

    # A reviewer finds it in the queue, sees the denial recommendation and its reasons.
    reviewer = browser_page(browser, server, server.token("reviewer", "plan"))
    # By role: get_by_label("Status") also matches the sort control, whose options include "Status".
    reviewer.get_by_role("combobox", name=re.compile("^Status")).select_option("awaiting_review")
    row = reviewer.get_by_role("row", name=re.compile(request_id))
    expect(row).to_contain_text("Browser Test Patient")
    expect(row).to_contain_text("Member ID M-2024-77")
    expect(row).to_contain_text("Dr. Grace Hopper")
    # The queue fits a 1366 px laptop: no column is cut off or scrolled out of sight.
    wrap = reviewer.locator("#results .table-wrap")
    assert wrap.evaluate("w => w.querySelector('table').scrollWidth <= w.clientWidth")
    expect(reviewer.get_by_role("columnheader", name="Received (UTC)")).to_be_in_viewport()
    reviewer.get_by_role("link", name=request_id).click()
    recommendation = reviewer.get_by_role("region", name="Engine recommendation")
    expect(recommendation).to_contain_text("Denied")
    expect(recommendation).to_contain_text("The patient has no substantial comorbidities.")
    expect(reviewer.get_by_role("region", name="Criteria")).to_contain_text("✘ not met")
    timeline = reviewer.get_by_role("region", name="Audit timeline")
    expect(timeline).to_contain_text("Information added by browser test (submitter, clinic-a)")

    # A denial without a note is refused; with one it is saved.
    reviewer.get_by_role("button", name="Deny").click()
    expect(reviewer.get_by_role("alert")).to_contain_text("A denial needs a note")
    reviewer.get_by_label(re.compile("^Note")).fill("Substantial comorbidities documented; rituximab not covered.")
    reviewer.get_by_role("button", name="Deny").click()
    expect(reviewer.get_by_text("Your decision was saved.")).to_be_visible()
    expect(reviewer.get_by_role("heading", level=1)).to_contain_text("Denied")

    # The letter lists each reason with its section, grouped by branch, alternatives as "One of".
    reviewer.get_by_role("link", name="Determination letter").click()
    reasons = reviewer.locator("#denial-reasons")
    expect(reasons.locator("h3")).to_have_text(["Adult B-cell precursor ALL", "Pediatric B-cell precursor ALL"])
    expect(reasons.locator("li.one-of").last).to_contain_text(
        "One of:Rituximab is not added to the regimen. (Policy Section III.)")
    expect(reasons.locator("li", has_text=re.compile("^The patient has no substantial comorbidities"))).to_have_text(
        "The patient has no substantial comorbidities. (Policy Section III.)")
    expect(reviewer.get_by_role("heading", name="How to appeal")).to_be_visible()

    # The submitter sees the same decision and letter.
    submitter.reload()
    expect(submitter.get_by_role("heading", level=1)).to_contain_text("Denied")
    submitter.get_by_role("link", name="Determination letter").click()
    expect(submitter.locator("#denial-reasons")).to_contain_text("The patient has no substantial comorbidities.")

    # The server's log (access log included) holds no patient detail.
    log = server.log.read_text()
    assert f"/web/requests/{request_id}/letter" in log
    assert "Browser Test Patient" not in log and "1966-11-02" not in log


def test_second_reviewer_sees_a_conflict_message(server, browser):
    from playwright.sync_api import expect

    from priorauth import service
    from priorauth.store.db import Database

    token = server.token("submitter", "clinic-b")
    db = Database.open(server.url_db)
    with db.session() as session:
        who = service.authenticate(session, token)
        stored = service.submit_request(session, who, "besponsa", dated_today({
            "request_type": "initial", "request_date": "2026-03-02", "birth_date": "2016-07-21",
            "diagnosis": "b_cell_precursor_all", "icd10_codes": ["C91.02"], "cd22_positive": True,
            "prior_inotuzumab": False, "baseline_ecg_normal": True, "ecg_monitoring_planned": True,
            "disease_setting": "relapsed_refractory", "regimen": "mini_hyper_cvd", "ph_status": "negative",
        }))  # a stored request is dated the day received
    db.dispose()
    first = browser_page(browser, server, server.token("reviewer", "plan-a"))
    second = browser_page(browser, server, server.token("reviewer", "plan-b"))
    for page in (first, second):
        page.goto(f"{server.base}/web/requests/{stored.id}")
    first.get_by_label(re.compile("^Note")).fill("Pediatric use with mini-hyper-CVD is not covered.")
    first.get_by_role("button", name="Deny").click()
    expect(first.get_by_text("Your decision was saved.")).to_be_visible()
    second.get_by_label(re.compile("^Note")).fill("Approve.")
    second.get_by_role("button", name="Approve", exact=True).click()
    expect(second.get_by_role("alert")).to_contain_text("Another reviewer acted on this request")
    expect(second.get_by_role("heading", level=1)).to_contain_text("Denied")
    expect(second.get_by_role("button", name="Approve", exact=True)).to_have_count(0)


UNNAMED_CONTROLS = """() => [...document.querySelectorAll(
        'input:not([type=hidden]), select, textarea, button')]
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
    .map(e => e.name || e.id)"""


def test_keyboard_alone_signs_in_and_every_control_is_named(server, browser):
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(server.base + "/web/signin")
    page.keyboard.press("Tab")  # skip link
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")  # brand link
    page.keyboard.press("Tab")
    expect(page.get_by_label("Access token")).to_be_focused()
    page.keyboard.type(server.token("submitter", "clinic-kb"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/web/requests$"))
    assert page.evaluate(UNNAMED_CONTROLS) == []
    # The request form, reached and answered from the keyboard.
    page.get_by_role("link", name="New request").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/web/requests/new$"))
    assert page.evaluate(UNNAMED_CONTROLS) == []
    page.get_by_role("group", name="Is the disease CD22-positive?").get_by_label("No", exact=True).focus()
    page.keyboard.press("Space")
    expect(page.locator("#preview")).to_contain_text("Denied")
    expect(page.locator("#preview")).to_contain_text("The disease expresses CD22.")
    page.close()
