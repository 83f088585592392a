"""A stored request stays explained under exactly the policy version that decided it: after a newer
version is loaded, after its file is edited in place, after the policy leaves the path. A policy from
a folder on the path is decided through the REST API as if bundled."""

from __future__ import annotations

import pytest
from tests.policy_fixtures import (
    BUNDLED,
    NEXT,
    next_version_text,
    policy_path_with_extra_question,
    policy_path_with_next_version,
)
from tests.received import dated_today, months_on

from priorauth import service
from priorauth.core import PolicyRegistry, policy_registry, use_registry
from priorauth.service import policy_versions

RITUXIMAB_AT_67 = {
    "request_type": "initial", "request_date": "2026-06-15", "birth_date": "1959-03-01",
    "diagnosis": "b_cell_precursor_all", "icd10_codes": ["C91.00"], "cd22_positive": True,
    "prior_inotuzumab": False, "baseline_ecg_normal": True, "ecg_monitoring_planned": True,
    "disease_setting": "frontline_consolidation", "regimen": "mini_hyper_cvd", "ph_status": "negative",
    "with_rituximab": True, "substantial_comorbidities": False,
}


@pytest.fixture
def registry():
    """Switch the registry in use for one test; the bundled one afterwards."""
    original = policy_registry()
    yield use_registry
    use_registry(original)


def _statuses(node, out=None):
    out = {} if out is None else out
    out[node["criterion"]] = (node["status"], node["text"])
    for child in node.get("children", []):
        _statuses(child, out)
    return out


def _submit(db, token, facts):
    with db.session() as session:
        who = service.authenticate(session, token("submitter"))
        return service.submit_request(session, who, "besponsa", facts)


def _read(db, token, request_id):
    with db.session() as session:
        return service.get_request(session, service.authenticate(session, token("reviewer", "plan")), request_id)


def test_a_stored_request_keeps_its_explanation_under_later_versions(db, token, tmp_path, registry):
    stored = _submit(db, token, dated_today(RITUXIMAB_AT_67))
    bundled = policy_registry().get("besponsa").first
    assert (stored.policy_version, stored.policy_digest, stored.status) == ("2025-06-24", bundled.digest,
                                                                           "awaiting_review")
    original = _statuses(_read(db, token, stored.id).trace)
    assert original["fc_under_65"] == ("not_met", "The patient is younger than 65.")

    # A newer version is loaded: same explanation, and it says a newer version exists.
    registry(PolicyRegistry([policy_path_with_next_version(tmp_path / "next")]))
    again = _read(db, token, stored.id)
    assert again.decided_under.digest == bundled.digest and again.newer_version == NEXT
    assert _statuses(again.trace) == original
    assert again.to_dict()["policy_digest"] == bundled.digest

    # The 2025-06-24 file is edited in place (a new digest): the stored content still explains it.
    edited = tmp_path / "edited" / "besponsa"
    edited.mkdir(parents=True)
    (edited / BUNDLED.name).write_text(next_version_text().replace(f'effective: "{NEXT}"', 'effective: "2025-06-24"'))
    registry(PolicyRegistry([tmp_path / "edited"]))
    policy_versions._BY_DIGEST.clear()  # read the content back from the database, not this process
    changed = _read(db, token, stored.id)
    assert changed.decided_under.digest == bundled.digest and changed.decided_under.source.startswith("store:")
    assert changed.newer_version == "2025-06-24"
    assert _statuses(changed.trace) == original

    # The policy leaves the path altogether.
    registry(PolicyRegistry([], include_bundled=False))
    policy_versions._BY_DIGEST.clear()
    gone = _read(db, token, stored.id)
    assert _statuses(gone.trace) == original and gone.newer_version is None


def test_a_request_received_after_the_next_version_is_decided_and_stored_under_it(db, token, tmp_path, registry):
    registry(PolicyRegistry([policy_path_with_next_version(tmp_path)]))
    stored = _submit(db, token, dated_today(RITUXIMAB_AT_67))  # received today, after 2026-07-01
    assert (stored.policy_version, stored.status) == (NEXT, "approved")
    assert stored.authorization["max_units"] == 72
    assert stored.authorization["end"] == months_on(stored.received_on.isoformat(), 4)
    assert stored.policy_digest == policy_registry().get("besponsa").latest.digest


def test_the_rest_api_decides_a_policy_from_the_path_as_if_bundled(tmp_path, registry, settings, db, auth):
    from fastapi.testclient import TestClient

    from priorauth.http.app import create_app

    registry(PolicyRegistry([policy_path_with_extra_question(tmp_path, "besponsa_plus")]))
    facts = dict(RITUXIMAB_AT_67, disease_setting="relapsed_refractory", regimen="single_agent", with_rituximab=False)
    with TestClient(create_app(settings, db)) as client:
        headers = auth("submitter")
        r = client.post("/v1/evaluate", json={"policy": "besponsa_plus", "facts": facts}, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["missing_facts"] == ["hepatic_function_checked"]
        checked = dict(facts, hepatic_function_checked=True)
        r = client.post("/v1/requests", json={"policy": "besponsa_plus", "facts": dated_today(checked)},
                        headers=headers)
        assert r.status_code == 201, r.text
        assert (r.json()["policy"], r.json()["status"]) == ("besponsa_plus", "approved")
        policies = client.get("/v1/policies", headers=headers).json()["policies"]
        assert {"besponsa", "besponsa_plus"} <= {p["id"] for p in policies}
        r = client.post("/v1/evaluate", json={"policy": "besponsa", "facts": checked}, headers=headers)
        # A fact the version does not know is named by its position, not echoed (issue 14).
        assert r.status_code == 422 and r.json()["field"] == "facts" and "unknown fact" in r.json()["detail"]


def test_the_rest_api_decides_the_next_version_and_a_same_id_copy_from_the_path(
    tmp_path, registry, settings, db, auth
):
    from fastapi.testclient import TestClient

    from priorauth.http.app import create_app

    facts = dict(RITUXIMAB_AT_67, disease_setting="relapsed_refractory", regimen="single_agent", with_rituximab=False)
    registry(PolicyRegistry([policy_path_with_next_version(tmp_path / "next")]))
    with TestClient(create_app(settings, db)) as client:
        headers = auth("submitter")
        for day, version, units in (("2026-06-30", "2025-06-24", 63), ("2026-07-01", NEXT, 72)):
            r = client.post("/v1/evaluate", json={"policy": "besponsa", "facts": dict(facts, request_date=day)},
                            headers=headers)
            body = r.json()
            assert (body["policy_version"], body["authorization"]["max_units"]) == (version, units)
        listed = client.get("/v1/policies/besponsa", headers=headers).json()
        assert [v["effective"] for v in listed["versions"]] == ["2025-06-24", NEXT]

    registry(PolicyRegistry([policy_path_with_extra_question(tmp_path / "same", "besponsa")]))
    with TestClient(create_app(settings, db)) as client:
        unchecked = dict(facts, hepatic_function_checked=False)
        r = client.post("/v1/requests", json={"policy": "besponsa", "facts": dated_today(unchecked)},
                        headers=auth("submitter"))
        assert r.status_code == 201 and r.json()["status"] == "awaiting_review"
        # The submitter does not see the recommendation before review (H1); the reviewer does.
        seen = client.get(f"/v1/requests/{r.json()['id']}", headers=auth("reviewer", "plan")).json()
        assert seen["determination"]["reasons"][0]["criterion"] == "hepatic_function_checked"
