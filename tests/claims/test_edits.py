"""Hand-built edge cases: each edit at its boundary, on the Polars engine and the reference."""

import polars as pl
import pytest
from tests.claims.helpers import frame, line, waste_policy

from priorauth.claims import ClaimRules, audit_claims
from priorauth.claims.reference import audit_reference


def audit(rows, rules, auth=None, policy=None):
    """Audit on the Polars engine and the reference (with `policy`, a loaded variant, instead of the bundled one)."""
    if policy is not None:
        rules = ClaimRules.from_policy(policy)
    result = audit_claims(frame(rows), frame(auth) if auth else None, policy=policy or "besponsa")
    ref_lines, ref_errors = audit_reference(frame(rows).to_dicts(), rules, frame(auth).to_dicts() if auth else None)
    assert result.lines.to_dicts() == ref_lines
    assert result.errors + result.auth_errors == ref_errors
    return {r["claim_id"]: r for r in result.lines.to_dicts()}, result


def test_units_window_counts_same_day_lines_and_ends_on_day_21(rules):
    out, _ = audit(
        [
            line("a", "M1", 0, 30),
            line("b", "M1", 20, 20),  # day 21 of the window opened on day 0: 30 + 20 + 14 = 64
            line("c", "M1", 20, 14),  # same day, other line: counted in both
            line("d", "M1", 21, 10),  # day 22: line a has left the window: 20 + 14 + 10 = 44
        ],
        rules,
    )
    assert [out[c]["rolling_units"] for c in "abcd"] == [30, 64, 64, 44]
    assert "UNITS_OVER_LIMIT" in out["b"]["edits"] and "UNITS_OVER_LIMIT" in out["c"]["edits"]
    assert out["a"]["edits"] == [] and out["d"]["edits"] == []


def test_exactly_63_units_is_within_the_limit(rules):
    out, _ = audit([line("a", "M1", 0, 33), line("b", "M1", 20, 30)], rules)
    assert out["b"]["rolling_units"] == 63 and out["b"]["edits"] == []


def test_cycle_boundaries_follow_the_schedule_21_days_then_28(rules):
    # Section V: cycle 1 is 21 days, later cycles 28: starts on days 0, 21, 49, ...; the 7th opens on day 161
    starts = [0, 21, 49, 77, 105, 133, 161]
    rows = [line(f"s{k}", "M1", d, 5) for k, d in enumerate(starts)]
    rows += [line("x", "M1", 20, 5), line("z", "M1", 48, 5), line("y", "M1", 162, 5)]
    out, _ = audit(rows, rules)
    assert [out[f"s{k}"]["cycle"] for k in range(7)] == [1, 2, 3, 4, 5, 6, 7]
    assert out["x"]["cycle"] == 1  # day 21 of cycle 1 still belongs to it
    assert out["z"]["cycle"] == 2  # day 28 of cycle 2 too (the old 21-day rule opened cycle 3 on day 22)
    assert out["y"]["cycle"] == 7
    assert "CYCLE_LIMIT" in out["s6"]["edits"] and "CYCLE_LIMIT" in out["y"]["edits"]
    assert "CYCLE_LIMIT" not in out["s5"]["edits"]


def test_cycle_start_is_the_first_date_at_least_21_days_later(rules):
    out, _ = audit(
        [line("a", "M1", 0, 5), line("b", "M1", 15, 5), line("c", "M1", 25, 5), line("d", "M1", 40, 5)], rules
    )
    # c (day 25) opens cycle 2; d (day 40) is only 15 days after c
    assert [out[c]["cycle"] for c in "abcd"] == [1, 1, 2, 2]


def test_members_are_kept_apart(rules):
    out, _ = audit([line("a", "M1", 0, 40), line("b", "M2", 0, 40), line("c", " M1 ", 1, 1)], rules)
    assert out["a"]["rolling_units"] == 40 and out["b"]["rolling_units"] == 40
    assert out["c"]["rolling_units"] == 41  # member ids are compared without surrounding spaces


@pytest.mark.parametrize(
    ("ndc", "flagged"),
    [
        ("00008-0100-01", False),
        ("0008-0100-01", False),  # 4-4-2 padded
        ("00008-100-01", False),  # 5-3-2 padded
        ("00008-0100-1", False),  # 5-4-1 padded
        ("00008010001", False),
        (" 00008-0100-01 ", False),
        ("0008010001", False),  # 10 bare digits: the one reading that is the policy's product (4-4-2)
        ("0008-0100-1", True),  # 4-4-1 is no NDC shape
        ("00069-0100-01", True),
        ("00008-0101-01", True),
        ("garbage", True),
        (None, True),
    ],
)
def test_ndc(rules, ndc, flagged):
    out, _ = audit([line("a", "M1", 0, 10, ndc=ndc)], rules)
    assert ("NDC_MISMATCH" in out["a"]["edits"]) is flagged


