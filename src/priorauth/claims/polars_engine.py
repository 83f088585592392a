"""The claims audit on Polars: one sort of the policy's lines, then prefix sums and searches.

Policy lines are sorted once by a packed integer key (member, day). In that order:
- rolling units = prefix-sum difference between the end of the line's day and the
  first line at or after day - (window - 1), found by binary search;
- cycles = a chain of cycle starts walked for all members at once (one step per
  cycle, not per line): from a start, the next start is the first line whose key is
  at least start + window within the member;
- JW/JZ on the same day = prefix sums over each (member, day) run.
String work (ICD-10, NDC, modifiers) is done once per distinct value.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from priorauth.claims import vector_codes as vc
from priorauth.claims.edits import EDIT_CODES, ClaimRules, DatedLimit
from priorauth.claims.schema import (
    AUTH_COLUMNS,
    CLAIM_COLUMNS,
    DATE_PATTERN,
    END_BEFORE_START,
    MISSING,
    NEGATIVE_UNITS,
    NOT_A_DATE,
    NOT_WHOLE_UNITS,
    REQUIRED_VALUES,
    UNITS_PATTERN,
    ClaimInputError,
    RowError,
    error_order,
)

Progress = Callable[[str], None]
DAY_BITS = 22  # days since the earliest line fit in 22 bits (11,000 years)
BIT = {code: 1 << i for i, code in enumerate(EDIT_CODES)}
EDIT_LISTS = pl.Series(
    "edits",
    [[code for code in EDIT_CODES if mask & BIT[code]] for mask in range(1 << len(EDIT_CODES))],
    dtype=pl.List(pl.String),
)
_INTEGER_TYPES = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)


def _text(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name) if dtype == pl.String else pl.col(name).cast(pl.String)
    stripped = vc.strip(col)
    return pl.when(stripped != "").then(stripped)


def _day(name: str, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """(day number, problem) for a date column of any type."""
    if dtype == pl.Date:
        return pl.col(name).cast(pl.Int32), pl.when(pl.col(name).is_null()).then(pl.lit(MISSING))
    if isinstance(dtype, pl.Datetime):
        return pl.col(name).dt.date().cast(pl.Int32), pl.when(pl.col(name).is_null()).then(pl.lit(MISSING))
    text = _text(name, dtype)
    day = pl.when(text.str.contains(DATE_PATTERN)).then(text.str.to_date("%Y-%m-%d", strict=False)).cast(pl.Int32)
    problem = pl.when(text.is_null()).then(pl.lit(MISSING)).when(day.is_null()).then(pl.lit(NOT_A_DATE))
    return day, problem


def _units(name: str, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """(whole units, problem) for a units column of any type."""
    col = pl.col(name)
    if dtype in _INTEGER_TYPES:
        units = col.cast(pl.Int64, strict=False)
        bad = pl.when(col.is_null()).then(pl.lit(MISSING))
    elif dtype in (pl.Float32, pl.Float64):
        whole = col.is_finite() & (col == col.floor()) & (col.abs() < 1e15)
        units = pl.when(whole).then(col.cast(pl.Int64, strict=False))
        bad = pl.when(col.is_null()).then(pl.lit(MISSING)).when(~whole).then(pl.lit(NOT_WHOLE_UNITS))
    else:
        text = _text(name, dtype)
        units = pl.when(text.str.contains(UNITS_PATTERN)).then(text.cast(pl.Int64, strict=False))
        bad = pl.when(text.is_null()).then(pl.lit(MISSING)).when(units.is_null()).then(pl.lit(NOT_WHOLE_UNITS))
    problem = pl.when(bad.is_not_null()).then(bad).when(units < 0).then(pl.lit(NEGATIVE_UNITS))
    return units, problem


def check_columns(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ClaimInputError(f"{what}: missing column(s) {', '.join(missing)} (expected {', '.join(columns)})")


def _collect_errors(frame: pl.DataFrame, columns: tuple[str, ...], source: str) -> list[RowError]:
    problems = [f"!{c}" for c in columns if f"!{c}" in frame.columns]
    bad = frame.filter(pl.any_horizontal(pl.col(p).is_not_null() for p in problems)).select("row", *problems)
    errors = []
    for record in bad.iter_rows(named=True):
        for p in problems:
            if record[p] is not None:
                errors.append(RowError(record["row"], p[1:], record[p], source))
    return errors


def validate_claims(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[RowError]]:
    """Good rows as (row, claim_id, member, day, units, hcpcs, ndc, icd10, modifier) and row errors."""
    check_columns(frame, CLAIM_COLUMNS, "claims")
    schema = frame.schema
    day, day_problem = _day("service_date", schema["service_date"])
    units, units_problem = _units("units", schema["units"])
    parsed = [
        day.alias("day"),
        day_problem.alias("!service_date"),
        units.alias("units_n"),
        units_problem.alias("!units"),
    ]
    for name in ("claim_id", "member_id", "hcpcs", "ndc", "icd10", "modifier"):
        parsed.append(_text(name, schema[name]).alias(f"t_{name}"))
    out = frame.with_row_index("row", offset=1).select(pl.col("row").cast(pl.Int64), *parsed)
    out = out.with_columns(
        pl.when(pl.col(f"t_{name}").is_null()).then(pl.lit(MISSING)).alias(f"!{name}")
        for name in REQUIRED_VALUES
        if name not in ("service_date", "units")
    )
    problems = [f"!{c}" for c in CLAIM_COLUMNS if f"!{c}" in out.columns]
    ok = pl.all_horizontal(pl.col(p).is_null() for p in problems)
    errors = _collect_errors(out, CLAIM_COLUMNS, "claims")
    good = out.filter(ok).select(
        "row",
        pl.col("t_claim_id").alias("claim_id"),
        pl.col("t_member_id").alias("member"),
        "day",
        pl.col("units_n").alias("units"),
        pl.col("t_hcpcs").str.to_uppercase().alias("hcpcs"),
        pl.col("t_ndc").alias("ndc"),
        pl.col("t_icd10").alias("icd10"),
        pl.col("t_modifier").alias("modifier"),
    )
    return good, errors


def validate_authorizations(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[RowError]]:
    """Good authorizations as (member, start, end) day numbers, and row errors."""
    check_columns(frame, AUTH_COLUMNS, "authorizations")
    schema = frame.schema
    start, start_problem = _day("start", schema["start"])
    end, end_problem = _day("end", schema["end"])
    member = _text("member_id", schema["member_id"])
    out = frame.with_row_index("row", offset=1).select(
        pl.col("row").cast(pl.Int64),
        member.alias("member"),
        start.alias("start"),
        end.alias("end"),
        pl.when(member.is_null()).then(pl.lit(MISSING)).alias("!member_id"),
        start_problem.alias("!start"),
        pl.when(end_problem.is_not_null())
        .then(end_problem)
        .when(start_problem.is_null() & (end < start))
        .then(pl.lit(END_BEFORE_START))
        .alias("!end"),
    )
    errors = _collect_errors(out, AUTH_COLUMNS, "authorizations")
    good = out.filter(pl.col("!member_id").is_null() & pl.col("!start").is_null() & pl.col("!end").is_null())
    return good.select("member", "start", "end"), errors


def _per_distinct(values: pl.Series, compute: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """compute() on each distinct value once, mapped back to every row."""
    distinct = values.unique()
    mapped = pl.DataFrame({"v": distinct}).select(compute(pl.col("v"))).to_series()
    return values.replace_strict(distinct, mapped, return_dtype=mapped.dtype)


def _limit_at(limit: DatedLimit, days: pl.Series) -> pl.Series | int:
    if len(limit.values) == 1:
        return limit.values[0]
    position = pl.Series(limit.effective_days).search_sorted(days, side="right").cast(pl.Int64) - 1
    return pl.Series(limit.values).gather(position.clip(lower_bound=0))


def _prefix(values: pl.Series) -> pl.Series:
    """Exclusive prefix sums: element i is the sum of values[:i]; length n + 1."""
    return pl.concat([pl.Series([0], dtype=pl.Int64), values.cast(pl.Int64).cum_sum()])


def _sorted_keys(member: pl.Series, day_off: pl.Series) -> tuple[pl.Series, pl.Series]:
    """(permutation, sorted keys) for the packed (member, day) key.

    The member part is a 41-bit hash; if two members share it (checked), the exact
    dense member code is used instead.
    """
    prefix = member.hash(seed=0) // (1 << (DAY_BITS + 1))  # keeps keys below 2**63
    for attempt in range(2):
        keys = prefix.cast(pl.Int64) * (1 << DAY_BITS) + day_off
        order = keys.arg_sort()
        keys_sorted = keys.gather(order)
        member_run = (keys_sorted // (1 << DAY_BITS)).rle_id()
        firsts = pl.arg_where((keys_sorted // (1 << DAY_BITS)).diff().fill_null(1) != 0, eager=True)
        members_sorted = member.gather(order)
        if attempt == 1 or (members_sorted == members_sorted.gather(firsts.gather(member_run))).all():
            return order, keys_sorted
        prefix = member.cast(pl.Categorical(pl.Categories.random())).to_physical()
    raise AssertionError("unreachable")


def _policy_line_edits(p: pl.DataFrame, rules: ClaimRules, auths: pl.DataFrame | None) -> pl.DataFrame:
    """rolling_units, cycle and edit mask for policy lines, in the order of `p`."""
    n = p.height
    window = rules.window_days
    if n == 0:
        return pl.DataFrame(schema={"rolling_units": pl.Int64, "cycle": pl.Int64, "mask": pl.UInt8})
    low = p["day"].min()
    day_off = (p["day"] - low + window + 1).cast(pl.Int64)
    if day_off.max() + window >= 1 << DAY_BITS:
        raise ClaimInputError("claims: service dates span more than 11,000 years")
    order, keys = _sorted_keys(p["member"], day_off)
    positions = pl.int_range(n, eager=True, dtype=pl.Int64)

    # (member, day) runs and member runs in sorted order
    day_run = keys.rle_id()
    day_first = pl.arg_where(keys.diff().fill_null(1) != 0, eager=True).cast(pl.Int64)
    day_end = day_first.shift(-1, fill_value=n)
    line_day_first = day_first.gather(day_run)
    line_day_end = day_end.gather(day_run)
    member_keys = keys // (1 << DAY_BITS)
    member_first = pl.arg_where(member_keys.diff().fill_null(1) != 0, eager=True).cast(pl.Int64)
    member_end = member_first.shift(-1, fill_value=n)
    line_member_first = member_first.gather(member_keys.rle_id())

    # rolling units: all lines of the member with day in [day - (window - 1), day]
    units = p["units"].gather(order)
    window_first = keys.search_sorted(keys.gather(day_first) - (window - 1), side="left").cast(pl.Int64)
    prefix_units = _prefix(units)
    rolling = prefix_units.gather(line_day_end) - prefix_units.gather(window_first.gather(day_run))

    # cycles: walk the chain of cycle starts, all members in step
    starts = []
    current, current_end = member_first, member_end
    while current.len():
        starts.append(current)
        following = keys.search_sorted(keys.gather(current) + window, side="left").cast(pl.Int64)
        inside = following < current_end
        current, current_end = following.filter(inside), current_end.filter(inside)
    is_start = pl.zeros(n, dtype=pl.Int64, eager=True).scatter(pl.concat(starts), 1)
    started = is_start.cum_sum()
    cycle = started - started.gather(line_member_first) + 1

    day = p["day"].gather(order)
    mask = pl.zeros(n, dtype=pl.UInt8, eager=True)

    def flag(code: str, condition: pl.Series) -> None:
        nonlocal mask
        mask = mask | (condition.cast(pl.UInt8) * BIT[code])

    covered_codes = pl.Series(sorted(rules.covered_icd10), dtype=pl.String)
    covered = _per_distinct(
        p["icd10"],
        lambda v: v.str.split(";").list.eval(vc.icd10(pl.element()).is_in(covered_codes.implode())).list.any().fill_null(False),
    )
    flag("ICD10_NOT_COVERED", ~covered.gather(order))
    ndc_ok = _per_distinct(p["ndc"], lambda v: vc.ndc_matches_any(vc.ndc11(v), rules.ndc_patterns))
    flag("NDC_MISMATCH", ~ndc_ok.gather(order))
    flag("UNITS_OVER_LIMIT", rolling > _limit_at(rules.max_units, day))
    flag("CYCLE_LIMIT", cycle > _limit_at(rules.max_cycles, day))

    if auths is not None:
        member = p["member"].gather(order)
        has_auth = member.is_in(auths["member"].unique().implode())
        inside = (
            pl.DataFrame({"i": positions, "member": member, "day": day})
            .filter(has_auth)
            .join(auths, on="member", how="inner")
            .filter((pl.col("start") <= pl.col("day")) & (pl.col("day") <= pl.col("end")))
            .get_column("i")
            .unique()
        )
        flag("NO_AUTHORIZATION", ~has_auth)
        flag("OUTSIDE_AUTHORIZATION", has_auth & ~positions.is_in(inside.implode()))

    def modifier_on_day(code: str) -> pl.Series:
        billed = _per_distinct(
            p["modifier"],
            lambda v: v.str.split(";").list.eval(vc.strip(pl.element()).str.to_uppercase()).list.contains(code),
        )
        billed_prefix = _prefix(billed.fill_null(False).gather(order))
        return (billed_prefix.gather(line_day_end) - billed_prefix.gather(line_day_first)) > 0

    flag("WASTE_MODIFIER", modifier_on_day("JW") & modifier_on_day("JZ"))

    back = pl.zeros(n, dtype=pl.Int64, eager=True).scatter(order, positions)  # inverse permutation
    return pl.DataFrame({"rolling_units": rolling.gather(back), "cycle": cycle.gather(back), "mask": mask.gather(back)})


def audit_lines(
    good: pl.DataFrame, rules: ClaimRules, auths: pl.DataFrame | None = None, progress: Progress | None = None
) -> pl.DataFrame:
    """Output lines (row, claim_id, rolling_units, cycle, edits, units) for validated rows, in row order."""
    is_policy = good["hcpcs"] == rules.hcpcs
    policy_at = is_policy.arg_true()
    edits = _policy_line_edits(good.filter(is_policy), rules, auths)
    if progress:
        progress("edits")
    n = good.height
    rolling = pl.repeat(None, n, dtype=pl.Int64, eager=True).scatter(policy_at, edits["rolling_units"])
    cycle = pl.repeat(None, n, dtype=pl.Int64, eager=True).scatter(policy_at, edits["cycle"])
    mask = pl.zeros(n, dtype=pl.UInt8, eager=True).scatter(policy_at, edits["mask"])
    return pl.DataFrame(
        {
            "row": good["row"],
            "claim_id": good["claim_id"],
            "rolling_units": rolling,
            "cycle": cycle,
            "edits": EDIT_LISTS.gather(mask),
            "units": good["units"],
            "member": good["member"],
        }
    )


def audit_frames(
    claims: pl.DataFrame,
    rules: ClaimRules,
    authorizations: pl.DataFrame | None = None,
    progress: Progress | None = None,
) -> tuple[pl.DataFrame, list[RowError]]:
    """Validate and audit in-memory frames; returns (lines with units and member, errors)."""
    good, errors = validate_claims(claims)
    auths = None
    if authorizations is not None:
        auths, auth_errors = validate_authorizations(authorizations)
        errors += auth_errors
    if progress:
        progress("validated")
    return audit_lines(good, rules, auths, progress), sorted(errors, key=error_order)
