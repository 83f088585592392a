"""J9039 claim lines audited under the Blincyto policy (its units, window, cycles and codes), in a
claim file that also holds J9229 (Besponsa) lines, each line under the policy of its code; the
authorization a line falls under gives its branch's window and last cycle (from a determination)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from tests.claims.helpers import frame, line

import priorauth
from priorauth.claims import ClaimRules, audit_claims
from priorauth.claims.edits import claim_rules
from priorauth.claims.reference import audit_reference
from priorauth.claims.synth import synth_claims

START = dt.date(2025, 7, 1)


def blincyto(claim, member, day, units, modifier="JZ", **kw):
    kw.setdefault("ndc", "55513-0160-01")
    kw.setdefault("icd10", "C91.02")
    return line(claim, member, day, units, hcpcs="J9039", modifier=modifier, **kw)


def infusion(member: str, first_day: int, days: int = 28, mcg: int = 28, prefix: str = "") -> list[dict]:
    """One infusion cycle as billed: per day a line for the dose given and one for the discarded remainder (JW)."""
    rows = []
    for d in range(days):
        # the dose given carries no waste modifier; the discarded remainder is its own line, with JW
        rows.append(blincyto(f"{prefix}{member}-{first_day + d}a", member, first_day + d, mcg, modifier=None))
        rows.append(blincyto(f"{prefix}{member}-{first_day + d}w", member, first_day + d, 35 - mcg, modifier="JW"))
    return rows


def audit(rows, auth=None):
    result = audit_claims(frame(rows), frame(auth) if auth else None)  # every loaded policy
    expected, errors = audit_reference(frame(rows).to_dicts(), claim_rules(), frame(auth).to_dicts() if auth else None)
    assert result.lines.to_dicts() == expected and result.errors + result.auth_errors == errors
    return {r["claim_id"]: r for r in result.lines.to_dicts()}, result


def test_the_claim_rules_read_the_policy():
    rules = ClaimRules.from_policy("blincyto")
    assert (rules.hcpcs, rules.ndc_patterns, sorted(rules.covered_icd10)) == (
        "J9039", ("55513-0160-xx",), ["C91.00", "C91.01", "C91.02"])
    # Section II by cycle number: 980 per 42 days for cycles 1-5, per 84 days for 6-9
    assert rules.cycle_windows == (42, 42, 42, 42, 42, 84, 84, 84, 84) and set(rules.cycle_units) == {980}
    assert rules.last_cycle == 9


def test_a_full_cycle_with_its_waste_is_exactly_980_units():
    # 28 infusion days x (28 mcg given + 7 mcg discarded, JW) = 980 units in 42 days: within the limit
    rows = infusion("M1", 0) + [blincyto("extra", "M1", 27, 1)]
    out, result = audit(rows)
    # day 27: 26 earlier days x 35, plus that day's 28 + 7 and the extra unit
    assert out["M1-26w"]["rolling_units"] == 27 * 35 and out["M1-26w"]["edits"] == []
    # one more unit on day 28 goes over 980
    assert out["extra"]["rolling_units"] == 981 and "UNITS_OVER_LIMIT" in out["extra"]["edits"]
    assert result.summary.lines_by_policy == {"blincyto": len(rows)}


def test_cycles_1_to_5_are_42_days_then_84_days_and_a_10th_cycle_is_over_the_limit():
    # without an authorization: Section II by cycle number
    starts = [0, 42, 84, 126, 168, 210, 294, 378, 462, 546]
    rows = [blincyto(f"c{k + 1}", "M1", s, 28) for k, s in enumerate(starts)]
    rows += [blincyto("in6", "M1", 250, 28)]  # 40 days into cycle 6 (84 days long): still cycle 6
    out, _ = audit(rows)
    assert [out[f"c{k}"]["cycle"] for k in range(1, 11)] == list(range(1, 11))
    assert out["in6"]["cycle"] == 6
    assert [k for k in range(1, 11) if "CYCLE_LIMIT" in out[f"c{k}"]["edits"]] == [10]


def test_both_drugs_in_one_file_each_under_its_own_policy():
    rows = [
        line("b1", "M1", 0, 40), line("b2", "M1", 10, 30),  # J9229: 70 > 63 units in 21 days
        blincyto("l1", "M1", 0, 28), blincyto("l2", "M1", 0, 7, modifier="JW"),
        blincyto("l3", "M1", 1, 28, ndc="00008-0100-01"),  # a Besponsa NDC on a J9039 line
        blincyto("l4", "M1", 2, 28, icd10="C83.50"),  # covered for Besponsa, not for Blincyto
        line("o", "M1", 3, 1, hcpcs="J1100", ndc=None, icd10=None),
    ]
    out, result = audit(rows)
    assert out["b2"]["edits"] == ["UNITS_OVER_LIMIT"] and out["b2"]["rolling_units"] == 70
    assert out["l2"]["rolling_units"] == 35 and "UNITS_OVER_LIMIT" not in out["l2"]["edits"]
    assert out["l3"]["edits"] == ["NDC_MISMATCH"] and out["l4"]["edits"] == ["ICD10_NOT_COVERED"]
    assert out["o"]["cycle"] is None
    assert result.summary.lines_by_policy == {"besponsa": 2, "blincyto": 4} and result.summary.members == 1


def authorization_row(member: str, determination: priorauth.Determination) -> dict:
    """An authorizations-file row from a determination: its period, code and branch."""
    a = determination.authorization.to_dict()
    return {"member_id": member, "start": a["start"], "end": a["end"], "hcpcs": a["hcpcs"], "branch": a["branch"]}


def test_lines_take_the_window_and_last_cycle_of_the_authorization_they_fall_under():
    # an MRD-positive approval decided on 2026-01-20 (day 203 of the claim history)
    initial = priorauth.evaluate_facts("blincyto", {
        "request_type": "initial", "request_date": "2026-01-20", "birth_date": "1980-01-01",
        "diagnosis": "b_cell_precursor_all", "icd10_codes": ["C91.02"], "cd19_positive": True,
        "regimen": "single_agent", "prior_blinatumomab": False, "disease_setting": "mrd_positive",
        "complete_remission": "first", "mrd_percent": 1.0})
    assert initial.authorization.branch == "mrd_positive" and initial.authorization.end == dt.date(2026, 7, 19)
    # MRD-positive: 4 cycles of 42 days; a 5th cycle (day 371 = 2026-07-07) is beyond its last cycle, though
    # inside the period
    rows = [blincyto(f"m{k + 1}", "M1", 203 + 42 * k, 28) for k in range(5)] + [blincyto("m1b", "M1", 240, 28)]
    out, _ = audit(rows, [authorization_row("M1", initial)])
    assert [out[f"m{k}"]["cycle"] for k in range(1, 6)] == [1, 2, 3, 4, 5] and out["m1b"]["cycle"] == 1
    assert out["m4"]["edits"] == [] and out["m5"]["edits"] == ["CYCLE_LIMIT"]


def test_a_renewal_authorization_holds_continued_therapy_to_84_days():
    # five 42-day cycles from 2025-07-01 (days 0, 42, ..., 168), continued therapy from day 210 (2026-01-27)
    renewal = priorauth.evaluate_facts("blincyto", {
        "request_type": "renewal", "request_date": "2026-01-27", "disease_setting": "relapsed_refractory",
        "first_authorization_date": START.isoformat(), "cycles_received": 5, "complete_remission": "first",
        "unacceptable_toxicity": False})
    assert renewal.authorization.branch == "relapsed_refractory_renewal"
    first = {"member_id": "M1", "start": START.isoformat(), "end": "2026-01-26", "hcpcs": "J9039",
             "branch": "relapsed_refractory_initial"}
    rows = [blincyto(f"c{k + 1}", "M1", 42 * k, 490) for k in range(5)]
    rows += [blincyto("c6", "M1", 210, 490), blincyto("c6b", "M1", 257, 490)]
    out, _ = audit(rows, [first, authorization_row("M1", renewal)])
    # under the renewal, day 257 (47 days on) is still cycle 6 (84 days): 490 + 490 = 980 within 84 days
    assert out["c6"]["cycle"] == 6 and out["c6b"]["cycle"] == 6
    assert out["c6b"]["rolling_units"] == 980 and out["c6b"]["edits"] == []
    # without authorizations the cycle number gives the same 84 days (Section II, cycles 6-9)
    plain, _ = audit(rows)
    assert plain["c6b"]["cycle"] == 6 and plain["c6b"]["edits"] == []
    # held to the initial terms instead (42-day cycles, 5 at most), day 257 opens a 7th cycle
    out, _ = audit(rows, [{**first, "end": "2026-12-31"}])
    assert out["c6b"]["cycle"] == 7 and "CYCLE_LIMIT" in out["c6b"]["edits"] and "CYCLE_LIMIT" in out["c6"]["edits"]


def test_a_line_without_an_authorization_is_flagged_and_held_to_the_strictest_limit():
    rows = infusion("M2", 0)
    auth = [{"member_id": "M9", "start": "2025-07-01", "end": "2025-12-31", "hcpcs": "J9039",
             "branch": "mrd_positive"}]
    out, result = audit(rows, auth)
    assert all("NO_AUTHORIZATION" in r["edits"] for r in out.values())
    assert result.summary.edit_counts["NO_AUTHORIZATION"] == len(rows)


def test_a_branch_of_another_policy_is_rejected():
    rows = [blincyto("a", "M1", 0, 28)]
    auth = [{"member_id": "M1", "start": "2025-07-01", "end": "2025-12-31", "hcpcs": "J9229",
             "branch": "mrd_positive"}]
    _, result = audit(rows, auth)
    assert [(e.row, e.column) for e in result.auth_errors] == [(1, "branch")]


def test_synthetic_blincyto_claims_match_the_reference_and_carry_each_violation():
    claims = synth_claims("blincyto", 8000, 3)
    result = audit_claims(claims, policy="blincyto")
    expected, errors = audit_reference(claims.to_dicts(), ClaimRules.from_policy("blincyto"))
    assert errors == [] and result.lines.to_dicts() == expected
    counts = result.summary.edit_counts
    assert all(counts[c] > 0 for c in ("ICD10_NOT_COVERED", "NDC_MISMATCH", "UNITS_OVER_LIMIT", "CYCLE_LIMIT",
                                       "WASTE_MODIFIER"))
    # continued therapy (84-day cycles) appears: some members reach a 6th cycle
    assert result.lines["cycle"].max() >= 6


@pytest.mark.parametrize("engine", ["spark"])
def test_spark_agrees_on_both_drugs_with_authorizations(engine, tmp_path, spark):
    claims = pl.concat([synth_claims("besponsa", 1500, 4), synth_claims("blincyto", 3000, 5)])
    members = claims["member_id"].unique().sort()
    auth = pl.DataFrame({
        "member_id": members,
        "start": ["2025-07-01"] * len(members),
        "end": ["2026-03-31"] * len(members),
        "hcpcs": ["J9039" if i % 3 else "" for i in range(len(members))],
        "branch": ["relapsed_refractory_initial" if i % 3 == 1 else "" for i in range(len(members))],
    }).filter(pl.int_range(pl.len()) % 5 != 0)
    claims_path, auth_path = tmp_path / "claims.parquet", tmp_path / "auth.csv"
    claims.write_parquet(claims_path)
    auth.write_csv(auth_path)
    on_polars = audit_claims(claims_path, auth_path)
    on_spark = audit_claims(claims_path, auth_path, engine=engine, master="local[2]")
    assert on_spark.lines.equals(on_polars.lines)
    assert on_spark.errors == on_polars.errors and on_spark.auth_errors == on_polars.auth_errors
    assert on_spark.summary.lines_by_policy == on_polars.summary.lines_by_policy
    assert set(on_polars.summary.lines_by_policy) == {"besponsa", "blincyto"}
