"""The claims audit on Polars: one sort of the policy's lines, then one-pass window sums and searches.

Policy lines are sorted once by a packed integer key (member, day): the day offset in as few
low bits as the dates need, a member hash in the rest. In that order:
- rolling units = a rolling sum over the key (`rolling_sum_by`, window of `unit_window_days`):
  members' keys are further apart than any window (less the same sum over JW units on dates
  the policy does not count waste); with a window per line (limits by branch), prefix-sum
  differences between binary-searched bounds;
- cycles = a chain of cycle starts walked for all members at once (one step per cycle, not
  per line): from a start, the next start is the first line whose key is at least start +
  the cycle's length (its schedule's) within the member;
- JW/JZ on the same day = the same rolling sum over one day.
String work (ICD-10, NDC, modifiers) is done once per distinct value; gathers into and out
of key order run as one select each, so they use every core.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

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
    UNITS_PATTERN,
    UNKNOWN_BRANCH,
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


PROBLEMS = {1: MISSING, 2: NOT_A_DATE, 3: NOT_WHOLE_UNITS, 4: NEGATIVE_UNITS, 5: END_BEFORE_START, 6: UNKNOWN_BRANCH}
_OK = pl.lit(0, dtype=pl.UInt8)


def _code(condition: pl.Expr, code: int) -> pl.Expr:
    return pl.when(condition).then(pl.lit(code, dtype=pl.UInt8))


def _raw_text(name: str, dtype: pl.DataType) -> pl.Expr:
    return pl.col(name) if dtype == pl.String else pl.col(name).cast(pl.String)


def _text(name: str, dtype: pl.DataType) -> pl.Expr:
    stripped = vc.strip(_raw_text(name, dtype))
    return pl.when(stripped != "").then(stripped)


def _day(name: str, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """(day number, problem code) for a date column of any type."""
    if dtype == pl.Date:
        return pl.col(name).cast(pl.Int32), _code(pl.col(name).is_null(), 1).fill_null(_OK)
    if isinstance(dtype, pl.Datetime):
        return pl.col(name).dt.date().cast(pl.Int32), _code(pl.col(name).is_null(), 1).fill_null(_OK)
    text = _text(name, dtype)
    day = pl.when(text.str.contains(DATE_PATTERN)).then(text.str.to_date("%Y-%m-%d", strict=False)).cast(pl.Int32)
    problem = (
        pl.when(text.is_null()).then(pl.lit(1, dtype=pl.UInt8)).when(day.is_null()).then(pl.lit(2, dtype=pl.UInt8))
    )
    return day, problem.fill_null(_OK)


def _units(name: str, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """(whole units, problem code) for a units column of any type."""
    col = pl.col(name)
    if dtype in _INTEGER_TYPES:
        units = col.cast(pl.Int64, strict=False)
        bad = _code(col.is_null(), 1)
    elif dtype in (pl.Float32, pl.Float64):
        whole = col.is_finite() & (col == col.floor()) & (col.abs() < 1e15)
        units = pl.when(whole).then(col.cast(pl.Int64, strict=False))
        bad = pl.when(col.is_null()).then(pl.lit(1, dtype=pl.UInt8)).when(~whole).then(pl.lit(3, dtype=pl.UInt8))
    else:
        text = _text(name, dtype)
        units = pl.when(text.str.contains(UNITS_PATTERN)).then(text.cast(pl.Int64, strict=False))
        bad = (
            pl.when(text.is_null())
            .then(pl.lit(1, dtype=pl.UInt8))
            .when(units.is_null())
            .then(pl.lit(3, dtype=pl.UInt8))
        )
    problem = pl.when(bad.is_not_null()).then(bad).when(units < 0).then(pl.lit(4, dtype=pl.UInt8))
    return units, problem.fill_null(_OK)


def check_columns(columns_present: list[str], columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in columns_present]
    if missing:
        raise ClaimInputError(f"{what}: missing column(s) {', '.join(missing)} (expected {', '.join(columns)})")


def _collect_errors(frame: pl.DataFrame, columns: tuple[str, ...], source: str) -> list[RowError]:
    problems = [f"!{c}" for c in columns if f"!{c}" in frame.columns]
    bad = frame.filter(pl.any_horizontal(pl.col(p) > 0 for p in problems)).select("row", *problems)
    errors = []
    for record in bad.iter_rows(named=True):
        for p in problems:
            if record[p]:
                errors.append(RowError(record["row"], p[1:], PROBLEMS[record[p]], source))
    return errors


def _bills(hcpcs: str) -> Callable[[pl.Expr], pl.Expr]:
    return lambda v: (vc.strip(v).str.to_uppercase() == hcpcs).fill_null(False)


def _ndc_of(patterns: tuple[str, ...]) -> Callable[[pl.Expr], pl.Expr]:
    return lambda v: vc.ndc_ok(v, patterns)


def _covered_by(codes: frozenset[str]) -> Callable[[pl.Expr], pl.Expr]:
    covered = pl.Series(sorted(codes), dtype=pl.String).implode()
    return lambda v: v.str.split(";").list.eval(vc.icd10(pl.element()).is_in(covered)).list.any().fill_null(False)


def _lookups(claims: pl.LazyFrame, schema: pl.Schema, rules: tuple[ClaimRules, ...]) -> dict[str, pl.Expr]:
    """Per-row flags from the distinct values of the code columns (one streaming pass to find them).

    `policy` is the position in `rules` of the policy whose HCPCS code the row bills (-1: none);
    `ndc_ok` and `icd_ok` are checked against that policy's products and covered codes.
    """
    columns = ("hcpcs", "ndc", "icd10", "modifier")
    distinct = claims.select(_raw_text(c, schema[c]).unique().implode() for c in columns).collect(engine="streaming")

    def modifier(code: str) -> Callable[[pl.Expr], pl.Expr]:
        return lambda v: v.str.split(";").list.eval(vc.strip(pl.element()).str.to_uppercase()).list.contains(code)

    def flag(column: str, compute: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
        values = distinct[column][0]
        mapped = pl.DataFrame({"v": values}, schema={"v": pl.String}).select(compute(pl.col("v"))).to_series()
        # is_in against the distinct values that are true keeps the scan streaming (replace_strict does not)
        true_values = values.filter(mapped & values.is_not_null())
        null_flag = bool(mapped.filter(values.is_null()).any())
        raw = _raw_text(column, schema[column])
        return pl.when(raw.is_null()).then(pl.lit(null_flag)).otherwise(raw.is_in(true_values.implode()))

    flags: dict[str, pl.Expr] = {
        "!hcpcs": flag("hcpcs", lambda v: _text("v", pl.String()).is_null()).cast(pl.UInt8),
        "jw": flag("modifier", lambda v: modifier("JW")(v).fill_null(False)),
        "jz": flag("modifier", lambda v: modifier("JZ")(v).fill_null(False)),
    }
    policy: pl.Expr = pl.lit(-1, dtype=pl.Int8)
    ndc_ok: pl.Expr = pl.lit(False)
    icd_ok: pl.Expr = pl.lit(False)
    for k, r in reversed(list(enumerate(rules))):
        bills = flag("hcpcs", _bills(r.hcpcs))
        policy = pl.when(bills).then(pl.lit(k, dtype=pl.Int8)).otherwise(policy)
        ndc_ok = pl.when(bills).then(flag("ndc", _ndc_of(r.ndc_patterns))).otherwise(ndc_ok)
        icd_ok = pl.when(bills).then(flag("icd10", _covered_by(r.covered_icd10))).otherwise(icd_ok)
    flags.update(policy=policy, ndc_ok=ndc_ok, icd_ok=icd_ok)
    return flags


def validate_claims(
    claims: pl.LazyFrame, rules: ClaimRules | tuple[ClaimRules, ...], ids: bool = True
) -> tuple[pl.DataFrame, list[RowError]]:
    """Good rows as numbers and flags (row, claim_id, h1, h2, day, units, policy, ...) and row errors.

    Only `claim_id` stays text (left out with `ids=False`); members become two independent 64-bit hashes.
    """
    every = rules if isinstance(rules, tuple) else (rules,)
    schema = claims.collect_schema()
    check_columns(list(schema), CLAIM_COLUMNS, "claims")
    day, day_problem = _day("service_date", schema["service_date"])
    units, units_problem = _units("units", schema["units"])
    member = _text("member_id", schema["member_id"])
    flags = _lookups(claims, schema, every)
    out = (
        claims.with_row_index("row", offset=1)
        .select(
            "row",
            *([_raw_text("claim_id", schema["claim_id"]).alias("claim_id")] if ids else []),
            _code(_text("claim_id", schema["claim_id"]).is_null(), 1).fill_null(_OK).alias("!claim_id"),
            _code(member.is_null(), 1).fill_null(_OK).alias("!member_id"),
            member.hash(seed=0).alias("h1"),
            member.hash(seed=1).alias("h2"),
            day.alias("day"),
            day_problem.alias("!service_date"),
            units.alias("units"),
            units_problem.alias("!units"),
            *[expr.alias(name) for name, expr in flags.items()],
        )
        .collect(engine="streaming")
    )
    errors = _collect_errors(out, CLAIM_COLUMNS, "claims")
    problems = [f"!{c}" for c in CLAIM_COLUMNS if f"!{c}" in out.columns]
    if errors:
        out = out.filter(pl.all_horizontal(pl.col(p) == 0 for p in problems))
    return out.drop(problems), errors


def validate_authorizations(
    frame: pl.LazyFrame, rules: tuple[ClaimRules, ...] = ()
) -> tuple[pl.DataFrame, list[RowError]]:
    """Good authorizations as (h1, h2, start, end, hcpcs, branch, row), and row errors.

    `hcpcs` (upper case) and `branch` are null when the optional columns are absent or empty;
    a branch must be an authorization branch of an audited policy (of the row's code's policy).
    """
    schema = frame.collect_schema()
    check_columns(list(schema), AUTH_COLUMNS, "authorizations")
    start, start_problem = _day("start", schema["start"])
    end, end_problem = _day("end", schema["end"])
    member = _text("member_id", schema["member_id"])
    hcpcs = _text("hcpcs", schema["hcpcs"]).str.to_uppercase() if "hcpcs" in schema else pl.lit(None, pl.String)
    branch = _text("branch", schema["branch"]) if "branch" in schema else pl.lit(None, pl.String)
    known = pl.lit(False)
    for r in rules:
        ids = pl.Series([b.branch for b in r.branches], dtype=pl.String).implode()
        others = [x.hcpcs for x in rules]
        owner = (hcpcs == r.hcpcs) | hcpcs.is_null() | ~hcpcs.is_in(pl.Series(others, dtype=pl.String).implode())
        known = known | (owner.fill_null(True) & branch.is_in(ids))
    out = (
        frame.with_row_index("row", offset=1)
        .select(
            "row",
            member.hash(seed=0).alias("h1"),
            member.hash(seed=1).alias("h2"),
            start.alias("start"),
            end.alias("end"),
            hcpcs.alias("hcpcs"),
            branch.alias("branch"),
            _code(member.is_null(), 1).fill_null(_OK).alias("!member_id"),
            start_problem.alias("!start"),
            pl.when(end_problem > 0)
            .then(end_problem)
            .when((start_problem == 0) & (end < start))
            .then(pl.lit(5, dtype=pl.UInt8))
            .otherwise(_OK)
            .alias("!end"),
            _code(branch.is_not_null() & ~known, 6).fill_null(_OK).alias("!branch"),
        )
        .collect()
    )
    errors = _collect_errors(out, (*AUTH_COLUMNS, "branch"), "authorizations")
    ok = pl.all_horizontal(pl.col(f"!{c}") == 0 for c in (*AUTH_COLUMNS, "branch"))
    good = out.filter(ok)
    return good.select("h1", "h2", "start", "end", "hcpcs", "branch", pl.col("row").cast(pl.Int64)), errors


def _limit_at(limit: DatedLimit, days: pl.Series) -> pl.Series | int:
    if len(limit.values) == 1:
        return limit.values[0]
    # values[0] again in front: position 0 (before the first effective day) takes the first value
    return pl.Series([limit.values[0], *limit.values]).gather(
        pl.Series(limit.effective_days).search_sorted(days, side="right")
    )


def _prefix(values: pl.Series) -> pl.Series:
    """Exclusive prefix sums: element i is the sum of values[:i]; length n + 1."""
    return pl.concat([pl.Series([0], dtype=pl.Int64), values.cast(pl.Int64).cum_sum()])


def _sorted_keys(
    h1: pl.Series, h2: pl.Series, day_off: pl.Series, exact_codes: Callable[[], pl.Series], day_bits: int = DAY_BITS
) -> tuple[pl.Series, pl.Series]:
    """(permutation, sorted keys) for the packed (member, day) key: member in the top bits, the day
    offset in the low `day_bits` (as few as the dates need, so the member part is as wide as it can be).

    The member part is the top 63 - `day_bits` bits of one hash; a member is its two independent
    hashes (h1, h2). The second must be constant over each member run: where it is not (two members
    share the prefix), the members after the first of the run get prefixes no member uses and the
    keys are sorted again; should that fail, the exact member codes from `exact_codes()` are used.
    """
    prefix = (h1 // (1 << (day_bits + 1))).cast(pl.Int64)  # keeps keys below 2**63
    for attempt in range(3):
        keys = prefix * (1 << day_bits) + day_off
        order = keys.arg_sort()
        keys = keys.gather(order)
        if attempt == 2:
            return order, keys
        member_keys = keys // (1 << day_bits)
        check = h2.gather(order)
        member, second = pl.lit(member_keys), pl.lit(check)
        if not pl.select(((member == member.shift(1)) & (second != second.shift(1))).any()).item():
            return order, keys  # the second hash is constant over every member run
        firsts = pl.arg_where(member_keys.diff().fill_null(1) != 0, eager=True)
        shared = check != check.gather(firsts.gather(member_keys.rle_id()))
        if attempt == 1:
            prefix = exact_codes()
            continue
        moved = pl.DataFrame({"h1": h1.gather(order).filter(shared), "h2": check.filter(shared)}).unique(
            maintain_order=True
        )
        unused = pl.int_range(0, 2 * moved.height + 64, eager=True, dtype=pl.Int64)
        unused = unused.filter(~unused.is_in(member_keys.gather(firsts).implode())).head(moved.height)
        moved = moved.head(unused.len()).with_columns(new=unused)
        at = h1.is_in(moved["h1"].implode()).arg_true()  # the lines of the members sharing a prefix
        found = pl.DataFrame({"h1": h1.gather(at), "h2": h2.gather(at)}).join(
            moved, on=["h1", "h2"], how="left", maintain_order="left"
        )["new"]
        prefix = prefix.scatter(at, found.fill_null(prefix.gather(at)))
        del member_keys, firsts, check, shared
    raise AssertionError("unreachable")


def _key_sums(keys: pl.Series, values: pl.Series, days: int) -> pl.Series:
    """Per line, the sum of `values` over the member's lines dated within `days` days ending on its
    date: one pass over the sorted keys (members are further apart than any window)."""
    frame = pl.DataFrame({"k": keys, "v": values})
    return frame.select(pl.col("v").rolling_sum_by("k", f"{days}i", closed="right")).to_series()


def _runs(keys: pl.Series) -> tuple[pl.Series, pl.Series, pl.Series]:
    """(run id per line, first index of each run, end index of each run) of equal sorted keys."""
    first = pl.arg_where(keys.diff().fill_null(1) != 0, eager=True)
    return keys.rle_id(), first, first.shift(-1, fill_value=keys.len())


def _branch_of_lines(lines: pl.DataFrame, auths: pl.DataFrame, rules: ClaimRules) -> pl.Series:
    """Per line (sorted order), the index in `rules.branches` of the authorization it falls under:
    the covering authorization with the latest start (then the first row); -1 when none names one."""
    n = lines.height
    if not rules.by_branch or auths.height == 0:
        return pl.repeat(-1, n, dtype=pl.Int64, eager=True)
    index = {b.branch: i for i, b in enumerate(rules.branches)}
    chosen = (
        lines.join(auths, on=["h1", "h2"], how="inner")
        .filter((pl.col("start") <= pl.col("day")) & (pl.col("day") <= pl.col("end")))
        .sort(["i", "start", "row"], descending=[False, True, False])
        .unique("i", keep="first", maintain_order=True)
        .select("i", pl.col("branch").replace_strict(index, default=-1, return_dtype=pl.Int64).alias("b"))
    )
    return pl.repeat(-1, n, dtype=pl.Int64, eager=True).scatter(chosen["i"], chosen["b"])


def _policy_line_edits(
    p: pl.DataFrame, rules: ClaimRules, auths: pl.DataFrame | None, exact_codes: Callable[[], pl.Series]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """rolling_units, cycle and edit mask for policy lines, in the order of `p`; and the members (h1, h2).

    `auths` are the authorizations that apply to this policy's lines (h1, h2, start, end, branch, row).
    """
    n = p.height
    window = rules.longest_window
    if n == 0:
        schema = {"rolling_units": pl.Int64, "cycle": pl.Int64, "mask": pl.UInt8}
        return pl.DataFrame(schema=schema), p.select("h1", "h2")
    day_off = (p["day"] - p["day"].min() + window + 1).cast(pl.Int64)
    last_day = day_off.max()
    assert isinstance(last_day, int)  # an Int64 column with at least one row and no nulls
    if last_day + window >= 1 << DAY_BITS:
        raise ClaimInputError("claims: service dates span more than 11,000 years")
    day_bits = (last_day + window).bit_length()
    order, keys = _sorted_keys(p["h1"], p["h2"], day_off, exact_codes, day_bits)
    del day_off

    member_run, member_first, member_end = _runs(keys // (1 << day_bits))
    # every column the edits read, in key order: one select, so the gathers run in parallel
    wanted = ["day", "units", "jw", "jz", "icd_ok", "ndc_ok"] + (["h1", "h2"] if auths is not None else [])
    q = p.select(pl.col(wanted).gather(order))
    day = q["day"]

    positions = pl.int_range(n, eager=True, dtype=pl.UInt32)
    lines = None
    if auths is not None:
        lines = pl.DataFrame({"i": positions, "h1": q["h1"], "h2": q["h2"], "day": day})

    if rules.by_branch:
        # Limits per line: its authorization's branch, else the Section II limit of its cycle number.
        branch = (
            _branch_of_lines(lines, auths, rules)
            if lines is not None and auths is not None
            else pl.repeat(-1, n, dtype=pl.Int64, eager=True)
        )
        has_branch = branch >= 0
        safe = branch.clip(lower_bound=0)
        branch_window = pl.Series([b.window_days for b in rules.branches], dtype=pl.Int64).gather(safe)
        branch_units = pl.Series([b.max_units for b in rules.branches], dtype=pl.Int64).gather(safe)
        branch_last = pl.Series([b.last_cycle for b in rules.branches], dtype=pl.Int64).gather(safe)
        cycle_windows = pl.Series(rules.cycle_windows, dtype=pl.Int64)
        cycle_units = pl.Series(rules.cycle_units, dtype=pl.Int64)
        # cycles: a cycle opened on a line lasts that line's window (its branch's, else its cycle number's)
        starts = []
        current, current_end = member_first, member_end
        k = 0
        while current.len():
            k += 1
            starts.append(current)
            fallback = rules.cycle_windows[min(k, len(rules.cycle_windows)) - 1]
            length = pl.select(
                pl.when(has_branch.gather(current)).then(branch_window.gather(current)).otherwise(fallback)
            ).to_series()
            following = keys.search_sorted(keys.gather(current) + length, side="left")
            inside = following < current_end
            current, current_end = following.filter(inside), current_end.filter(inside)
        started = pl.zeros(n, dtype=pl.UInt32, eager=True).scatter(pl.concat(starts), 1).cum_sum()
        cycle = (started - started.gather(member_first.gather(member_run)) + 1).cast(pl.Int64)
        del started, starts
        fallback_at = (cycle.clip(upper_bound=len(rules.cycle_windows)) - 1).cast(pl.UInt32)
        line_window = pl.select(
            pl.when(has_branch).then(branch_window).otherwise(cycle_windows.gather(fallback_at))
        ).to_series()
        max_units: pl.Series | int = pl.select(
            pl.when(has_branch).then(branch_units).otherwise(cycle_units.gather(fallback_at))
        ).to_series()
        max_cycles: pl.Series | int = pl.select(
            pl.when(has_branch).then(branch_last).otherwise(rules.last_cycle)
        ).to_series()
        day_run, day_first, day_end = _runs(keys)
        run_window: pl.Series | int = line_window.gather(day_first)
    else:
        run_window = rules.window_days
        max_units = _limit_at(rules.max_units, day)
        max_cycles = _limit_at(rules.max_cycles, day)

    # rolling units: all lines of the member with day in [day - (window - 1), day]
    units, jw = q["units"], q["jw"]
    if isinstance(run_window, int):
        rolling = _key_sums(keys, units, run_window)
        if not rules.waste_always_counts:
            # JW units leave the sum of lines dated while the policy does not count waste
            jw_rolling = _key_sums(keys, units * jw.cast(pl.Int64), run_window)
            rolling = rolling - jw_rolling * (1 - _limit_at(rules.waste_counts, day))
            del jw_rolling
    else:  # a window per line (by branch): prefix sums between binary-searched bounds
        window_first = keys.search_sorted(keys.gather(day_first) - (run_window - 1), side="left").gather(day_run)
        window_end = day_end.gather(day_run)
        prefix_units = _prefix(units)
        rolling = prefix_units.gather(window_end) - prefix_units.gather(window_first)
        if not rules.waste_always_counts:
            prefix_jw = _prefix(units * jw.cast(pl.Int64))
            jw_rolling = prefix_jw.gather(window_end) - prefix_jw.gather(window_first)
            rolling = rolling - jw_rolling * (1 - _limit_at(rules.waste_counts, day))
            del prefix_jw, jw_rolling
        del prefix_units, window_first, window_end
    del units

    if not rules.by_branch:
        # cycles: walk the chain of cycle starts, all members in step (one step per cycle); cycle k
        # lasts at least its schedule's length
        starts = []
        current, current_end = member_first, member_end
        k = 0
        while current.len():
            k += 1
            starts.append(current)
            following = keys.search_sorted(keys.gather(current) + rules.cycle_length(k), side="left")
            inside = following < current_end
            current, current_end = following.filter(inside), current_end.filter(inside)
        started = pl.zeros(n, dtype=pl.UInt32, eager=True).scatter(pl.concat(starts), 1).cum_sum()
        cycle = started - started.gather(member_first.gather(member_run)) + 1
        del started, starts

    mask = (~q["icd_ok"]).cast(pl.UInt8) * BIT["ICD10_NOT_COVERED"]
    mask = mask | (~q["ndc_ok"]).cast(pl.UInt8) * BIT["NDC_MISMATCH"]
    mask = mask | (rolling > max_units).cast(pl.UInt8) * BIT["UNITS_OVER_LIMIT"]
    mask = mask | (cycle > max_cycles).cast(pl.UInt8) * BIT["CYCLE_LIMIT"]

    if auths is not None:
        assert lines is not None
        has_auth = lines.join(auths.select("h1", "h2").unique(), on=["h1", "h2"], how="semi")["i"]
        inside = (
            lines.join(auths, on=["h1", "h2"], how="inner")
            .filter((pl.col("start") <= pl.col("day")) & (pl.col("day") <= pl.col("end")))
            .get_column("i")
            .unique()
        )
        authorized = positions.is_in(has_auth.implode())
        mask = mask | (~authorized).cast(pl.UInt8) * BIT["NO_AUTHORIZATION"]
        outside = authorized & ~positions.is_in(inside.implode())
        mask = mask | outside.cast(pl.UInt8) * BIT["OUTSIDE_AUTHORIZATION"]

    jz = q["jz"]
    del q
    day_jw = _key_sums(keys, jw.cast(pl.UInt32), 1) > 0  # JW on a line of the member's same day
    mask = mask | (day_jw & (_key_sums(keys, jz.cast(pl.UInt32), 1) > 0)).cast(pl.UInt8) * BIT["WASTE_MODIFIER"]
    required = _limit_at(rules.modifier_required, day)
    if not isinstance(required, int) or required:
        bare = ~(jw | jz | day_jw)
        missing = bare if isinstance(required, int) else bare & (required == 1)
        mask = mask | missing.cast(pl.UInt8) * BIT["WASTE_MODIFIER_MISSING"]

    members = p.select(pl.col("h1", "h2").gather(order.gather(member_first)))
    in_key_order = pl.DataFrame({"rolling_units": rolling, "cycle": cycle, "mask": mask})
    # free the key-order working set before the last gathers
    del keys, day, jw, jz, day_jw, required, rolling, cycle, mask, positions, member_run, member_first, member_end
    del max_units, max_cycles, lines
    back = pl.zeros(n, dtype=pl.UInt32, eager=True).scatter(order, pl.int_range(n, eager=True, dtype=pl.UInt32))
    del order
    return in_key_order.select(
        pl.col("rolling_units").gather(back), pl.col("cycle").gather(back).cast(pl.Int64), pl.col("mask").gather(back)
    ), members


def audit_lines(
    good: pl.DataFrame,
    policy_lines: list[pl.DataFrame],
    rules: tuple[ClaimRules, ...],
    auths: pl.DataFrame | None,
    exact_codes: Callable[[pl.Series], pl.Series],
) -> tuple[int, pl.DataFrame]:
    """The number of members with policy lines, and the output lines (row, claim_id, rolling_units,
    cycle, edits, units, mask, policy) in row order: `mask` holds the edits as bits (BIT).
    Without a `claim_id` column in `good`, the lines have neither `claim_id` nor `edits` and `row`
    stays UInt32 (`write_audited` adds them while writing).

    `good` holds row, [claim_id,] units, policy (the position in `rules`, -1 for other codes);
    `policy_lines[k]` the numbers and flags of the lines of policy k.
    """
    n = good.height
    rolling = pl.repeat(None, n, dtype=pl.Int64, eager=True)
    cycles = pl.repeat(None, n, dtype=pl.Int64, eager=True)
    masks = pl.zeros(n, dtype=pl.UInt8, eager=True)
    members = []
    for k, r in enumerate(rules):
        count = policy_lines[k].height
        if count == 0:
            continue
        at = None if count == n else (good["policy"] == k).arg_true()
        rows = good["row"] if at is None else good["row"].gather(at)
        applying = None
        if auths is not None:
            applying = auths.filter(pl.col("hcpcs").is_null() | (pl.col("hcpcs") == r.hcpcs))
        if count == n:
            del rolling, cycles, masks  # replaced below, not scattered into
        edits, policy_members = _policy_line_edits(policy_lines[k], r, applying, partial(exact_codes, rows))
        members.append(policy_members)
        policy_lines[k] = policy_lines[k].clear()  # frees the policy's numbers once audited
        if at is None:  # every line is this policy's: no scatter
            rolling, cycles, masks = edits["rolling_units"], edits["cycle"], edits["mask"]
            continue
        rolling = rolling.scatter(at, edits["rolling_units"])
        cycles = cycles.scatter(at, edits["cycle"])
        masks = masks.scatter(at, edits["mask"])

    policy_ids = pl.Series([r.policy_id for r in rules], dtype=pl.Enum([r.policy_id for r in rules]))
    index = good["policy"]
    member_count = pl.concat(members).unique().height if members else 0
    ids = "claim_id" in good.columns
    return member_count, pl.DataFrame(
        {
            "row": good["row"].cast(pl.Int64) if ids else good["row"],
            **({"claim_id": good["claim_id"]} if ids else {}),
            "rolling_units": rolling,
            "cycle": cycles,
            **({"edits": EDIT_LISTS.gather(masks)} if ids else {}),
            "units": good["units"],
            "mask": masks,
            "policy": pl.select(
                pl.when(index >= 0).then(policy_ids.gather(index.clip(lower_bound=0).cast(pl.UInt32)))
            ).to_series(),
        }
    )


def audit_frames(
    claims: pl.LazyFrame | pl.DataFrame,
    rules: ClaimRules | tuple[ClaimRules, ...],
    authorizations: pl.LazyFrame | pl.DataFrame | None = None,
    progress: Progress | None = None,
    ids: bool = True,
) -> tuple[pl.DataFrame, list[RowError], int]:
    """Validate and audit claims (a lazy scan or a frame) under each policy of `rules`, each line
    under the policy of its HCPCS code; returns (lines, errors, members with policy lines).
    With `ids=False` the lines hold no claim ids nor edit lists (see `audit_lines`)."""
    every = rules if isinstance(rules, tuple) else (rules,)
    claims = claims.lazy()
    good, errors = validate_claims(claims, every, ids)
    auths = None
    if authorizations is not None:
        auths, auth_errors = validate_authorizations(authorizations.lazy(), every)
        errors += auth_errors
    if progress:
        progress("validated")

    def exact_codes(rows: pl.Series) -> pl.Series:
        schema = claims.collect_schema()
        members = claims.select(_text("member_id", schema["member_id"])).collect().to_series()
        return members.gather(rows - 1).cast(pl.Categorical(pl.Categories.random())).to_physical()

    columns = ("h1", "h2", "day", "units", "ndc_ok", "icd_ok", "jw", "jz")
    counts = good["policy"].value_counts()
    only = counts["policy"][0] if counts.height == 1 else None  # every line one policy's: no filtered copy
    policy_lines = [
        good.select(columns) if k == only else good.select(columns).filter(good["policy"] == k)
        for k in range(len(every))
    ]
    good = good.select("row", *(["claim_id"] if ids else []), "units", "policy")  # frees the hashes and flags
    members, lines = audit_lines(good, policy_lines, every, auths, exact_codes)
    if progress:
        progress("edits")
    return lines, sorted(errors, key=error_order), members
