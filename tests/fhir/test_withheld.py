"""H1 on the FHIR door: PAS $submit and $inquire answer a submitter A4 "in clinical review" while the
engine's denial awaits a clinician, never the recommendation or its failed criteria."""

from __future__ import annotations

from fhir_door_helpers import review_action

from priorauth.fhir import systems


def _engine_denied_bundle(fhir_example) -> dict:
    bundle = fhir_example("pas-submit-complete")
    bundle["entry"][1]["resource"]["item"][4]["answer"] = [{"valueBoolean": False}]  # cd22_positive
    return bundle


def _inquiry(fhir_example, ref: str) -> dict:
    inquiry = fhir_example("pas-inquire")
    inquiry["entry"][0]["resource"]["identifier"] = [{"system": systems.PRE_AUTH_REF, "value": ref}]
    return inquiry


def _notes(answer: dict) -> list[str]:
    return [n["text"] for n in answer["entry"][0]["resource"].get("processNote", [])]


def test_pas_submit_and_inquire_withhold_the_engine_recommendation_from_the_submitter(client, auth, fhir_example):
    submitter, reviewer = auth("submitter"), auth("reviewer")
    r = client.post("/fhir/Claim/$submit", json=_engine_denied_bundle(fhir_example), headers=submitter)
    assert r.status_code == 200
    response = r.json()["entry"][0]["resource"]
    assert review_action(r.json()) == "A4"
    assert response["disposition"] == "Pended: in clinical review"
    assert _notes(r.json()) and all("clinical review" in n for n in _notes(r.json()))
    assert "CD22" not in r.text and "criteria" not in r.text.lower() and "denied" not in r.text.lower()
    ref = response["preAuthRef"]

    # The submitter's $inquire says the same while the request awaits review.
    asked = client.post("/fhir/Claim/$inquire", json=_inquiry(fhir_example, ref), headers=submitter)
    assert asked.status_code == 200 and review_action(asked.json()) == "A4"
    assert "CD22" not in asked.text and "denied" not in asked.text.lower()

    # A reviewer's $inquire shows the engine's reasons (the recommendation is theirs to weigh).
    seen = client.post("/fhir/Claim/$inquire", json=_inquiry(fhir_example, ref), headers=reviewer)
    assert seen.status_code == 200 and review_action(seen.json()) == "A4"
    assert any("CD22" in n for n in _notes(seen.json()))

    # Once a clinician decides, the submitter hears the final outcome.
    version = client.get(f"/v1/requests/{ref}", headers=reviewer).json()["version"]
    decided = client.post(
        f"/v1/requests/{ref}/review",
        headers=reviewer,
        json={"action": "deny", "note": "Not met.", "expected_version": version},
    )
    assert decided.status_code == 200
    final = client.post("/fhir/Claim/$inquire", json=_inquiry(fhir_example, ref), headers=submitter)
    assert review_action(final.json()) == "A3"
    assert final.json()["entry"][0]["resource"]["disposition"] == "Not certified"


def test_fhir_bodies_nested_beyond_the_limit_answer_400_naming_the_root(client, auth):
    deep = b'{"resourceType":"Bundle","entry":' + b"[" * 600 + b"]" * 600 + b"}"
    for path, root in (
        ("/fhir/Claim/$submit", "Bundle"),
        ("/fhir/Claim/$inquire", "Bundle"),
        ("/fhir/QuestionnaireResponse/$facts", "QuestionnaireResponse"),
    ):
        r = client.post(path, content=deep, headers={**auth("submitter"), "Content-Type": "application/fhir+json"})
        assert r.status_code == 400, path
        issue = r.json()["issue"][0]
        assert issue["expression"] == [root] and "nested deeper" in issue["diagnostics"]
