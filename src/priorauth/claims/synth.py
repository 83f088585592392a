"""Synthetic claim histories for a policy, so anyone can try the audit (no real member data).

Everything comes from the policy: the HCPCS code, the NDC products, the covered
diagnosis codes, the cycle lengths and dose days of its Section V schedules, the units
of a label dose for a reference adult (170 cm, 70 kg), the cycle and unit limits (by cycle
number when they differ by authorization branch). Each
member starts treatment on a random day. About 5% of lines carry each kind of
violation: extra units, cycles beyond the limit, a foreign or ambiguous NDC, an
uncovered diagnosis, JW and JZ on the same day. Some lines of other drugs pass through.
Vectorised: 1e7 lines take seconds.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl

from priorauth.core import Policy, PolicyVersion, load_policy

FIRST_DAY = dt.date(2025, 7, 1)
# The reference adult whose label doses the synthetic lines carry.
REFERENCE = {"height_cm": Decimal(170), "weight_kg": Decimal(70), "bsa_m2": Decimal("1.8")}
# Diagnosis codes that no policy here covers, and lines of other drugs (HCPCS codes).
OTHER_ICD10 = ["C92.00", "Z51.11", "C91.1", "D61.810", "Z00.00"]
OTHER_HCPCS = ["J9035", "J1100", "96413"]


@dataclass(frozen=True)
class SynthSpec:
    """What the generator reads from a policy version."""

    hcpcs: str
    good_ndcs: list[str]
    bad_ndcs: list[str]
    good_icd10: list[str]
    bad_icd10: list[str]
    other_hcpcs: list[str]
    max_cycles: int
    max_units: int
    # Per cycle number (1..max_cycles + 2): its length and its (day offset, units) doses.
    lengths: list[int]
    doses: list[list[tuple[int, int]]]


def _ndc_forms(labeler: str, product: str) -> tuple[list[str], list[str]]:
    """Ways a claim writes the product's NDC (package 01), and near misses."""
    good = [f"{labeler}-{product}-01", f"{labeler}{product}01", f" {labeler}-{product}-01 "]
    if labeler.startswith("0"):
        good.append(f"{labeler[1:]}-{product}-01")
    if product.startswith("0"):
        good.append(f"{labeler}-{product[1:]}-01")
    other_labeler = f"{(int(labeler) + 61) % 100_000:05d}"
    other_product = f"{(int(product) + 1) % 10_000:04d}"
    bad = [f"{other_labeler}-{product}-01", f"{labeler[1:]}{product}01", f"{labeler}-{other_product}-01", "not-an-ndc"]
    return good, bad


