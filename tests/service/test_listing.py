"""Listing with filters, pagination and overdue requests (standard requests due at once here)."""

from __future__ import annotations

import datetime as dt

import pytest

from priorauth.service import Settings


def submit(client, headers, request, **extra):
    return client.post("/v1/requests", json={**request, **extra}, headers=headers)


@pytest.fixture
def settings(database_url):
    # Standard requests are due at once here, so they are overdue as soon as stored.
    return Settings(database_url=database_url, due_standard=dt.timedelta(0))


def test_list_shows_overdue_and_filters(client, auth, example):
    submitter, other, reviewer = auth("submitter"), auth("submitter", "clinic-b"), auth("reviewer", "plan")
    late = submit(client, submitter, example("pended-comorbidities-unknown")).json()
    submit(client, submitter, example("pended-comorbidities-unknown"), urgency="expedited")
    submit(client, other, example("approved-adult-relapsed"))
    overdue = client.get("/v1/requests", params={"overdue": "true"}, headers=reviewer).json()
    assert [r["id"] for r in overdue["items"]] == [late["id"]] and overdue["items"][0]["overdue"] is True
    assert client.get("/v1/requests", params={"submitter": "clinic-b"}, headers=reviewer).json()["total"] == 1
    assert client.get("/v1/requests", params={"status": "approved"}, headers=reviewer).json()["total"] == 1
    assert client.get("/v1/requests", params={"policy": "besponsa"}, headers=reviewer).json()["total"] == 3
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert client.get("/v1/requests", params={"due_before": soon}, headers=reviewer).json()["total"] == 2
    page = client.get("/v1/requests", params={"limit": 2, "offset": 2}, headers=reviewer).json()
    assert page["total"] == 3 and len(page["items"]) == 1
    assert client.get("/v1/metrics", headers=reviewer).json()["overdue"] == 1
