"""The policy documents page: a reviewer or administrator uploads the plan's document and sees the diff."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "documents" / "fixtures"
BESPONSA = (FIXTURES / "000_0b4c43785240c2ec.txt").read_bytes()


def upload(client, data: bytes, name: str = "policy.txt", policy: str = "besponsa", version: str = "",
           csrf: str | None = None):
    return client.post("/web/policies/documents",
                       data={"csrf": csrf if csrf is not None else client.csrf, "policy": policy, "version": version},
                       files={"document": (name, data, "text/plain")})


def test_reviewers_and_admins_see_the_page_and_submitters_do_not(site):
    for role in ("reviewer", "admin"):
        page = site.client(role, "plan").get("/web/policies/documents")
        assert page.status_code == 200
        assert 'enctype="multipart/form-data"' in page.text and 'aria-current="page">Policy documents' in page.text
    submitter = site.client("submitter")
    assert submitter.get("/web/policies/documents").status_code == 403
    assert upload(submitter, BESPONSA).status_code == 403
    assert "Policy documents" not in submitter.get("/web/requests").text


def test_the_document_a_version_was_made_from_is_in_agreement(site):
    page = upload(site.client("reviewer", "plan"), BESPONSA, name="000_0b4c43785240c2ec.txt")
    assert page.status_code == 200
    assert "In agreement (" in page.text and "Version 2025-06-24 was made from this document" in page.text
    assert 'id="disagreements"' not in page.text


def test_a_revised_document_shows_each_disagreement_with_its_section(site):
    revised = BESPONSA.replace(b"63 billable units every 21 days", b"70 billable units every 21 days").replace(
        b"8\tMI, IN\t", b"8\tMI, IN, OH\t").replace(b"15\tKY, OH\t", b"15\tKY\t")
    page = upload(site.client("admin", "plan"), revised, name="besponsa-2026.txt")
    assert page.status_code == 200
    assert "2 disagreements" in page.text and "This is not the document version 2025-06-24 was made from" in page.text
    assert "<td>§II</td>" in page.text and "<td>70 billable units every 21 days</td>" in page.text
    assert "<td>Appendix 2</td>" in page.text and "<td>state OH</td>" in page.text
    assert "<td>jurisdiction 8</td><td>jurisdiction 15</td>" in page.text


def test_an_unreadable_upload_lists_its_problems_and_compares_nothing(site):
    client = site.client("reviewer", "plan")
    for data, message in ((b"", "Choose a document"), (bytes(range(256)), "binary content"),
                          (BESPONSA.replace(b"C91.01\tAcute", b"C91 01\tAcute"), "line 126: Appendix 1")):
        page = upload(client, data)
        assert page.status_code == 422 and message in page.text, message
        assert 'id="verdict"' not in page.text


def test_an_unknown_version_or_an_expired_form_is_refused(site):
    client = site.client("reviewer", "plan")
    page = upload(client, BESPONSA, version="2019-01-01")
    assert page.status_code == 422 and "Version:" in page.text
    assert upload(client, BESPONSA, csrf="0" * 32).status_code == 403