def _icd10_forms(codes: list[str]) -> list[str]:
    """Covered codes as claims write them: as listed, lower case without the dot, among others, padded."""
    chosen = list(dict.fromkeys([codes[0], codes[len(codes) // 2], codes[-1]])) if codes else ["C00.0"]
    first = chosen[0]
    return [*chosen, first.lower().replace(".", ""), f"{chosen[-1]};Z51.11", f" {first} "]


def _dose_units(version: PolicyVersion, cycle: int) -> tuple[int, list[tuple[int, int]]]:
    """The cycle length and (day offset, units) of a reference adult's label doses in `cycle`."""
    dosing = version.dosing
    assert dosing is not None
    # The first schedule covering the cycle (whatever branch it is for); past every range, the last one.
    schedule = next((s for s in dosing.schedules if s.cycles.contains(cycle)), dosing.schedules[-1])
    unit = version.billing.hcpcs.unit_amount
    out = []
    for day in schedule.dose_days:
        lines = schedule.lines_on(day)
        line = next((li for li in lines if li.weight_kg is None or li.weight_kg.contains(REFERENCE["weight_kg"])),
                    lines[0])
        amount = line.amount
        if line.basis == "per_m2":
            amount *= REFERENCE["bsa_m2"]
        elif line.basis == "per_kg":
            amount *= REFERENCE["weight_kg"]
        if line.max_per_day is not None:
            amount = min(amount, line.max_per_day)
        out.append((day - 1, max(1, math.ceil(amount / unit))))
    return schedule.length_days, out


def synth_spec(policy: Policy | PolicyVersion | str) -> SynthSpec:
    """The generator's inputs from a policy (its latest version) or a policy id."""
    if isinstance(policy, str):
        policy = load_policy(policy)
    version = policy if isinstance(policy, PolicyVersion) else policy.latest
    if version.dosing is None:
        raise ValueError(f"policy {version.id} has no dosing rules to build claims from")
    from priorauth.claims.edits import ClaimRules, covered_diagnoses

    product = version.billing.ndc[0]
    good_ndcs, bad_ndcs = _ndc_forms(product.labeler, product.product)
    covered = sorted(covered_diagnoses(version))
    rules = ClaimRules.from_policy(version)
    # Limits that differ by authorization branch: the Section II table by cycle number.
    max_cycles = rules.last_cycle if rules.by_branch else int(version.parameter("max_cycles"))
    max_units = min(rules.cycle_units) if rules.by_branch else int(version.parameter("max_units"))
    lengths, doses = [], []
    for cycle in range(1, max_cycles + 3):
        length, days = _dose_units(version, cycle)
        lengths.append(length)
        doses.append(days)
    hcpcs = version.billing.hcpcs.code
    return SynthSpec(
        hcpcs=hcpcs,
        good_ndcs=good_ndcs,
        bad_ndcs=bad_ndcs,
        good_icd10=_icd10_forms(covered),
        bad_icd10=[c for c in OTHER_ICD10 if c not in covered],
        other_hcpcs=[c for c in OTHER_HCPCS if c != hcpcs],
        max_cycles=max_cycles,
        max_units=max_units,
        lengths=lengths,
        doses=doses,
    )


def _uniform(index: pl.Expr, seed: int, salt: int) -> pl.Expr:
    """A deterministic pseudo-random number in [0, 1) per index."""
    return (index.hash(seed * 1_000_003 + salt) % 1_000_000).cast(pl.Float64) / 1_000_000


def _pick(choices: list[str], u: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(choices)).gather((u * len(choices)).cast(pl.Int64).clip(0, len(choices) - 1))


def synth_claims(policy: Policy | PolicyVersion | str, lines: int, seed: int = 0) -> pl.DataFrame:
    """About `lines` claim lines for `policy` (exactly `lines` once trimmed), sorted by service date."""
    if lines < 0:
        raise ValueError("the number of lines must be at least 0")
    spec = synth_spec(policy)
    per_member = sum(len(d) for d in spec.doses[: spec.max_cycles]) * 0.6 + 1
    members = max(1, int(lines / per_member) + 1)  # overshoot, then trim
    starts = [0]
    for length in spec.lengths[:-1]:
        starts.append(starts[-1] + length)
    plan = pl.DataFrame(
        [(c, starts[c] + offset, units) for c, days in enumerate(spec.doses) for offset, units in days],
        schema={"cycle": pl.Int32, "offset": pl.Int32, "label_units": pl.Int64},
        orient="row",
    )
    first_dose = plan.group_by("cycle").agg(pl.col("offset").min().alias("first_offset"))
    plan = plan.join(first_dose, on="cycle").with_columns(first=pl.col("offset") == pl.col("first_offset"))
    extra_cycles = spec.max_cycles + 1
    m = pl.DataFrame({"m": pl.int_range(members, eager=True, dtype=pl.Int64)}).with_columns(
        start=(_uniform(pl.col("m"), seed, 1) * 365).cast(pl.Int32),
        cycles=pl.when(_uniform(pl.col("m"), seed, 2) < 0.12)
        .then(extra_cycles + (_uniform(pl.col("m"), seed, 3) * 2).cast(pl.Int32))
        .otherwise(2 + (_uniform(pl.col("m"), seed, 4) * (spec.max_cycles - 1)).cast(pl.Int32)),
        jitter=(_uniform(pl.col("m"), seed, 5) * 4).cast(pl.Int64),
    )
    doses = (
        m.with_columns(cycle=pl.int_ranges(0, pl.col("cycles"), dtype=pl.Int32))
        .explode("cycle")
        .join(plan, on="cycle", how="inner")
        .sort("m", "cycle", "offset")
        .with_columns(
            day=pl.col("start") + pl.col("offset"),
            units=pl.col("label_units") + pl.when(pl.col("first")).then(pl.col("jitter")).otherwise(0),
        )
        .with_row_index("i")
        .with_columns(pl.col("i").cast(pl.Int64))
    )
    i = pl.col("i")
    over = math.ceil(spec.max_units * 2 / 3)
    # Extra units on about 5% of the cycles of a drug dosed three times a cycle: a drug infused daily
    # gets them on proportionally fewer lines (one over-dosed line spoils the rest of its window).
    dose_days = sum(len(d) for d in spec.doses[: spec.max_cycles]) / max(1, min(spec.max_cycles, len(spec.doses)))
    over_rate = 0.05 * min(1.0, 3 / max(dose_days, 1))
    doses = doses.with_columns(
        units=pl.when(_uniform(i, seed, 10) < over_rate).then(pl.col("units") + over).otherwise(pl.col("units")),
        ndc=pl.when(_uniform(i, seed, 11) < 0.05)
        .then(_pick(spec.bad_ndcs, _uniform(i, seed, 12)))
        .otherwise(_pick(spec.good_ndcs, _uniform(i, seed, 13))),
        icd10=pl.when(_uniform(i, seed, 14) < 0.05)
        .then(_pick(spec.bad_icd10, _uniform(i, seed, 15)))
        .otherwise(_pick(spec.good_icd10, _uniform(i, seed, 16))),
        modifier=pl.lit("JZ"),
        hcpcs=pl.lit(spec.hcpcs),
        waste=_uniform(i, seed, 17) < 0.05,
        other=_uniform(i, seed, 18) < 0.05,
    )
    # JW line for discarded drug on the same day as a JZ line: the waste edit.
    waste = doses.filter("waste").with_columns(modifier=pl.lit("JW"), units=pl.lit(2, dtype=pl.Int64))
    other = doses.filter("other").with_columns(
        hcpcs=_pick(spec.other_hcpcs, _uniform(i, seed, 19)), ndc=pl.lit(None, dtype=pl.String),
        modifier=pl.lit(None),
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


def write_synth(policy: Policy | PolicyVersion | str, lines: int, path: str | Path, seed: int = 0) -> int:
    """Write synthetic claims for `policy` to Parquet or CSV (by extension); returns the number of lines."""
    from priorauth.claims.io import file_format

    frame = synth_claims(policy, lines, seed)
    if file_format(path) == "parquet":
        frame.write_parquet(path)
    else:
        frame.write_csv(path)
    return frame.height
