"""Claim files holding more than one drug, and limits that differ by authorization branch.

The policies here are made up (tests/dosing/policies/infusamab with `authorizations:` added), so
the capability is tested on its own: each line is audited under the policy of its HCPCS code, a
line under an authorization naming its branch takes that branch's window, units and last cycle,
and any other line the Section II limit of its cycle number. Engines and reference agree.
"""

from __future__ import annotations

import polars as pl
import pytest
from tests.claims.helpers import frame, line
from tests.dosing.branched import branched_policy

from priorauth.claims import ClaimRules, audit_claims
from priorauth.claims.edits import claim_rules
from priorauth.claims.reference import audit_reference

POLICY = branched_policy()
RULES = ClaimRules.from_policy(POLICY)


def drug(claim, member, day, units, **kw):
    kw.setdefault("ndc", "99999-0160-01")
    kw.setdefault("icd10", "C91.02")
    return line(claim, member, day, units, hcpcs="J9999", **kw)


def audit(rows, auth=None, policy=None):
    """Polars engine and reference on the same rows; both must agree."""
    chosen = policy if policy is not None else POLICY
    result = audit_claims(frame(rows), frame(auth) if auth else None, policy=chosen)
    rules = tuple(ClaimRules.from_policy(p) for p in chosen) if isinstance(chosen, list) else RULES
    ref_lines, ref_errors = audit_reference(frame(rows).to_dicts(), rules, frame(auth).to_dicts() if auth else None)
    assert result.lines.to_dicts() == ref_lines
    assert result.errors + result.auth_errors == ref_errors
    return {r["claim_id"]: r for r in result.lines.to_dicts()}, result


def test_the_rules_read_each_branch_and_the_section_ii_table_by_cycle():
    assert [(b.branch, b.max_units, b.window_days, b.last_cycle) for b in RULES.branches] == [
        ("rr_initial", 100, 10, 2), ("rr_renewal", 100, 20, 4), ("mrd", 60, 10, 1)]
    # cycle 1: rr_initial (10 a day) or mrd (6 a day): the stricter, mrd; cycle 2: rr_initial; 3-4: rr_renewal
    assert RULES.cycle_windows == (10, 10, 20, 20) and RULES.cycle_units == (60, 100, 100, 100)
    assert RULES.last_cycle == 4 and RULES.by_branch


def test_without_an_authorization_a_line_takes_the_limit_of_its_cycle_number():
    rows = [
        drug("a", "M1", 0, 50), drug("b", "M1", 9, 20),  # cycle 1 (10 days): 70 > 60
        drug("c", "M1", 10, 50), drug("d", "M1", 19, 50),  # cycle 2 opens on day 10: 100, within 100
        drug("e", "M1", 20, 10), drug("f", "M1", 39, 30),  # cycle 3 (20 days): day 39 sees 10 + 30
        drug("g", "M1", 40, 5), drug("h", "M1", 60, 5), drug("i", "M1", 80, 5),  # cycles 4, 5, 6
    ]
    out, _ = audit(rows)
    assert [out[c]["cycle"] for c in "abcdefghi"] == [1, 1, 2, 2, 3, 3, 4, 5, 6]
    assert out["b"]["rolling_units"] == 70 and "UNITS_OVER_LIMIT" in out["b"]["edits"]
    assert out["d"]["rolling_units"] == 100 and out["d"]["edits"] == []
    assert out["f"]["rolling_units"] == 40  # the 20-day window of cycle 3 reaches back to day 20
    assert "CYCLE_LIMIT" not in out["g"]["edits"]
    assert "CYCLE_LIMIT" in out["h"]["edits"] and "CYCLE_LIMIT" in out["i"]["edits"]


def test_a_line_under_an_authorization_takes_its_branch_limits():
    rows = [drug("a", "M1", 0, 50), drug("b", "M1", 9, 20), drug("c", "M2", 0, 50), drug("d", "M2", 9, 20)]
    auth = [
        {"member_id": "M1", "start": "2025-07-01", "end": "2025-12-31", "hcpcs": "J9999", "branch": "rr_initial"},
        {"member_id": "M2", "start": "2025-07-01", "end": "2025-12-31", "hcpcs": "", "branch": "mrd"},
    ]
    out, _ = audit(rows, auth)
    assert out["b"]["rolling_units"] == 70
    assert out["b"]["edits"] == []  # rr_initial: 100 units per 10 days
    assert out["d"]["edits"] == ["UNITS_OVER_LIMIT"]  # mrd: 60 per 10 days


