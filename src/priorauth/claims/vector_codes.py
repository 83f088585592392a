"""Column-wise equivalents of the core's code normalisers (priorauth.core) for Polars (tests check they agree).

Python's str.strip() and Rust's trim() disagree on a few control characters, so the
whitespace set is spelled out from Python's own definition.
"""

from __future__ import annotations

import re

import polars as pl

WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())

ICD10_REGEX = r"^([A-TV-Z][0-9][0-9AB])\.?([0-9A-TV-Z]{0,4})$"
# (regex, replacement) for each accepted NDC shape -> 5-4-2 with hyphens.
NDC_SHAPES: tuple[tuple[str, str], ...] = (
    (r"^([0-9]{4})-([0-9]{4})-([0-9]{2})$", "0${1}-${2}-${3}"),
    (r"^([0-9]{5})-([0-9]{3})-([0-9]{2})$", "${1}-0${2}-${3}"),
    (r"^([0-9]{5})-([0-9]{4})-([0-9]{1})$", "${1}-${2}-0${3}"),
    (r"^([0-9]{5})-([0-9]{4})-([0-9]{2})$", "${1}-${2}-${3}"),
    (r"^([0-9]{5})([0-9]{4})([0-9]{2})$", "${1}-${2}-${3}"),
)


def strip(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars(WHITESPACE)


def icd10(expr: pl.Expr) -> pl.Expr:
    """normalize_icd10 as an expression; null where codes.normalize_icd10 raises."""
    groups = strip(expr).str.to_uppercase().str.extract_groups(ICD10_REGEX)
    head, tail = groups.struct.field("1"), groups.struct.field("2")
    return pl.when(tail == "").then(head).otherwise(head + "." + tail)


def ndc11(expr: pl.Expr) -> pl.Expr:
    """normalize_ndc as an expression; null where codes.normalize_ndc raises."""
    text = strip(expr)
    out = pl.lit(None, dtype=pl.String)
    for regex, replacement in reversed(NDC_SHAPES):
        out = pl.when(text.str.contains(regex)).then(text.str.replace(regex, replacement)).otherwise(out)
    return out


def ndc_pattern_regex(pattern: str) -> str:
    """ndc_matches as a regex: x/X stands for any character."""
    return "^" + "".join("." if p in "xX" else re.escape(p) for p in pattern) + "$"


def ndc_matches_any(ndc: pl.Expr, patterns: tuple[str, ...]) -> pl.Expr:
    """Whether a normalised NDC matches one of the patterns; false for null."""
    regex = "|".join(f"(?:{ndc_pattern_regex(p)})" for p in patterns) or "$^"
    return ndc.str.contains(regex).fill_null(False)
