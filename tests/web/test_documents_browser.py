"""A policy analyst compares a revised document in a real browser (Debian's Chromium via Playwright)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .live import chromium_missing, launch_chromium

reason = chromium_missing()
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")

FIXTURES = Path(__file__).resolve().parents[1] / "documents" / "fixtures"


def test_reviewer_uploads_a_revised_document_and_reads_the_diff(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    revised = tmp_path / "blincyto-2026-07.txt"
    revised.write_text((FIXTURES / "blincyto-illustrative.txt").read_text(encoding="utf-8")
                       .replace("- Up to 4 cycles: 980 billable units every 42 days",
                                "- Up to 4 cycles: 980 billable units every 49 days"), encoding="utf-8")
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        page.set_default_timeout(15_000)
        page.goto(server.base + "/web/requests")
        page.get_by_label("Access token").fill(server.token("reviewer", "plan"))
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/web/requests$"))
        page.get_by_role("link", name="Policy documents").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Policy documents")
        page.get_by_role("combobox", name=re.compile("^Policy")).select_option("blincyto")
        page.get_by_label("Document file", exact=True).set_input_files(str(revised))
        page.get_by_role("button", name="Compare").click()
        expect(page.locator("#verdict")).to_have_text(re.compile(r"^1 disagreement \(\d+ items checked\)$"))
        row = page.locator("#disagreements tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("§II")
        expect(row).to_contain_text("980 billable units every 49 days")
        expect(row).to_contain_text("980 billable units every 42 days")
        note = page.locator("#source-note")
        expect(note).to_contain_text("This is not the document version 2026-01-15 was made from")
        browser.close()