def test_a_renewal_branch_has_its_own_window_and_last_cycle():
    # initial authorization for the first 20 days, then the renewal's 20-day cycles
    rows = [drug(f"s{k}", "M1", d, 40) for k, d in enumerate([0, 10, 20, 40, 60])]
    rows += [drug("late", "M1", 59, 40)]
    auth = [
        {"member_id": "M1", "start": "2025-07-01", "end": "2025-07-20", "hcpcs": "J9999", "branch": "rr_initial"},
        {"member_id": "M1", "start": "2025-07-21", "end": "2025-12-31", "hcpcs": "J9999", "branch": "rr_renewal"},
    ]
    out, _ = audit(rows, auth)
    assert [out[f"s{k}"]["cycle"] for k in range(5)] == [1, 2, 3, 4, 5]
    # day 59 is in cycle 4 (opened on day 40, 20 days long): 40 + 40 in its 20-day window
    assert out["late"]["cycle"] == 4 and out["late"]["rolling_units"] == 80
    # day 60 opens cycle 5: beyond the renewal's last cycle (4); its window (days 41-60) holds 40 + 40
    assert out["s4"]["edits"] == ["CYCLE_LIMIT"] and out["s3"]["edits"] == []
    assert out["s4"]["rolling_units"] == 80


def test_overlapping_authorizations_the_latest_start_wins():
    rows = [drug("a", "M1", 0, 50), drug("b", "M1", 5, 20)]
    auth = [
        {"member_id": "M1", "start": "2025-06-01", "end": "2025-12-31", "hcpcs": "J9999", "branch": "rr_initial"},
        {"member_id": "M1", "start": "2025-07-01", "end": "2025-07-31", "hcpcs": "J9999", "branch": "mrd"},
    ]
    out, _ = audit(rows, auth)
    assert out["b"]["edits"] == ["UNITS_OVER_LIMIT"]  # mrd's 60 units, not rr_initial's 100


def test_no_authorization_is_flagged_and_held_to_its_cycle_limit():
    rows = [drug("a", "M1", 0, 50), drug("b", "M1", 9, 20)]
    auth = [{"member_id": "M9", "start": "2025-07-01", "end": "2025-12-31", "hcpcs": "J9999", "branch": "rr_initial"}]
    out, _ = audit(rows, auth)
    assert out["b"]["edits"] == ["UNITS_OVER_LIMIT", "NO_AUTHORIZATION"]


def test_an_authorization_without_a_branch_holds_the_line_to_its_cycle_limit():
    rows = [drug("a", "M1", 0, 50), drug("b", "M1", 9, 20)]
    auth = [{"member_id": "M1", "start": "2025-07-01", "end": "2025-12-31"}]
    out, _ = audit(rows, auth)
    assert out["b"]["edits"] == ["UNITS_OVER_LIMIT"]  # cycle 1 without a branch: 60 units


def test_an_unknown_branch_is_a_rejected_authorization_row():
    rows = [drug("a", "M1", 0, 5)]
    auth = [
        {"member_id": "M1", "start": "2025-07-01", "end": "2025-12-31", "hcpcs": "J9999", "branch": "nope"},
        {"member_id": "M1", "start": "2025-07-01", "end": "2025-12-31", "hcpcs": "J9999", "branch": "rr_initial"},
    ]
    out, result = audit(rows, auth)
    assert [(e.row, e.column, e.message) for e in result.auth_errors] == [
        (1, "branch", "not an authorization branch of the policy")]
    assert out["a"]["edits"] == []


