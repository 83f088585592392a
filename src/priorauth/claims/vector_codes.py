"""Column-wise equivalents of the core's code normalisers (priorauth.core) for Polars (tests check they agree).

Python's str.strip() and Rust's trim() disagree on a few control characters, so the
whitespace set is spelled out from Python's own definition.
"""

from __future__ import annotations

import re

import polars as pl

# Every character for which str.isspace() is true (Unicode 15; a test checks it against this Python's),
# spelled out: computing it scans 1.1 million code points, a fifth of a second at every start.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

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


def ndc_ok(expr: pl.Expr, patterns: tuple[str, ...]) -> pl.Expr:
    """Whether codes.match_ndc finds a reading of the NDC among the patterns; false for null,
    malformed and ambiguous (two readings of 10 bare digits matching)."""
    text = strip(expr)
    bare = text.str.contains(r"^[0-9]{10}$")
    readings = (
        "0" + text.str.slice(0, 4) + "-" + text.str.slice(4, 4) + "-" + text.str.slice(8, 2),
        text.str.slice(0, 5) + "-0" + text.str.slice(5, 3) + "-" + text.str.slice(8, 2),
        text.str.slice(0, 5) + "-" + text.str.slice(5, 4) + "-0" + text.str.slice(9, 1),
    )
    matching = pl.sum_horizontal(ndc_matches_any(r, patterns).cast(pl.UInt8) for r in readings)
    return pl.when(bare).then(matching == 1).otherwise(ndc_matches_any(ndc11(expr), patterns)).fill_null(False)


def ndc_pattern_regex(pattern: str) -> str:
    """ndc_matches as a regex: x/X stands for any character."""
    return "^" + "".join("." if p in "xX" else re.escape(p) for p in pattern) + "$"


def ndc_matches_any(ndc: pl.Expr, patterns: tuple[str, ...]) -> pl.Expr:
    """Whether a normalised NDC matches one of the patterns; false for null."""
    regex = "|".join(f"(?:{ndc_pattern_regex(p)})" for p in patterns) or "$^"
    return ndc.str.contains(regex).fill_null(False)
