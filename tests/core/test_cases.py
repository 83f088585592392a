"""The YAML decision cases: every branch of the criteria tree, boundaries, pended, bad input."""

from __future__ import annotations

import pytest
from tests.core.cases import load_cases

import priorauth
from priorauth.core import Truth

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case):
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(priorauth.RequestError) as info:
            priorauth.evaluate(case["request"])
        assert info.value.field == expect["error"]["field"]
        if "code" in expect["error"]:
            assert info.value.code == expect["error"]["code"]
        return
    result = priorauth.evaluate(case["request"]).to_dict()
    assert result["decision"] == expect["decision"]
    assert result["policy_version"] == case["policy_version"]
    digests = {v.version: v.digest for v in priorauth.load_policy(case["request"]["policy"]).versions}
    assert result["policy_digest"] == digests[result["policy_version"]]
    if "reasons" in expect:
        wanted = [r if isinstance(r, str) else r["criterion"] for r in expect["reasons"]]
        assert [r["criterion"] for r in result["reasons"]] == wanted
        for got, want in zip(result["reasons"], expect["reasons"], strict=True):
            if isinstance(want, dict):  # where the reason sits: its branch and its `any` group
                assert {k: got[k] for k in want} == want
    if "missing_facts" in expect:
        assert result["missing_facts"] == expect["missing_facts"]
    if result["decision"] == "approved":
        assert result["authorization"] is not None
    else:
        assert result["authorization"] is None
    for key, value in (expect.get("authorization") or {}).items():
        assert result["authorization"][key] == value, key
    if "routing" in expect:
        if expect["routing"] is None:
            assert result["routing"] is None
        else:
            for key, value in expect["routing"].items():
                assert result["routing"][key] == value, key
    for key, value in (expect.get("dose_check") or {}).items():
        assert result["dose_check"][key] == value, key
    statuses = {"approved": "met", "denied": "not_met", "pended": "unknown"}
    if result["decision"] in statuses:
        assert {r["status"] for r in result["reasons"]} <= {statuses[result["decision"]]}


POLICIES = sorted({c["policy"] for c in CASES})


def test_every_bundled_policy_has_a_case_table():
    assert set(priorauth.policy_ids()) <= set(POLICIES)


@pytest.mark.parametrize("policy", POLICIES)
def test_cases_reach_every_branch_both_ways(policy):
    """Policy coverage: each criterion of each policy is met in some case and not met in another."""
    criteria = priorauth.load_policy(policy).first.runtime.criteria
    seen: dict[str, set[Truth]] = {n.criterion.id: set() for n in criteria.nodes}
    for case in CASES:
        if "error" in case["expect"] or case["policy"] != policy:
            continue
        det = priorauth.evaluate(case["request"])
        stack = [det.trace] if det.trace else []
        while stack:
            node = stack.pop()
            seen[node.criterion].add(node.status)
            stack.extend(node.children)
    uncovered = {cid: sorted(s.value for s in statuses) for cid, statuses in seen.items()
                 if not {Truth.MET, Truth.NOT_MET} <= statuses}
    assert uncovered == {}


@pytest.mark.parametrize("policy", POLICIES)
def test_cases_approve_under_every_authorization_branch(policy):
    """A policy with per-branch authorization terms: some case approves under each of them."""
    version = priorauth.load_policy(policy).first
    branches = {t.id for t in version.authorizations or ()}
    approved = set()
    for case in CASES:
        if case["policy"] == policy and case["expect"].get("decision") == "approved":
            approved.add(priorauth.evaluate(case["request"]).to_dict()["authorization"].get("branch"))
    assert branches <= approved