def test_a_claim_file_with_two_drugs_is_audited_per_line_under_each_policy():
    rows = [
        line("x1", "M1", 0, 40), line("x2", "M1", 5, 30),  # J9229: 70 > 63 in 21 days
        drug("y1", "M1", 0, 50), drug("y2", "M1", 5, 5),  # J9999: 55 within 60 (cycle 1)
        line("z", "M1", 5, 1, hcpcs="J1100", ndc=None, icd10=None),  # another drug passes through
    ]
    auth = [
        {"member_id": "M1", "start": "2025-07-01", "end": "2025-12-31", "hcpcs": "J9229", "branch": ""},
    ]
    out, result = audit(rows, auth, policy=["besponsa", POLICY])
    assert out["x2"]["rolling_units"] == 70 and out["x2"]["edits"] == ["UNITS_OVER_LIMIT"]
    # the authorization is for J9229 only: the J9999 lines have none
    assert out["y2"]["rolling_units"] == 55 and out["y2"]["edits"] == ["NO_AUTHORIZATION"]
    assert (out["z"]["cycle"], out["z"]["edits"]) == (None, [])
    assert result.summary.lines_by_policy == {"besponsa": 2, "infusamab": 2}
    assert result.summary.members == 1 and result.summary.policy_lines == 4


def test_the_policy_filter_audits_only_its_lines():
    rows = [line("x", "M1", 0, 70), drug("y", "M1", 0, 70)]
    out, _ = audit(rows, policy=[POLICY])
    assert out["x"]["cycle"] is None and out["y"]["edits"] == ["UNITS_OVER_LIMIT"]


def test_two_policies_billing_the_same_code_are_refused():
    with pytest.raises(ValueError, match="both bill J9999"):
        claim_rules([POLICY, POLICY])


def test_engines_agree_on_two_drugs_and_branches(spark, tmp_path):
    rows = [
        line("x1", "M1", 0, 40), line("x2", "M1", 5, 30), line("x3", "M2", 30, 5, modifier="JW"),
        *[drug(f"y{k}", "M1", d, 30) for k, d in enumerate([0, 4, 9, 10, 15, 20, 33, 41, 60, 80])],
        *[drug(f"w{k}", "M2", d, 35, modifier="JW" if k % 3 == 0 else "JZ") for k, d in enumerate(range(0, 90, 7))],
        drug("bad", "M3", "2025-13-01", 5),
    ]
    auth = [
        {"member_id": "M1", "start": "2025-07-01", "end": "2025-07-20", "hcpcs": "J9999", "branch": "rr_initial"},
        {"member_id": "M1", "start": "2025-07-21", "end": "2025-09-30", "hcpcs": "j9999 ", "branch": "rr_renewal"},
        {"member_id": "M2", "start": "2025-07-01", "end": "2025-08-10", "hcpcs": "", "branch": "mrd"},
        {"member_id": "M2", "start": "2025-07-01", "end": "2025-09-30", "hcpcs": "J9229", "branch": ""},
        {"member_id": "M3", "start": "2025-07-01", "end": "2025-06-30", "hcpcs": "", "branch": "nope"},
    ]
    claims_path, auth_path = tmp_path / "claims.csv", tmp_path / "auth.csv"
    frame(rows).write_csv(claims_path)
    frame(auth).write_csv(auth_path)
    policies = ["besponsa", POLICY]
    on_polars = audit_claims(claims_path, auth_path, policy=policies)
    on_spark = audit_claims(claims_path, auth_path, policy=policies, engine="spark", master="local[2]")
    assert on_spark.lines.equals(on_polars.lines)
    assert on_spark.errors == on_polars.errors and on_spark.auth_errors == on_polars.auth_errors
    assert [(e.row, e.column) for e in on_polars.auth_errors] == [(5, "end"), (5, "branch")]
    expected, _ = audit_reference(pl.read_csv(claims_path, infer_schema=False).to_dicts(),
                                  tuple(ClaimRules.from_policy(p) for p in policies),
                                  pl.read_csv(auth_path, infer_schema=False).to_dicts())
    assert on_polars.lines.to_dicts() == expected
    assert {k: v for k, v in vars(on_spark.summary).items() if k != "engine"} == {
        k: v for k, v in vars(on_polars.summary).items() if k != "engine"}
    assert on_polars.summary.edit_counts["CYCLE_LIMIT"] > 0 and on_polars.summary.edit_counts["UNITS_OVER_LIMIT"] > 0
