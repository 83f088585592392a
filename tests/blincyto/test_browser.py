"""A Blincyto request in a real browser (Debian's Chromium via Playwright) against `priorauth serve`:
the submitter switches the form to the Blincyto policy, the questions follow the answers, the MRD level
is a number field, the preview is the engine's decision; the reviewer filters the queue by policy and
reads the case, its dose table and the letter."""

from __future__ import annotations

import re

import pytest
from tests.web.live import browser_page, chromium_missing, fill_people

reason = chromium_missing()
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")



def test_story_a_blincyto_mrd_request_from_the_form_to_the_letter(server, browser):
    from playwright.sync_api import expect

    submitter = browser_page(browser, server, server.token("submitter", "clinic-a"))
    submitter.get_by_role("link", name="New request").click()
    submitter.get_by_role("navigation", name="Policy").get_by_role("link", name=re.compile("Blincyto")).click()
    expect(submitter.get_by_role("heading", level=1)).to_contain_text("New request: Blincyto (blinatumomab)")
    mrd = "Measurable residual disease in the bone marrow"
    remission = "Which complete remission"

    fill_people(submitter, "Blincyto Browser Patient")  # required; the request date is not asked
    submitter.get_by_label("What is the patient's date of birth?").fill("2019-11-30")
    submitter.get_by_label("What is the diagnosis being treated?").select_option("b_cell_precursor_all")
    submitter.get_by_label("Which ICD-10-CM diagnosis codes are on the request?").fill("C91.01")
    submitter.get_by_role("group", name="Does the leukemia express CD19?").get_by_label("Yes", exact=True).check()
    submitter.get_by_label(re.compile("^In which regimen is blinatumomab used")).select_option("single_agent")
    submitter.get_by_role("group", name=re.compile("^Did the patient receive blinatumomab before")).get_by_label(
        "No", exact=True).check()
    setting = submitter.get_by_label(re.compile("^For which setting is blinatumomab requested"))
    setting.select_option("relapsed_refractory")
    # relapsed or refractory: neither MRD nor the remission can matter, and the preview approves
    expect(submitter.get_by_label(re.compile(mrd))).to_have_count(0)
    expect(submitter.locator("#preview")).to_contain_text("Approved")
    setting.select_option("mrd_positive")
    # MRD-positive: the remission and the MRD level are now asked; the Philadelphia status is not
    expect(submitter.get_by_label(re.compile(mrd))).to_have_count(1)
    expect(submitter.get_by_label(re.compile("Philadelphia chromosome"))).to_have_count(0)
    submitter.get_by_label(re.compile(remission)).select_option("first")
    submitter.get_by_label(re.compile(mrd)).fill("0.05")
    submitter.get_by_label(re.compile(mrd)).press("Tab")
    preview = submitter.locator("#preview")
    expect(preview).to_contain_text("Denied")
    expect(preview).to_contain_text("MRD is 0.1% or greater.")
    submitter.get_by_label(re.compile(mrd)).fill("0.1")
    submitter.get_by_label(re.compile(mrd)).press("Tab")
    expect(preview).to_contain_text("Approved")
    submitter.get_by_role("button", name="Submit request").click()
    expect(submitter.get_by_text("The request was submitted.")).to_be_visible()
    expect(submitter.get_by_role("heading", level=1)).to_contain_text("Approved")
    request_id = re.search(r"/web/requests/(req_[0-9a-f]+)", submitter.url).group(1)

    reviewer = browser_page(browser, server, server.token("reviewer", "plan"))
    reviewer.get_by_label("Policy").select_option("blincyto")
    reviewer.get_by_role("button", name=re.compile("Apply|Filter")).first.click()
    reviewer.get_by_role("link", name=request_id).click()
    expect(reviewer.get_by_role("region", name="Criteria")).to_contain_text("MRD is 0.1% or greater.")
    reviewer.get_by_role("link", name="Determination letter").click()
    body = reviewer.locator("body")
    expect(body).to_contain_text("Up to 4 treatment cycles under this authorization.")
    expect(body).to_contain_text("Up to 980 billable units of J9039 in any 42-day period.")
