"""Claim histories for the issue-12 claim edits: a missing JW/JZ modifier (and its switch), cycles
counted from the policy's schedule after a delayed dose, and one NDC reading for claims and doses."""

import pytest
from tests.claims.edits_helpers import audit_both, modifier_policy
from tests.claims.helpers import line

from priorauth.claims import ClaimRules
from priorauth.core import NdcError, load_policy, match_ndc
from priorauth.core._dosing.billing import product_for_ndc


def test_a_line_without_jw_or_jz_is_flagged(rules):
    out = audit_both(
        [
            line("ok", "M1", 0, 10, modifier="JZ"),
            line("bare", "M2", 0, 10, modifier=None),
            line("other", "M3", 0, 10, modifier="JG"),  # a modifier, but not a waste one
            line("dose", "M4", 0, 9, modifier=None),  # administered amount of a dose with waste ...
            line("waste", "M4", 0, 1, modifier="JW"),  # ... and its discarded remainder: both fine
            line("lower", "M5", 0, 10, modifier=" jz;JG "),
            line("old", "M6", -800, 10, modifier=None),  # 2023-05-22: before CMS required JW/JZ
        ],
        rules,
    )
    missing = {c for c, r in out.items() if "WASTE_MODIFIER_MISSING" in r["edits"]}
    assert missing == {"bare", "other"}


def test_the_policy_switch_turns_the_missing_modifier_edit_off():
    policy = modifier_policy("false")
    assert ClaimRules.from_policy(policy).modifier_required.values == (0, 0, 0)
    out = audit_both([line("bare", "M2", 0, 10, modifier=None)], ClaimRules.from_policy(policy), policy=policy)
    assert out["bare"]["edits"] == []


def test_the_rule_is_read_from_the_policy_file_with_its_source():
    for policy in ("besponsa", "blincyto"):
        rule = load_policy(policy).latest.billing.modifiers.claim_edit
        assert rule.required and rule.since.isoformat() == "2023-07-01" and "CMS" in rule.source


def besponsa_history():
    """Six real cycles (cycle 1: 21 days, later: 28, Section V) dosed on days 1, 8 and 15, with a
    day-10 and a day-17 dose in cycle 2 (label window) and cycle 4's day-15 dose held a week for
    toxicity (day 22): the old counter opened a cycle on any line 21 days after a cycle's start."""
    starts = [0, 21, 49, 77, 105, 133]
    rows = []
    for k, start in enumerate(starts, start=1):
        days = {2: (1, 10, 17), 4: (1, 8, 22)}.get(k, (1, 8, 15))
        rows += [line(f"c{k}d{d}", "M1", start + d - 1, 5) for d in days]
    return rows


def test_a_delayed_dose_does_not_shift_later_cycles(rules):
    out = audit_both(besponsa_history(), rules)
    cycles = {c: r["cycle"] for c, r in out.items()}
    assert cycles == {c: int(c[1]) for c in cycles}  # every dose in its real cycle
    assert not [c for c, r in out.items() if "CYCLE_LIMIT" in r["edits"]]


def test_a_real_seventh_cycle_after_delayed_doses_is_still_flagged(rules):
    rows = besponsa_history() + [line("c7d1", "M1", 161, 5), line("c7d8", "M1", 168, 5)]
    out = audit_both(rows, rules)
    assert [c for c, r in out.items() if "CYCLE_LIMIT" in r["edits"]] == ["c7d1", "c7d8"]
    assert out["c7d1"]["cycle"] == 7


def test_cycle_lengths_come_from_the_schedules():
    assert ClaimRules.from_policy("besponsa").cycle_lengths == (21, 28)
    # Blincyto's limits differ by branch: its cycles follow the branch windows, which are its schedules' lengths
    rules = ClaimRules.from_policy("blincyto")
    lengths = [min(s.length_days for s in load_policy("blincyto").latest.dosing.schedules if s.cycles.contains(c))
               for c in range(1, 10)]
    assert list(rules.cycle_windows) == lengths


def test_a_ten_digit_ndc_is_read_the_same_way_by_claims_and_the_dose_check(rules):
    billing = load_policy("besponsa").latest.billing
    assert product_for_ndc("0008010001", billing) is not None
    out = audit_both([line("a", "M1", 0, 10, ndc="0008010001"), line("b", "M1", 1, 10, ndc="0008010101")], rules)
    assert "NDC_MISMATCH" not in out["a"]["edits"]
    assert "NDC_MISMATCH" in out["b"]["edits"] and product_for_ndc("0008010101", billing) is None


def test_a_ten_digit_ndc_matching_two_products_is_ambiguous():
    assert match_ndc("0008010001", ["00008-0100-xx"]) == "00008-0100-01"
    with pytest.raises(NdcError, match="ambiguous"):
        match_ndc("0008010001", ["00008-0100-xx", "00080-1000-xx"])
