"""H1 on the pages: no letter (HTML or PDF) reaches a submitter before a clinician decides."""

from __future__ import annotations

from .conftest import example_facts


def test_no_letter_for_the_submitter_while_the_denial_awaits_review(site):
    stored = site.submit(example_facts("denied-pediatric-combination"))
    assert stored.status == "awaiting_review"
    submitter = site.client("submitter")
    for address in (f"/web/requests/{stored.id}/letter", f"/web/requests/{stored.id}/letter.pdf"):
        response = submitter.get(address)
        assert response.status_code == 409, address
        assert "Denied" not in response.text and "appeal" not in response.text.lower()
        assert response.headers["content-type"].startswith("text/html")
    reviewer = site.client("reviewer", "plan")
    decided = reviewer.post(f"/web/requests/{stored.id}/review", data={
        "csrf": reviewer.csrf, "expected_version": "1", "action": "deny", "note": "Not met."},
        follow_redirects=False)
    assert decided.status_code == 303
    letter = submitter.get(f"/web/requests/{stored.id}/letter")
    assert letter.status_code == 200 and "Denied" in letter.text
    assert submitter.get(f"/web/requests/{stored.id}/letter.pdf").headers["content-type"] == "application/pdf"


def test_the_live_preview_says_it_is_a_what_if(site):
    page = site.client("submitter").get("/web/requests/new").text
    assert "What if: nothing is stored or decided until you submit." in page
