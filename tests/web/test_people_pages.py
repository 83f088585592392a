"""The queue shows and searches the people of a request; the letter's header names them (issue 12, item 9)."""

from __future__ import annotations

from priorauth import service

from .conftest import example_facts
from .pdftext import pdf_text

PENDED = "pended-comorbidities-unknown"
PATIENT = {"name": "Philippa Tarrant-Oyelowo", "member_id": "MBR-4417"}
PRESCRIBER = {"name": "Dr. Ignatius Pell", "npi": "1245319599"}


def submit(site, facts, patient=None, prescriber=None):
    with site.db.session() as session:
        who = service.authenticate(session, site.token("submitter", "clinic-a"))
        return service.submit_request(session, who, "besponsa", facts, patient=patient, prescriber=prescriber,
                                      contact={"name": "Front desk", "phone": "503-555-0100"} if prescriber else None)


def results(html: str) -> str:
    return html.split('id="results"')[1]


def test_the_queue_shows_patient_member_id_drug_and_prescriber(site):
    submit(site, example_facts(PENDED), PATIENT, PRESCRIBER)
    submit(site, example_facts(PENDED))
    page = results(site.client("reviewer", "plan").get("/web/requests").text)
    assert PATIENT["name"] in page and "Member ID MBR-4417" in page
    assert "Dr. Ignatius Pell" in page and "NPI 1245319599" in page
    assert "inotuzumab ozogamicin" in page  # the drug, from the version that decided
    assert "not given" in page  # the request submitted without people


def test_the_queue_searches_by_member_id_and_name(site):
    wanted = submit(site, example_facts(PENDED), PATIENT, PRESCRIBER)
    other = submit(site, example_facts(PENDED), {"name": "Osric Pell", "member_id": "MBR-9"})
    reviewer = site.client("reviewer", "plan")
    by_member = results(reviewer.get("/web/requests", params={"member_id": "MBR-4417"}).text)
    assert wanted.id in by_member and other.id not in by_member and "1 request," in by_member
    by_name = results(reviewer.get("/web/requests", params={"name": "tarrant"}).text)
    assert wanted.id in by_name and other.id not in by_name
    page = reviewer.get("/web/requests", params={"name": "tarrant"}).text
    assert 'name="name" value="tarrant"' in page  # the search stays in the form
    # A submitter searches its own organisation's requests only.
    assert "0 requests" in site.client("submitter", "clinic-b").get("/web/requests",
                                                                      params={"member_id": "MBR-4417"}).text


def test_the_letter_names_the_member_and_the_prescriber(site):
    stored = submit(site, example_facts("approved-adult-relapsed"), PATIENT, PRESCRIBER)
    assert stored.status == "approved"
    client = site.client("submitter")
    letter = client.get(f"/web/requests/{stored.id}/letter").text
    assert f"<dt>Member</dt><dd>{PATIENT['name']}</dd>" in letter
    assert "<dt>Member ID</dt><dd>MBR-4417</dd>" in letter
    assert "<dt>Prescriber</dt><dd>Dr. Ignatius Pell (NPI 1245319599)</dd>" in letter
    pdf = pdf_text(client.get(f"/web/requests/{stored.id}/letter.pdf").content)
    assert f"Member: {PATIENT['name']}" in pdf and "Prescriber: Dr. Ignatius Pell (NPI 1245319599)" in pdf


def test_the_letter_is_addressed_to_the_submitting_contact(site):
    stored = submit(site, example_facts("approved-adult-relapsed"), PATIENT, PRESCRIBER)
    client = site.client("submitter")
    assert "<dt>To</dt><dd>Front desk, clinic-a</dd>" in client.get(f"/web/requests/{stored.id}/letter").text
    assert "To: Front desk, clinic-a" in pdf_text(client.get(f"/web/requests/{stored.id}/letter.pdf").content)
    # A request without a contact (the REST door's contact is optional) goes to the organisation.
    bare = submit(site, example_facts("approved-adult-relapsed"))
    assert "<dt>To</dt><dd>clinic-a</dd>" in client.get(f"/web/requests/{bare.id}/letter").text
