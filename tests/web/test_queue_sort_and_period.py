"""The queue's sort orders, urgency and open-requests filters; the period of a reviewer's approval in the letter."""

from __future__ import annotations

import datetime as dt
import re

from tests.received import months_on

from .conftest import example_facts

PENDED = "pended-comorbidities-unknown"


def long_day(day: dt.date) -> str:
    """`March 2, 2026`: how a letter writes a date."""
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def listed(html: str) -> list[str]:
    return re.findall(r'href="/web/requests/(req_[0-9a-f]+)"', html.split('id="results"')[1])


def test_queue_sorts_and_filters_by_urgency_and_open_status(site):
    standard = site.submit(example_facts(PENDED))
    expedited = site.submit(example_facts(PENDED), urgency="expedited")
    approved = site.submit(example_facts("approved-adult-relapsed"))
    review = site.submit({**example_facts(PENDED), "substantial_comorbidities": True})  # awaiting review
    client = site.client("reviewer", "plan")
    page = client.get("/web/requests").text
    assert '<select name="urgency">' in page and 'value="-created"' in page and 'value="status"' in page
    assert '<option value="open">Open (pended or awaiting review)</option>' in page
    assert listed(page) == [expedited.id, standard.id, approved.id, review.id]
    assert listed(client.get("/web/requests?sort=-created").text) == [review.id, approved.id, expedited.id, standard.id]
    assert listed(client.get("/web/requests?urgency=expedited").text) == [expedited.id]
    page = client.get("/web/requests?status=open&sort=created").text
    assert listed(page) == [standard.id, expedited.id, review.id]
    assert '<option value="open" selected>' in page and '<option value="created" selected>' in page
    # Unknown values fall back to the defaults rather than failing.
    assert listed(client.get("/web/requests?sort=nope&urgency=nope").text)[0] == expedited.id


def test_reviewer_approval_of_an_engine_denial_letter_states_the_policy_period(site):
    stored = site.submit({**example_facts(PENDED), "substantial_comorbidities": True})
    reviewer = site.client("reviewer", "plan")
    done = reviewer.post(f"/web/requests/{stored.id}/review", data={
        "csrf": reviewer.csrf, "expected_version": "1", "action": "approve", "note": "Comorbidities controlled."},
        follow_redirects=False)
    assert done.status_code == 303
    letter = site.client("submitter").get(f"/web/requests/{stored.id}/letter").text
    start = stored.received_on
    end = dt.date.fromisoformat(months_on(start.isoformat(), 6))
    assert f"Authorized from {long_day(start)} through {long_day(end)}." in letter
    assert "Up to 6 treatment cycles in all." in letter
    assert "Up to 63 billable units of J9229 in any 21-day period." in letter
    assert "The reviewer changed" not in letter