@pytest.mark.parametrize(
    ("icd10", "flagged"),
    [
        ("C91.00", False),
        ("c9102", False),
        (" C83.50 ", False),
        ("Z51.11;C91.01", False),  # one covered code among several is enough
        ("Z51.11; c91.0 ;C91.02", False),
        ("C92.00;Z51.11", True),
        ("C91.0", True),  # a category, not a listed code
        ("not-a-code", True),
        (None, True),
    ],
)
def test_icd10(rules, icd10, flagged):
    out, _ = audit([line("a", "M1", 0, 10, icd10=icd10)], rules)
    assert ("ICD10_NOT_COVERED" in out["a"]["edits"]) is flagged


def test_waste_modifier_jw_and_jz_same_member_same_day(rules):
    out, _ = audit(
        [
            line("a", "M1", 0, 10, modifier="JZ"),
            line("b", "M1", 0, 2, modifier="jw"),
            line("c", "M1", 1, 2, modifier="JW"),  # next day: no conflict
            line("d", "M2", 0, 2, modifier="JW"),  # other member
            line("e", "M3", 0, 2, modifier="JW;JZ"),  # both on one line
        ],
        rules,
    )
    assert [("WASTE_MODIFIER" in out[c]["edits"]) for c in "abcde"] == [True, True, False, False, True]


WASTE_ROWS = [
    line("a", "M1", 0, 60, modifier="JZ"),
    line("b", "M1", 0, 5, modifier=" jw "),  # discarded drug: 60 + 5 = 65 when waste counts
    line("c", "M2", 0, 64, modifier="JZ"),
    line("d", "M2", 0, 3, modifier="JW"),  # over the limit without its own units
    line("e", "M3", 0, 60, modifier="JZ"),
    line("f", "M3", 1, 5, modifier="JW;JZ"),  # JW among several modifiers is a JW line
]


def test_jw_units_count_toward_the_limit_while_the_policy_says_so(rules):
    assert rules.waste_counts.values == (1,)  # the bundled policy counts waste today
    out, _ = audit(WASTE_ROWS, rules)
    assert [out[c]["rolling_units"] for c in "abcdef"] == [65, 65, 67, 67, 60, 65]
    assert [("UNITS_OVER_LIMIT" in out[c]["edits"]) for c in "abcdef"] == [True, True, True, True, False, True]


def test_jw_units_leave_the_sum_when_the_policy_does_not_count_waste(rules):
    policy = waste_policy('{"2025-06-24": false}')
    assert ClaimRules.from_policy(policy).waste_counts.values == (0,)
    out, result = audit(WASTE_ROWS, rules, policy=policy)
    assert [out[c]["rolling_units"] for c in "abcdef"] == [60, 60, 64, 64, 60, 60]
    # a JW line is still audited: flagged when the member's counted units on its date exceed the limit
    assert [("UNITS_OVER_LIMIT" in out[c]["edits"]) for c in "abcdef"] == [False, False, True, True, False, False]
    assert result.summary.edit_counts["UNITS_OVER_LIMIT"] == 2


def test_waste_counting_is_read_on_each_lines_service_date(rules):
    # waste counts until 2025-07-31 (day 30), not from 2025-08-01 (day 31)
    policy = waste_policy('{"2025-06-24": true, "2025-08-01": false}')
    out, _ = audit(
        [
            line("a", "M1", 29, 50, modifier="JZ"),
            line("b", "M1", 29, 10, modifier="JW"),  # July: counted, 60
            line("c", "M1", 30, 5, modifier="JZ"),  # July: 50 + 10 + 5 = 65
            line("d", "M1", 31, 5, modifier="JZ"),  # August: July's JW units no longer counted, 50 + 5 + 5 = 60
            line("e", "M1", 32, 4, modifier="JW"),  # August: 60, its own units not counted either
        ],
        rules,
        policy=policy,
    )
    assert [out[c]["rolling_units"] for c in "abcde"] == [60, 60, 65, 60, 60]
    assert [("UNITS_OVER_LIMIT" in out[c]["edits"]) for c in "abcde"] == [False, False, True, False, False]


def test_waste_parameter_must_be_true_or_false():
    with pytest.raises(ValueError, match="waste_counts_toward_limit must be true or false"):
        ClaimRules.from_policy(waste_policy('{"2025-06-24": 1}'))


