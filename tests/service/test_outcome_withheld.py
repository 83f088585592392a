"""H1: the engine's recommendation and letters reach a submitter only once a clinician has decided (REST)."""

from __future__ import annotations


def test_submitter_sees_no_recommendation_until_a_clinician_decides(client, auth, example):
    submitter, reviewer = auth("submitter"), auth("reviewer", "plan")
    posted = client.post("/v1/requests", json=example("denied-pediatric-combination"), headers=submitter)
    assert posted.status_code == 201
    answer = posted.json()
    assert answer["status"] == "awaiting_review"
    assert answer["determination"] is None and answer["engine_decision"] is None
    assert "denied" not in posted.text.lower()
    rid = answer["id"]

    got = client.get(f"/v1/requests/{rid}?trace=true", headers=submitter)
    assert got.status_code == 200 and got.json()["determination"] is None and "trace" not in got.json()
    assert "denied" not in got.text.lower() and "reasons" not in got.text
    listed = client.get("/v1/requests", headers=submitter).json()["items"]
    assert [i["determination"] for i in listed if i["id"] == rid] == [None]

    # The reviewer sees the recommendation the engine made.
    seen = client.get(f"/v1/requests/{rid}", headers=reviewer).json()
    assert seen["engine_decision"] == "denied" and seen["determination"]["decision"] == "denied"

    decided = client.post(f"/v1/requests/{rid}/review", headers=reviewer,
                          json={"action": "deny", "note": "Not met.", "expected_version": 1})
    assert decided.status_code == 200
    final = client.get(f"/v1/requests/{rid}", headers=submitter).json()
    assert final["status"] == "denied" and final["determination"]["decision"] == "denied"
    assert final["engine_decision"] == "denied" and "withheld" not in final
