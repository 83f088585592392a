"""Synthetic Besponsa claim histories, so anyone can try the audit (no real member data).

Each member starts treatment on a random day; cycle 1 lasts 21 days, later cycles 28;
doses fall on days 1, 8 and 15 of each cycle (about 15, 9 and 9 units for a 1.8 m2
adult). About 5% of lines carry each kind of violation: extra units, a 7th or 8th
cycle, a foreign or ambiguous NDC, an uncovered diagnosis, JW and JZ on the same day.
Some lines of other drugs pass through. Vectorised: 1e7 lines take seconds.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

FIRST_DAY = dt.date(2025, 7, 1)
GOOD_NDCS = ["00008-0100-01", "0008-0100-01", "00008010001", " 00008-0100-01 "]
BAD_NDCS = ["00069-0100-01", "0008010001", "00008-0101-01", "not-an-ndc"]
GOOD_ICD10 = ["C91.00", "c9100", "C91.02", "C91.01;Z51.11", " C83.50 "]
BAD_ICD10 = ["C92.00", "Z51.11", "C91.1", "D61.810"]
OTHER_HCPCS = ["J9035", "J1100", "96413"]


def _uniform(index: pl.Expr, seed: int, salt: int) -> pl.Expr:
    """A deterministic pseudo-random number in [0, 1) per index."""
    return (index.hash(seed * 1_000_003 + salt) % 1_000_000).cast(pl.Float64) / 1_000_000


def _pick(choices: list[str], u: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(choices)).gather((u * len(choices)).cast(pl.Int64).clip(0, len(choices) - 1))


def synth_claims(lines: int, seed: int = 0) -> pl.DataFrame:
    """About `lines` claim lines (exactly `lines` once trimmed), sorted by service date."""
    if lines < 0:
        raise ValueError("the number of lines must be at least 0")
    members = max(1, lines // 12 + 1)  # about 14.5 lines each: overshoot, then trim
    m = pl.DataFrame({"m": pl.int_range(members, eager=True, dtype=pl.Int64)}).with_columns(
        start=(_uniform(pl.col("m"), seed, 1) * 365).cast(pl.Int32),
        cycles=pl.when(_uniform(pl.col("m"), seed, 2) < 0.12)
        .then(7 + (_uniform(pl.col("m"), seed, 3) * 2).cast(pl.Int32))
        .otherwise(2 + (_uniform(pl.col("m"), seed, 4) * 5).cast(pl.Int32)),
        first_units=14 + (_uniform(pl.col("m"), seed, 5) * 4).cast(pl.Int64),
    )
    doses = (
        m.with_columns(cycle=pl.int_ranges(0, pl.col("cycles")))
        .explode("cycle")
        .with_columns(dose=pl.lit([0, 7, 14]))
        .explode("dose")
        .with_columns(
            day=pl.col("start")
            + pl.when(pl.col("cycle") == 0).then(0).otherwise(21 + 28 * (pl.col("cycle") - 1))
            + pl.col("dose"),
            units=pl.when(pl.col("dose") == 0).then(pl.col("first_units")).otherwise(9),
        )
        .with_row_index("i")
        .with_columns(pl.col("i").cast(pl.Int64))
    )
    i = pl.col("i")
    doses = doses.with_columns(
        units=pl.when(_uniform(i, seed, 10) < 0.05).then(pl.col("units") + 40).otherwise(pl.col("units")),
        ndc=pl.when(_uniform(i, seed, 11) < 0.05)
        .then(_pick(BAD_NDCS, _uniform(i, seed, 12)))
        .otherwise(_pick(GOOD_NDCS, _uniform(i, seed, 13))),
        icd10=pl.when(_uniform(i, seed, 14) < 0.05)
        .then(_pick(BAD_ICD10, _uniform(i, seed, 15)))
        .otherwise(_pick(GOOD_ICD10, _uniform(i, seed, 16))),
        modifier=pl.lit("JZ"),
        hcpcs=pl.lit("J9229"),
        waste=_uniform(i, seed, 17) < 0.05,
        other=_uniform(i, seed, 18) < 0.05,
    )
    # JW line for discarded drug on the same day as a JZ line: the waste edit.
    waste = doses.filter("waste").with_columns(modifier=pl.lit("JW"), units=pl.lit(2, dtype=pl.Int64))
    other = doses.filter("other").with_columns(
        hcpcs=_pick(OTHER_HCPCS, _uniform(i, seed, 19)), ndc=pl.lit(None, dtype=pl.String), modifier=pl.lit(None)
    )
    columns = ["m", "day", "hcpcs", "units", "ndc", "icd10", "modifier"]
    out = (
        pl.concat([doses.select(columns), waste.select(columns), other.select(columns)])
        .sort("m", maintain_order=True)
        .head(lines)
        .sort("day", "m")
        .with_row_index("n")
    )
    first = (FIRST_DAY - dt.date(1970, 1, 1)).days
    return out.select(
        claim_id=pl.format("CLM{}", pl.col("n").cast(pl.String).str.zfill(10)),
        member_id=pl.format("M{}", pl.col("m").cast(pl.String).str.zfill(8)),
        service_date=(pl.col("day") + first).cast(pl.Date),
        hcpcs="hcpcs",
        units="units",
        ndc="ndc",
        icd10="icd10",
        modifier="modifier",
    )


def write_synth(lines: int, path: str | Path, seed: int = 0) -> int:
    """Write synthetic claims to Parquet or CSV (by extension); returns the number of lines."""
    from priorauth.claims.io import file_format

    frame = synth_claims(lines, seed)
    if file_format(path) == "parquet":
        frame.write_parquet(path)
    else:
        frame.write_csv(path)
    return frame.height