def test_other_drugs_pass_through_untouched_and_do_not_count(rules):
    out, _ = audit([line("a", "M1", 0, 60), line("b", "M1", 1, 500, hcpcs="J9035", ndc=None, icd10=None)], rules)
    assert out["b"] == {"row": 2, "claim_id": "b", "rolling_units": None, "cycle": None, "edits": []}
    assert out["a"]["rolling_units"] == 60
    out, _ = audit([line("a", "M1", 0, 10, hcpcs=" j9229 ")], rules)
    assert out["a"]["cycle"] == 1


def test_authorizations(rules):
    auth = [
        {"member_id": "M1", "start": "2025-07-01", "end": "2025-07-31"},
        {"member_id": "M1", "start": "2025-09-01", "end": "2025-09-30"},
    ]
    out, _ = audit(
        [line("a", "M1", 0, 5), line("b", "M1", 30, 5), line("c", "M1", 31, 5), line("d", "M2", 0, 5)], rules, auth
    )
    assert out["a"]["edits"] == [] and out["b"]["edits"] == []  # both ends inclusive
    assert out["c"]["edits"] == ["OUTSIDE_AUTHORIZATION"]
    assert out["d"]["edits"] == ["NO_AUTHORIZATION"]


def test_bad_rows_are_listed_with_row_and_column_and_good_rows_still_audited(rules):
    rows = [
        line("a", "M1", 0, 10),
        line("b", None, "2025-02-30", -1),
        line("c", "M1", "07/01/2025", "1.5"),
        line(" ", "M1", 1, "abc"),
        line("e", "M1", 2, "  7 "),
    ]
    out, result = audit(rows, rules)
    assert set(out) == {"a", "e"} and out["e"]["rolling_units"] == 17
    assert [str(e) for e in result.errors] == [
        "claims row 2, column member_id: missing value",
        "claims row 2, column service_date: not a date (expected YYYY-MM-DD)",
        "claims row 2, column units: negative units",
        "claims row 3, column service_date: not a date (expected YYYY-MM-DD)",
        "claims row 3, column units: not a whole number of units",
        "claims row 4, column claim_id: missing value",
        "claims row 4, column units: not a whole number of units",
    ]
    assert result.summary.rows_read == 5 and result.summary.lines_audited == 2 and result.summary.rows_rejected == 3


def test_bad_authorization_rows_are_listed(rules):
    auth = [
        {"member_id": "M1", "start": "2025-07-31", "end": "2025-07-01"},
        {"member_id": "M1", "start": "x", "end": "2025-08-01"},
    ]
    out, result = audit([line("a", "M1", 0, 5)], rules, auth)
    assert [str(e) for e in result.auth_errors] == [
        "authorizations row 1, column end: end is before start",
        "authorizations row 2, column start: not a date (expected YYYY-MM-DD)",
    ]
    assert out["a"]["edits"] == ["NO_AUTHORIZATION"]


def test_missing_columns_cannot_be_audited():
    from priorauth.claims import ClaimInputError

    with pytest.raises(ClaimInputError, match="missing column"):
        audit_claims(pl.DataFrame({"claim_id": ["a"], "member_id": ["M1"]}), policy="besponsa")


def test_summary_counts_edits_and_units_at_risk(rules):
    _, result = audit([line("a", "M1", 0, 60), line("b", "M1", 1, 10, ndc="bad")], rules)
    s = result.summary
    assert s.edit_counts["UNITS_OVER_LIMIT"] == 1 and s.edit_counts["NDC_MISMATCH"] == 1
    assert s.lines_with_edits == 1 and s.units_at_risk == 10 and s.members == 1


def test_members_sharing_a_hash_prefix_are_kept_apart_without_exact_codes():
    import polars as pl

    from priorauth.claims.polars_engine import DAY_BITS, _sorted_keys

    h1 = pl.Series([5 << 30, 5 << 30, 5 << 30], dtype=pl.UInt64)  # same prefix for two members
    h2 = pl.Series([1, 2, 1], dtype=pl.UInt64)
    called = []

    def exact():
        called.append(True)
        return pl.Series([0, 1, 0], dtype=pl.UInt32)

    order, keys = _sorted_keys(h1, h2, pl.Series([30, 30, 31], dtype=pl.Int64), exact)
    member = (keys // (1 << DAY_BITS)).to_list()
    by_row = dict(zip(order.to_list(), member, strict=True))
    assert by_row[0] == by_row[2] != by_row[1]  # rows 0 and 2 are one member, row 1 another
    assert not called  # a million members share prefixes now and then: exact codes cost minutes
