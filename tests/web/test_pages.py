"""The pages over the service layer: sign-in, role rules, the form, the case, decisions, conflicts, letters."""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient

from priorauth import service

from .conftest import NEWER, NEWER_CRITERION, NEWER_QUESTION, PEOPLE_FORM, example_facts, form_values
from .live import sign_in
from .pdftext import pdf_text

PENDED = "pended-comorbidities-unknown"


def test_pages_need_sign_in_and_a_valid_token(site):
    client = TestClient(site.app)
    response = client.get("/web/requests?status=pended", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/web/signin?next=%2Fweb%2Frequests%3Fstatus%3Dpended"
    bad = sign_in(client, "pa_not-a-token")
    assert bad.status_code == 401 and "not valid" in bad.text
    # An address outside the pages is never a redirect target after sign-in.
    good = sign_in(client, site.token("reviewer", "plan"), next="https://evil.example/", follow_redirects=False)
    assert good.headers["location"] == "/web/requests"
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_posts_without_a_session_go_to_sign_in_and_store_nothing(site):
    client = TestClient(site.app)
    form = client.post("/web/requests", data={"policy": "besponsa", "action": "submit"}, follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"].startswith("/web/signin?next=")
    live = client.post("/web/requests/preview", data={"policy": "besponsa"}, headers={"HX-Request": "true"},
                       follow_redirects=False)
    assert live.status_code == 204 and live.headers["hx-redirect"].startswith("/web/signin?next=")
    reviewer = TestClient(site.app)
    sign_in(reviewer, site.token("reviewer", "plan"))
    assert "0 requests" in reviewer.get("/web/requests").text


def test_sign_out_ends_the_session(site):
    client = site.client("reviewer", "plan")
    client.post("/web/signout", data={"csrf": client.csrf})
    assert client.get("/web/requests", follow_redirects=False).status_code == 303


def test_submitter_sees_only_their_organisation(site):
    mine = site.submit(example_facts(PENDED), org="clinic-a")
    theirs = site.submit(example_facts(PENDED), org="clinic-b")
    client = site.client("submitter", "clinic-a")
    queue = client.get("/web/requests").text
    assert mine.id in queue and theirs.id not in queue
    assert "Submitter organisation" not in queue  # no filter on other organisations
    assert client.get(f"/web/requests/{theirs.id}").status_code == 404
    assert client.get(f"/web/requests/{theirs.id}/letter.pdf").status_code == 404
    reviewer = site.client("reviewer", "plan").get("/web/requests").text
    assert mine.id in reviewer and theirs.id in reviewer


def test_queue_filters_and_pages(site):
    for _ in range(3):
        site.submit(example_facts(PENDED))
    approved = site.submit(example_facts("approved-adult-relapsed"))
    client = site.client("reviewer", "plan")
    page = client.get("/web/requests?status=approved").text
    assert approved.id in page and "1 request," in page
    page = client.get("/web/requests?status=pended&size=25").text
    assert "3 requests, showing 1–3" in page and approved.id not in page
    # A partial for HTMX is the same results section.
    partial = client.get("/web/requests?status=pended", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and 'id="results"' in partial.text
    assert "overdue" not in client.get("/web/requests?due=overdue").text.split('id="results"')[1].split("</h2>")[0]


def test_queue_marks_overdue_requests(site):
    import datetime as dt

    from priorauth.store.models import CoverageRequest

    late = site.submit(example_facts(PENDED))
    with site.db.session() as session:
        row = session.get(CoverageRequest, late.id)
        row.due_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
        session.commit()
    page = site.client("reviewer", "plan").get("/web/requests?due=overdue").text
    assert late.id in page and "⚠ overdue by 3 h" in page


def test_only_submitters_create_requests_and_only_reviewers_decide(site):
    stored = site.submit(example_facts(PENDED), patient={"name": "Ada Lovelace"})
    site.submit({**example_facts(PENDED), "substantial_comorbidities": True})
    reviewer = site.client("reviewer", "plan")
    assert reviewer.get("/web/requests/new").status_code == 403
    admin = site.client("admin", "plan")
    case = admin.get(f"/web/requests/{stored.id}").text
    assert "Audit timeline" in case and "Ada Lovelace" in case
    assert 'value="deny"' not in case  # admins manage, reviewers decide
    submitter = site.client("submitter")
    case = submitter.get(f"/web/requests/{stored.id}").text
    assert "Audit timeline" not in case and 'value="deny"' not in case
    assert "Information needed" in case


def test_new_request_form_preview_and_submit(site):
    client = site.client("submitter")
    page = client.get("/web/requests/new")
    assert page.status_code == 200
    assert '<label for="birth_date">' in page.text and "protected health information" in page.text
    assert 'id="member_state"' not in page.text  # cannot matter until the line of business is Medicare
    values = {**form_values(example_facts(PENDED)), "policy": "besponsa", "urgency": "expedited",
              "csrf": client.csrf}
    preview = client.post("/web/requests/preview", data=values)
    assert preview.status_code == 200
    assert "Pended: information needed" in preview.text
    assert "Does the patient have substantial comorbidities?" in preview.text
    medicare = client.post("/web/requests/preview", data={**values, "line_of_business": "medicare"})
    assert 'id="member_state"' in medicare.text and 'id="cd22_positive-true"' in medicare.text  # answered stays
    # Without the page's CSRF token nothing is accepted.
    assert client.post("/web/requests/preview", data={**values, "csrf": "0" * 32}).status_code == 403
    # The patient, the prescriber and a contact are required: without the prescriber nothing is stored.
    without = {k: v for k, v in PEOPLE_FORM.items() if not k.startswith("prescriber")}
    refused = client.post("/web/requests", data={**values, **without, "action": "submit"})
    assert refused.status_code == 422 and "prescriber: required" in refused.text
    bad_npi = client.post("/web/requests", data={**values, **PEOPLE_FORM, "prescriber_npi": "1234567890",
                                                 "action": "submit"})
    assert bad_npi.status_code == 422 and "prescriber.npi" in bad_npi.text and "check digit" in bad_npi.text
    assert "0 requests" in client.get("/web/requests").text
    created = client.post("/web/requests", data={**values, **PEOPLE_FORM, "action": "submit"},
                          follow_redirects=False)
    assert created.status_code == 303
    case = client.get(created.headers["location"]).text
    assert "The request was submitted." in case and "Expedited" in case
    assert "Pended: information needed" in case and "Ada Lovelace" in case


def test_bad_answers_are_shown_and_nothing_is_stored(site):
    client = site.client("submitter")
    values = {**form_values(example_facts(PENDED)), "birth_date": "1966-02-30", "policy": "besponsa",
              "csrf": client.csrf, "action": "submit"}
    response = client.post("/web/requests", data=values)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text and "not a valid calendar date" in response.text
    assert "0 requests" in client.get("/web/requests").text


def test_story_pended_information_denial_with_note_and_letter(site):
    stored = site.submit(example_facts(PENDED))
    submitter = site.client("submitter")
    added = submitter.post(f"/web/requests/{stored.id}/information", data={
        "csrf": submitter.csrf, "expected_version": "1", "substantial_comorbidities": "true"}, follow_redirects=False)
    assert added.status_code == 303
    case = submitter.get(added.headers["location"]).text
    assert "Awaiting clinical review" in case and "Engine recommendation" not in case
    reviewer = site.client("reviewer", "plan")
    case = reviewer.get(f"/web/requests/{stored.id}").text
    assert "Engine recommendation" in case and "The patient has no substantial comorbidities." in case
    assert "Information added by a submitter of clinic-a" in case  # a token without a name: never its id
    no_note = reviewer.post(f"/web/requests/{stored.id}/review", data={
        "csrf": reviewer.csrf, "expected_version": "2", "action": "deny", "note": " "})
    assert no_note.status_code == 422 and "A denial needs a note" in no_note.text
    denied = reviewer.post(f"/web/requests/{stored.id}/review", data={
        "csrf": reviewer.csrf, "expected_version": "2", "action": "deny",
        "note": "Substantial comorbidities documented."}, follow_redirects=False)
    assert denied.status_code == 303
    letter = submitter.get(f"/web/requests/{stored.id}/letter").text
    assert "Decision: <span class=\"outcome\">Denied</span>" in letter
    assert "The patient has no substantial comorbidities. <em>(Policy Section III.)</em>" in letter
    assert "Substantial comorbidities documented." in letter
    pdf = submitter.get(f"/web/requests/{stored.id}/letter.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "The patient has no substantial comorbidities." in pdf_text(pdf.content)


def test_second_reviewer_gets_a_clear_conflict(site):
    stored = site.submit({**example_facts(PENDED), "substantial_comorbidities": True})
    first, second = site.client("reviewer", "plan"), site.client("reviewer", "plan-2")
    second_page = second.get(f"/web/requests/{stored.id}").text
    assert 'name="expected_version" value="1"' in second_page
    first.post(f"/web/requests/{stored.id}/review", data={
        "csrf": first.csrf, "expected_version": "1", "action": "deny", "note": "Not met."})
    late = second.post(f"/web/requests/{stored.id}/review", data={
        "csrf": second.csrf, "expected_version": "1", "action": "approve", "note": "Looks fine."})
    assert late.status_code == 409
    assert "Another reviewer acted on this request" in late.text
    assert "Not met." in late.text and 'value="deny"' not in late.text  # the decision that stands, no buttons


def test_approve_with_modification_changes_the_letter(site):
    stored = site.submit({**example_facts(PENDED), "substantial_comorbidities": True})
    reviewer = site.client("reviewer", "plan")
    done = reviewer.post(f"/web/requests/{stored.id}/review", data={
        "csrf": reviewer.csrf, "expected_version": "1", "action": "approve_with_modification",
        "note": "Approved for 3 cycles.", "mod_max_cycles": "3"}, follow_redirects=False)
    assert done.status_code == 303
    letter = reviewer.get(f"/web/requests/{stored.id}/letter").text
    assert "Approved with modification" in letter and "Up to 3 treatment cycles in all" in letter
    assert "The reviewer changed the cycle limit of the authorization." in letter


def test_case_page_shows_the_criteria_tree_with_sections(site):
    stored = site.submit({**example_facts(PENDED), "substantial_comorbidities": True})
    case = site.client("reviewer", "plan").get(f"/web/requests/{stored.id}").text
    assert '<span class="mark not_met">✘ not met</span>' in case
    assert '<span class="mark met">✔ met</span>' in case
    assert "The patient is younger than 65.</span><span class=\"cite\">§III</span>" in case
    assert "Appendix 1" in case


def test_case_page_says_which_version_decided_a_stored_request(site, load_newer_version):
    import datetime as dt

    from priorauth.core import load_policy

    decided = load_policy("besponsa").in_force(dt.date(2026, 3, 2))
    short = decided.digest[:12]
    stored = site.submit({**example_facts(PENDED), "substantial_comorbidities": True})  # awaiting review
    pended = site.submit(example_facts(PENDED))
    reviewer = site.client("reviewer", "plan")
    case = reviewer.get(f"/web/requests/{stored.id}").text
    assert f"decided under policy version {decided.version}, digest" in case and f">{short}</code>" in case
    assert 'id="version-notice"' not in case

    load_newer_version()  # a newer version is put on the policy path; the stored requests keep theirs
    case = reviewer.get(f"/web/requests/{stored.id}").text
    assert f"decided under policy version {decided.version}, digest" in case and f">{short}</code>" in case
    assert (f"A newer version of this policy (in force from {NEWER}) is loaded; this request stays decided under "
            f"{decided.version}.") in case
    # The reasons and the criteria tree are those of the version that decided, not of the newer one.
    assert "The patient has no substantial comorbidities." in case and NEWER_CRITERION not in case
    submitter = site.client("submitter")
    asked = submitter.get(f"/web/requests/{pended.id}").text
    assert "Does the patient have substantial comorbidities?" in asked and NEWER_QUESTION not in asked

    reviewer.post(f"/web/requests/{stored.id}/review", data={
        "csrf": reviewer.csrf, "expected_version": "1", "action": "deny", "note": "Comorbidities documented."})
    letter = submitter.get(f"/web/requests/{stored.id}/letter").text
    assert f"version of {decided.version}" in letter and f"version digest {short}" in letter
    assert "The patient has no substantial comorbidities. <em>(Policy Section III.)</em>" in letter
    assert NEWER_CRITERION not in letter
    pdf = pdf_text(submitter.get(f"/web/requests/{stored.id}/letter.pdf").content)
    assert f"version of {decided.version}" in pdf and NEWER_CRITERION not in pdf


def test_new_request_is_asked_and_decided_under_the_version_in_force_on_the_day_received(site, load_newer_version):
    load_newer_version()  # in force from 2026-07-01, before today
    client = site.client("submitter")
    page = client.get("/web/requests/new").text
    assert 'id="request_date"' not in page and "dated the day it is received" in page  # not asked
    values = {**form_values(example_facts(PENDED)), "policy": "besponsa", "csrf": client.csrf}
    # A request date sent anyway is not read: the form decides as of today, under today's version.
    early = {**values, "request_date": "2026-03-02"}
    preview = client.post("/web/requests/preview", data=early).text
    assert f"Under policy version {NEWER}." in preview and NEWER_QUESTION in preview
    created = client.post("/web/requests", data={**early, **PEOPLE_FORM, "action": "submit"}, follow_redirects=False)
    assert created.status_code == 303
    case = client.get(created.headers["location"]).text
    assert f"decided under policy version {NEWER}, digest" in case and 'id="version-notice"' not in case
    request_id = created.headers["location"].rsplit("/", 1)[-1].split("?")[0]
    with site.db.session() as session:
        stored = service.get_request(session, service.authenticate(session, site.token("submitter", "clinic-a")),
                                     request_id)
    assert stored.facts["request_date"] == stored.received_on.isoformat()
    assert "1 request," in client.get("/web/requests").text


def test_no_phi_in_logs(site, caplog):
    caplog.set_level(logging.DEBUG)
    client = site.client("submitter")
    values = {**form_values(example_facts(PENDED)), "birth_date": "1931-07-04", "policy": "besponsa",
              "csrf": client.csrf, "action": "submit", **PEOPLE_FORM, "patient_name": "Zebulon Quixote",
              "prescriber_name": "Dr. Ottoline Vashti", "contact_email": "hester.quayle@clinic.example"}
    created = client.post("/web/requests", data=values, follow_redirects=False)
    client.get(created.headers["location"])
    client.get("/web/requests", params={"name": "zebulon", "member_id": PEOPLE_FORM["member_id"]})
    client.post("/web/requests", data={**values, "prescriber_npi": "1234567890"})  # refused: the NPI's check digit
    # The server's records (the test client's own httpx lines name the URL it asked for, query string and all).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")
    assert "Zebulon" not in logged and "1931-07-04" not in logged
    for value in ("Ottoline", "hester.quayle", PEOPLE_FORM["member_id"], PEOPLE_FORM["prescriber_npi"], "1234567890",
                  PEOPLE_FORM["contact_phone"]):
        assert value not in logged


def test_static_files_are_served(site):
    client = site.client("reviewer", "plan")
    js = client.get("/web/static/htmx.min.js")
    assert js.status_code == 200 and "htmx" in js.text[:2000]
    assert client.get("/web/static/../routes.py").status_code == 404


def test_a_pended_case_lists_its_missing_facts_once_for_the_reviewer(site):
    stored = site.submit(example_facts(PENDED))
    case = site.client("reviewer", "plan").get(f"/web/requests/{stored.id}").text
    assert case.count("Needed to decide") == 1 and "Missing facts" not in case


def test_a_reviewer_back_dates_an_open_request_on_its_page_and_a_submitter_cannot(site):
    """Issue 12 item 10: only a reviewer may date a request earlier than submitters may, with a reason
    kept with the request (the audit trail records the change, not the reason)."""
    import datetime as dt

    stored = site.submit(example_facts(PENDED))
    day = (dt.date.fromisoformat(stored.facts["request_date"]) - dt.timedelta(days=10)).isoformat()
    reviewer = site.client("reviewer", "plan")
    page = reviewer.get(f"/web/requests/{stored.id}").text
    assert "Change the request date" in page
    no_reason = reviewer.post(f"/web/requests/{stored.id}/request-date", data={
        "csrf": reviewer.csrf, "expected_version": "1", "request_date": day, "backdate_note": " "})
    assert no_reason.status_code == 422 and "note" in no_reason.text
    done = reviewer.post(f"/web/requests/{stored.id}/request-date", data={
        "csrf": reviewer.csrf, "expected_version": "1", "request_date": day,
        "backdate_note": "Faxed request received ten days earlier."}, follow_redirects=False)
    assert done.status_code == 303
    page = reviewer.get(done.headers["location"]).text
    assert "The request date was changed" in page and day in page
    events = reviewer.get(f"/v1/requests/{stored.id}/audit",
                          headers={"Authorization": f"Bearer {site.token('reviewer', 'plan')}"}).text
    assert "Faxed request" not in events
    submitter = site.client("submitter")
    assert "Change the request date" not in submitter.get(f"/web/requests/{stored.id}").text
    refused = submitter.post(f"/web/requests/{stored.id}/request-date", data={
        "csrf": submitter.csrf, "expected_version": "2", "request_date": day, "backdate_note": "earlier"})
    assert refused.status_code == 403
