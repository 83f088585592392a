"""The Polars engine matches the pure-Python reference on synthetic claims; vector codes match codes.py."""

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.claims.helpers import waste_policy

from priorauth.claims import ClaimRules, audit_claims
from priorauth.claims import vector_codes as vc
from priorauth.claims.reference import audit_reference
from priorauth.claims.synth import synth_claims
from priorauth.core._codes import NdcError, match_ndc, normalize_icd10, normalize_ndc


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_polars_engine_matches_reference_on_synthetic_claims(rules, seed):
    claims = synth_claims("besponsa", 6000, seed)
    result = audit_claims(claims, policy="besponsa")
    expected, errors = audit_reference(claims.to_dicts(), rules)
    assert errors == []
    assert result.lines.to_dicts() == expected
    # every kind of violation is present in the synthetic data
    assert all(
        result.summary.edit_counts[c] > 0
        for c in ("ICD10_NOT_COVERED", "NDC_MISMATCH", "UNITS_OVER_LIMIT", "CYCLE_LIMIT", "WASTE_MODIFIER")
    )


def test_polars_engine_matches_reference_when_waste_stops_counting(rules):
    # JW units count until 2026-01-01, not after: the synthetic claims span both
    policy = waste_policy('{"2025-06-24": true, "2026-01-01": false}')
    claims = synth_claims("besponsa", 6000, 3)
    result = audit_claims(claims, policy=policy)
    expected, _ = audit_reference(claims.to_dicts(), ClaimRules.from_policy(policy))
    assert result.lines.to_dicts() == expected
    bundled = audit_claims(claims, policy="besponsa").lines
    changed = result.lines.filter(pl.col("rolling_units") != bundled["rolling_units"])
    assert changed.height > 0 and changed["row"].min() > 1  # later lines only
    bundled_counts = audit_claims(claims, policy="besponsa").summary.edit_counts
    assert result.summary.edit_counts["UNITS_OVER_LIMIT"] < bundled_counts["UNITS_OVER_LIMIT"]


def test_synthetic_csv_round_trip_matches_reference(rules, tmp_path):
    path = tmp_path / "claims.csv"
    synth_claims("besponsa", 2000, 7).write_csv(path)
    text_frame = pl.read_csv(path, infer_schema=False)
    result = audit_claims(path, policy="besponsa")
    expected, _ = audit_reference(text_frame.to_dicts(), rules)
    assert result.lines.to_dicts() == expected


def test_synth_is_reproducible_and_exact_in_size():
    assert synth_claims("besponsa", 1234, 5).equals(synth_claims("besponsa", 1234, 5))
    assert synth_claims("besponsa", 1234, 5).height == 1234
    assert not synth_claims("besponsa", 1234, 5).equals(synth_claims("besponsa", 1234, 6))


CODE_TEXT = st.text(alphabet="0123456789-. ;abcxCDZJUIV\t\n\x1c\xa0\u2003²ı", max_size=16)
NDC_LIKE = st.one_of(
    CODE_TEXT,
    st.from_regex(r"\A\s?[0-9]{4,5}-?[0-9]{3,4}-?[0-9]{1,2}\s?\Z"),
)
ICD_LIKE = st.one_of(CODE_TEXT, st.from_regex(r"\A\s?[a-zA-Z][0-9][0-9aAbB]\.?[0-9a-zA-Z]{0,5}\s?\Z"))


def _python_ndc(value):
    try:
        return normalize_ndc(value)
    except NdcError:
        return None


def _python_icd10(value):
    try:
        return normalize_icd10(value)
    except ValueError:
        return None


def _python_match(value, patterns):
    try:
        return match_ndc(value, patterns) is not None
    except NdcError:
        return False


# one product; and two whose 10-digit forms collide (0008010001 reads as either)
PATTERN_SETS = [("00008-0100-xx",), ("00008-0100-xx", "00080-1000-xx"), ("1234x-0x00-0x",)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(NDC_LIKE, st.from_regex(r"\A\s?[0-9]{10}\s?\Z")), min_size=1, max_size=20))
def test_vectorised_ndc_agrees_with_codes_py(values):
    got = pl.DataFrame({"v": values}, schema={"v": pl.String}).select(
        vc.ndc11(pl.col("v")).alias("n"),
        *[vc.ndc_ok(pl.col("v"), p).alias(f"ok{i}") for i, p in enumerate(PATTERN_SETS)],
    )
    assert got["n"].to_list() == [_python_ndc(v) for v in values]
    for i, patterns in enumerate(PATTERN_SETS):
        assert got[f"ok{i}"].to_list() == [_python_match(v, patterns) for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(ICD_LIKE, min_size=1, max_size=20))
def test_vectorised_icd10_agrees_with_codes_py(values):
    got = pl.DataFrame({"v": values}, schema={"v": pl.String}).select(vc.icd10(pl.col("v"))).to_series()
    assert got.to_list() == [_python_icd10(v) for v in values]


def test_the_whitespace_set_is_pythons():
    assert vc.WHITESPACE == "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
