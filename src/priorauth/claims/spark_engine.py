"""The claims audit on PySpark, for claim histories beyond one machine.

Same edit definitions (priorauth.claims.edits) and same validation rules as the
Polars engine, written as Spark column expressions; no Python UDFs. Rolling units
use a RANGE window (JW units taken out on dates the policy does not count waste);
cycles are numbered per member with a SQL `aggregate` over the member's sorted
distinct service days (days per member are few).
Row numbers follow the file order of a single input file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl
from pyspark.errors import PySparkRuntimeError
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from priorauth.claims import vector_codes as vc
from priorauth.claims.edits import EDITS, ClaimRules, DatedLimit
from priorauth.claims.io import file_format
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
    UNKNOWN_BRANCH,
    ClaimInputError,
    RowError,
    error_order,
)
from priorauth.core import PriorAuthError

_INTEGER_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
_FLOAT_TYPES = (T.FloatType, T.DoubleType)
_JAVA_NDC_SHAPES = tuple((regex, re.sub(r"\$\{(\d)\}", r"$\1", repl)) for regex, repl in vc.NDC_SHAPES)


JAVA_MIN = 17  # Spark 4 runs on Java 17 or 21
INSTALL_JAVA = "install a Java runtime (Debian: apt-get install default-jre-headless) or set JAVA_HOME"


class SparkUnavailable(PriorAuthError):
    """Spark cannot start on this machine (no Java, too old a Java, no gateway); one line saying what to install."""


def java_problem() -> str | None:
    """Why Spark cannot start its Java side here, or None: JAVA_HOME's java, else `java` on PATH, version 17+."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).is_file():
        where = f"JAVA_HOME ({home}) has no bin/java" if home else "no `java` on PATH"
        return f"the Spark engine needs Java {JAVA_MIN} or later: {where}; {INSTALL_JAVA}"
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the Spark engine needs Java {JAVA_MIN} or later: {java} does not run ({type(exc).__name__})"
    found = re.search(r'version "(\d+)(?:\.(\d+))?', shown.stderr + shown.stdout)
    if found is None:
        return f"the Spark engine needs Java {JAVA_MIN} or later: cannot tell the version of {java}"
    major = int(found.group(2) or 0) if found.group(1) == "1" else int(found.group(1))  # "1.8" is Java 8
    if major < JAVA_MIN:
        return f"the Spark engine needs Java {JAVA_MIN} or later; {java} is Java {major}: {INSTALL_JAVA}"
    return None


def spark_session(master: str = "local[2]") -> SparkSession:
    """A local or cluster session, reused if one is active; SparkUnavailable (one line) when Java is missing."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    active = SparkSession.getActiveSession()
    if active is None:
        problem = java_problem()
        if problem:
            raise SparkUnavailable(problem)
    try:
        spark = (
            SparkSession.builder.master(master)
            .appName("priorauth-claims")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
    except PySparkRuntimeError as exc:  # e.g. JAVA_GATEWAY_EXITED: the JVM did not start
        condition = exc.getCondition()
        raise SparkUnavailable(f"the Spark engine could not start Java ({condition}); {INSTALL_JAVA}") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _strip(col: Column) -> Column:
    return F.btrim(col, F.lit(vc.WHITESPACE))


def _text(df: DataFrame, name: str) -> Column:
    col = F.col(name)
    if not isinstance(df.schema[name].dataType, T.StringType):
        col = col.cast("string")
    stripped = _strip(col)
    return F.when(stripped != "", stripped)


def _day(df: DataFrame, name: str) -> tuple[Column, Column]:
    dtype = df.schema[name].dataType
    if isinstance(dtype, T.DateType | T.TimestampType | T.TimestampNTZType):
        day = F.datediff(F.to_date(F.col(name)), F.lit("1970-01-01").cast("date"))
        return day, F.when(F.col(name).isNull(), F.lit(MISSING))
    text = _text(df, name)
    parsed = F.try_to_date(text, "yyyy-MM-dd")
    day = F.when(text.rlike(DATE_PATTERN), F.datediff(parsed, F.lit("1970-01-01").cast("date")))
    return day, F.when(text.isNull(), F.lit(MISSING)).when(day.isNull(), F.lit(NOT_A_DATE))


def _units(df: DataFrame, name: str) -> tuple[Column, Column]:
    dtype = df.schema[name].dataType
    col = F.col(name)
    if isinstance(dtype, _INTEGER_TYPES):
        units = col.cast("long")
        bad = F.when(col.isNull(), F.lit(MISSING))
    elif isinstance(dtype, _FLOAT_TYPES):
        whole = ~F.isnan(col) & (col == F.floor(col)) & (F.abs(col) < 1e15)
        units = F.when(whole, col.cast("long"))
        bad = F.when(col.isNull(), F.lit(MISSING)).when(~whole, F.lit(NOT_WHOLE_UNITS))
    else:
        text = _text(df, name)
        units = F.when(text.rlike(UNITS_PATTERN), text.try_cast("long"))
        bad = F.when(text.isNull(), F.lit(MISSING)).when(units.isNull(), F.lit(NOT_WHOLE_UNITS))
    return units, F.when(bad.isNotNull(), bad).when(units < 0, F.lit(NEGATIVE_UNITS))


def _with_row_numbers(df: DataFrame) -> DataFrame:
    """1-based row numbers in file order: partition offsets plus position in the partition."""
    df = df.withColumn("_pid", F.spark_partition_id()).withColumn("_mid", F.monotonically_increasing_id()).persist()
    counts: dict[int, int] = dict(df.groupBy("_pid").count().collect())
    offsets, total = [], 0
    for pid in sorted(counts):
        offsets += [F.lit(pid), F.lit(total)]
        total += counts[pid]
    offset = F.create_map(*offsets)[F.col("_pid")] if offsets else F.lit(0)
    position = F.col("_mid") - F.shiftleft(F.col("_pid").cast("long"), 33)
    return df.withColumn("row", (offset + position + 1).cast("long")).drop("_pid", "_mid")


def _read(spark: SparkSession, source: str | Path | pl.DataFrame, scratch: str) -> DataFrame:
    if isinstance(source, pl.DataFrame):
        path = os.path.join(scratch, f"input-{id(source)}.parquet")
        source.write_parquet(path)
        source = path
    kind = file_format(source)
    if not Path(source).exists():
        raise ClaimInputError(f"{source}: no such file")
    reader = spark.read.option("header", True) if kind == "csv" else spark.read
    return reader.csv(str(source)) if kind == "csv" else reader.parquet(str(source))


def _check(df: DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ClaimInputError(f"{what}: missing column(s) {', '.join(missing)} (expected {', '.join(columns)})")


def _errors(df: DataFrame, columns: tuple[str, ...], source: str) -> list[RowError]:
    problems = [f"!{c}" for c in columns if f"!{c}" in df.columns]
    any_bad = F.lit(False)
    for p in problems:
        any_bad = any_bad | F.col(f"`{p}`").isNotNull()
    out = []
    for record in df.filter(any_bad).select("row", *[F.col(f"`{p}`") for p in problems]).collect():
        for p in problems:
            if record[p] is not None:
                out.append(RowError(record["row"], p[1:], record[p], source))
    return out


def validate_claims(df: DataFrame) -> tuple[DataFrame, list[RowError]]:
    _check(df, CLAIM_COLUMNS, "claims")
    day, day_problem = _day(df, "service_date")
    units, units_problem = _units(df, "units")
    texts = {name: _text(df, name) for name in ("claim_id", "member_id", "hcpcs", "ndc", "icd10", "modifier")}
    checked = df.select(
        "row",
        day.alias("day"),
        day_problem.alias("!service_date"),
        units.alias("units"),
        units_problem.alias("!units"),
        *[texts[n].alias(f"t_{n}") for n in texts],
        *[F.when(texts[n].isNull(), F.lit(MISSING)).alias(f"!{n}") for n in REQUIRED_VALUES if n in texts],
    ).persist()
    errors = _errors(checked, CLAIM_COLUMNS, "claims")
    ok = F.lit(True)
    for c in CLAIM_COLUMNS:
        if f"!{c}" in checked.columns:
            ok = ok & F.col(f"`!{c}`").isNull()
    good = checked.filter(ok).select(
        "row",
        F.col("t_claim_id").alias("claim_id"),
        F.col("t_member_id").alias("member"),
        "day",
        "units",
        F.upper("t_hcpcs").alias("hcpcs"),
        F.col("t_ndc").alias("ndc"),
        F.col("t_icd10").alias("icd10"),
        F.col("t_modifier").alias("modifier"),
    )
    return good, errors


def validate_authorizations(df: DataFrame, rules: tuple[ClaimRules, ...] = ()) -> tuple[DataFrame, list[RowError]]:
    """Good authorizations as (member, start, end, hcpcs, branch, row), and row errors (see the Polars engine)."""
    _check(df, AUTH_COLUMNS, "authorizations")
    start, start_problem = _day(df, "start")
    end, end_problem = _day(df, "end")
    member = _text(df, "member_id")
    hcpcs = F.upper(_text(df, "hcpcs")) if "hcpcs" in df.columns else F.lit(None).cast("string")
    branch = _text(df, "branch") if "branch" in df.columns else F.lit(None).cast("string")
    codes = [r.hcpcs for r in rules]
    known = F.lit(False)
    for r in rules:
        owner = hcpcs.isNull() | (hcpcs == r.hcpcs) | ~hcpcs.isin(codes) if codes else F.lit(True)
        ids = [b.branch for b in r.branches]
        known = known | (F.coalesce(owner, F.lit(True)) & (branch.isin(ids) if ids else F.lit(False)))
    checked = df.select(
        "row",
        member.alias("member"),
        start.alias("start"),
        end.alias("end"),
        hcpcs.alias("hcpcs"),
        branch.alias("branch"),
        F.when(member.isNull(), F.lit(MISSING)).alias("!member_id"),
        start_problem.alias("!start"),
        F.when(end_problem.isNotNull(), end_problem)
        .when(start_problem.isNull() & (end < start), F.lit(END_BEFORE_START))
        .alias("!end"),
        F.when(branch.isNotNull() & ~known, F.lit(UNKNOWN_BRANCH)).alias("!branch"),
    ).persist()
    errors = _errors(checked, (*AUTH_COLUMNS, "branch"), "authorizations")
    ok = F.col("`!member_id`").isNull() & F.col("`!start`").isNull() & F.col("`!end`").isNull() \
        & F.col("`!branch`").isNull()
    return checked.filter(ok).select("member", "start", "end", "hcpcs", "branch", "row"), errors


def _icd10(col: Column) -> Column:
    text = F.upper(_strip(col))
    head, tail = F.regexp_extract(text, vc.ICD10_REGEX, 1), F.regexp_extract(text, vc.ICD10_REGEX, 2)
    return F.when(text.rlike(vc.ICD10_REGEX), F.when(tail == "", head).otherwise(F.concat(head, F.lit("."), tail)))


def _ndc11(col: Column) -> Column:
    text = _strip(col)
    out = F.lit(None).cast("string")
    for regex, replacement in reversed(_JAVA_NDC_SHAPES):
        out = F.when(text.rlike(regex), F.regexp_replace(text, regex, replacement)).otherwise(out)
    return out


def _ndc_ok(col: Column, patterns: tuple[str, ...]) -> Column:
    """codes.match_ndc as a column (see vector_codes.ndc_ok)."""
    regex = "|".join(f"(?:{vc.ndc_pattern_regex(p)})" for p in patterns) or "$^"
    text = _strip(col)
    readings = (
        F.concat(F.lit("0"), F.substring(text, 1, 4), F.lit("-"), F.substring(text, 5, 4), F.lit("-"),
                 F.substring(text, 9, 2)),
        F.concat(F.substring(text, 1, 5), F.lit("-0"), F.substring(text, 6, 3), F.lit("-"), F.substring(text, 9, 2)),
        F.concat(F.substring(text, 1, 5), F.lit("-"), F.substring(text, 6, 4), F.lit("-0"), F.substring(text, 10, 1)),
    )
    matching = sum((F.coalesce(r.rlike(regex), F.lit(False)).cast("int") for r in readings), F.lit(0))
    return F.coalesce(
        F.when(text.rlike("^[0-9]{10}$"), matching == 1).otherwise(_ndc11(col).rlike(regex)), F.lit(False)
    )


def _limit_at(limit: DatedLimit, day: Column) -> Column:
    value = F.lit(limit.values[0])
    for effective, v in zip(limit.effective_days, limit.values, strict=True):
        value = F.when(day >= effective, F.lit(v)).otherwise(value)
    return value


def _cycles(policy: DataFrame, rules: ClaimRules) -> DataFrame:
    """(member, day, cycle): a day at least the running cycle's length (ClaimRules.cycle_length) after
    its start opens the next."""
    lengths = rules.cycle_lengths or (rules.window_days,)
    days = policy.select("member", F.col("day").cast("long").alias("day")).distinct()
    per_member = days.groupBy("member").agg(F.sort_array(F.collect_list("day")).alias("days"))
    numbered = per_member.select(
        "member",
        "days",
        F.expr(
            f"aggregate(days, named_struct('start', CAST(-4611686018427387904 AS BIGINT), 'n', 0, "
            f"'len', CAST(0 AS BIGINT), 'cycles', CAST(array() AS ARRAY<INT>)), (acc, d) -> "
            f"IF(d >= acc.start + acc.len, named_struct('start', d, 'n', acc.n + 1, "
            f"'len', CAST(element_at(array({', '.join(map(str, lengths))}), "
            f"least(acc.n + 1, {len(lengths)})) AS BIGINT), "
            f"'cycles', array_append(acc.cycles, acc.n + 1)), "
            f"named_struct('start', acc.start, 'n', acc.n, 'len', acc.len, "
            f"'cycles', array_append(acc.cycles, acc.n))))"
        ).cycles.alias("cycles"),
    )
    pairs = numbered.select("member", F.explode(F.arrays_zip("days", "cycles")).alias("p"))
    return pairs.select(
        "member", F.col("p.days").cast("int").alias("day"), F.col("p.cycles").cast("long").alias("cycle")
    )


def _branch_days(policy: DataFrame, auths: DataFrame, rules: ClaimRules) -> DataFrame:
    """(member, day, b): the branch index of the authorization each (member, day) falls under, the
    covering authorization with the latest start (then the first row); lines without one are absent."""
    index = F.create_map(*[x for i, b in enumerate(rules.branches) for x in (F.lit(b.branch), F.lit(i))])
    days = policy.select("member", "day").distinct().alias("d")
    a = auths.alias("a")
    joined = days.join(a, (F.col("d.member") == F.col("a.member")) & F.col("d.day").between(F.col("a.start"),
                                                                                             F.col("a.end")))
    first = Window.partitionBy("d.member", "d.day").orderBy(F.col("a.start").desc(), F.col("a.row").asc())
    chosen = joined.withColumn("_n", F.row_number().over(first)).filter(F.col("_n") == 1)
    return chosen.select(F.col("d.member").alias("member"), F.col("d.day").alias("day"),
                         index[F.col("a.branch")].alias("b")).filter(F.col("b").isNotNull())


def _branch_limits(policy: DataFrame, auths: DataFrame | None, rules: ClaimRules) -> DataFrame:
    """Policy lines with cycle, rolling window and limits per line, for a policy whose limits differ by
    authorization branch: a line under an authorization naming its branch takes that branch's limits,
    any other line the Section II limit of its cycle number (priorauth.claims.edits.ClaimRules)."""
    windows = F.array(*[F.lit(w) for w in rules.cycle_windows])
    units = F.array(*[F.lit(u) for u in rules.cycle_units])
    b_window = F.array(*[F.lit(b.window_days) for b in rules.branches])
    b_units = F.array(*[F.lit(b.max_units) for b in rules.branches])
    b_last = F.array(*[F.lit(b.last_cycle) for b in rules.branches])
    count = len(rules.cycle_windows)

    def of_branch(values: Column) -> Column:
        # element_at on a literal array with a null index gives its last element (Spark 4.0), not null
        return F.when(F.col("b").isNotNull(), F.element_at(values, F.col("b") + 1))

    lines = policy
    if auths is not None:
        lines = lines.join(_branch_days(policy, auths, rules), ["member", "day"], "left")
    else:
        lines = lines.withColumn("b", F.lit(None).cast("int"))
    # cycles: over each member's sorted distinct days; a cycle opened on a day lasts that day's window
    days = lines.select("member", F.col("day").cast("long").alias("day"),
                        of_branch(b_window).cast("long").alias("bw")).distinct()
    per_member = days.groupBy("member").agg(F.sort_array(F.collect_list(F.struct("day", "bw"))).alias("days"))
    numbered = per_member.select(
        "member",
        F.expr(
            "aggregate(days, named_struct('start', CAST(-4611686018427387904 AS BIGINT), 'n', 0, "
            "'len', CAST(0 AS BIGINT), 'cycles', CAST(array() AS ARRAY<STRUCT<day: BIGINT, cycle: INT>>)), "
            "(acc, d) -> IF(d.day >= acc.start + acc.len, "
            "named_struct('start', d.day, 'n', acc.n + 1, "
            f"'len', CAST(coalesce(d.bw, element_at(array({', '.join(map(str, rules.cycle_windows))}), "
            f"least(acc.n + 1, {count}))) AS BIGINT), "
            "'cycles', array_append(acc.cycles, named_struct('day', d.day, 'cycle', acc.n + 1))), "
            "named_struct('start', acc.start, 'n', acc.n, 'len', acc.len, "
            "'cycles', array_append(acc.cycles, named_struct('day', d.day, 'cycle', acc.n)))))"
        ).cycles.alias("cycles"),
    )
    cycles = numbered.select("member", F.explode("cycles").alias("p")).select(
        "member", F.col("p.day").cast("int").alias("day"), F.col("p.cycle").cast("long").alias("cycle"))
    lines = lines.join(cycles, ["member", "day"], "left")
    at = F.least(F.col("cycle"), F.lit(count)).cast("int")
    lines = lines.select(
        "*",
        F.coalesce(of_branch(b_window), F.element_at(windows, at)).alias("window"),
        F.coalesce(of_branch(b_units), F.element_at(units, at)).alias("max_units"),
        F.coalesce(of_branch(b_last), F.lit(rules.last_cycle)).alias("max_cycles"),
    )
    return lines


def _audit_policy(policy: DataFrame, rules: ClaimRules, auths: DataFrame | None) -> DataFrame:
    """One policy's lines with rolling_units, cycle and edits (row, claim_id, ..., units, member, policy)."""
    window = rules.window_days
    by_member_day = Window.partitionBy("member").orderBy("day").rangeBetween(-(window - 1), 0)
    same_day = Window.partitionBy("member", "day")

    def modifiers(code: str) -> Column:
        parts = F.transform(F.split(F.coalesce("modifier", F.lit("")), ";"), lambda m: F.upper(_strip(m)))
        return F.array_contains(parts, code).cast("int")

    covered = F.array(*[F.lit(c) for c in sorted(rules.covered_icd10)])
    icd_ok = F.exists(
        F.split(F.coalesce("icd10", F.lit("")), ";"),
        lambda x: F.coalesce(F.array_contains(covered, _icd10(x)), F.lit(False)),
    )
    if rules.by_branch:
        lines = _branch_limits(policy, auths, rules)
        # rolling units: each line's own window over the member's per-day totals (days per member are few)
        totals = lines.groupBy("member", "day").agg(
            F.sum("units").alias("u"), F.sum(F.when(modifiers("JW") == 1, F.col("units")).otherwise(0)).alias("jw"))
        arrays = totals.groupBy("member").agg(F.collect_list(F.struct("day", "u", "jw")).alias("totals"))
        lines = lines.join(arrays, "member", "left")
        inside = F.filter("totals", lambda t: (t["day"] <= F.col("day")) & (t["day"] > F.col("day") - F.col("window")))
        summed = F.aggregate(inside, F.lit(0).cast("long"), lambda acc, t: acc + t["u"])
        if not rules.waste_always_counts:
            jw_units = F.aggregate(inside, F.lit(0).cast("long"), lambda acc, t: acc + t["jw"])
            summed = F.when(_limit_at(rules.waste_counts, F.col("day")) == 0, summed - jw_units).otherwise(summed)
        lines = lines.withColumn("rolling_units", summed.cast("long")).drop("totals")
        over_units = F.col("rolling_units") > F.col("max_units")
        over_cycles = F.col("cycle") > F.col("max_cycles")
    else:
        rolling = F.sum("units").over(by_member_day)
        if not rules.waste_always_counts:
            # JW units leave the sum of lines dated while the policy does not count waste
            jw_units = F.sum(F.when(modifiers("JW") == 1, F.col("units")).otherwise(F.lit(0))).over(by_member_day)
            rolling = F.when(_limit_at(rules.waste_counts, F.col("day")) == 0, rolling - jw_units).otherwise(rolling)
        lines = policy.withColumn("rolling_units", rolling.cast("long")).join(
            _cycles(policy, rules), ["member", "day"], "left")
        over_units = F.col("rolling_units") > _limit_at(rules.max_units, F.col("day"))
        over_cycles = F.col("cycle") > _limit_at(rules.max_cycles, F.col("day"))
    day_jw = F.max(modifiers("JW")).over(same_day)
    bare = (modifiers("JW") == 0) & (modifiers("JZ") == 0) & (day_jw == 0)
    lines = (
        lines.withColumn("waste", (day_jw * F.max(modifiers("JZ")).over(same_day)) > 0)
        .withColumn("missing", bare & (_limit_at(rules.modifier_required, F.col("day")) == 1))
        .withColumn("icd_ok", icd_ok)
        .withColumn("ndc_ok", _ndc_ok(F.col("ndc"), rules.ndc_patterns))
    )
    conditions = {
        "ICD10_NOT_COVERED": ~F.col("icd_ok"),
        "NDC_MISMATCH": ~F.col("ndc_ok"),
        "UNITS_OVER_LIMIT": over_units,
        "CYCLE_LIMIT": over_cycles,
        "WASTE_MODIFIER": F.col("waste"),
        "WASTE_MODIFIER_MISSING": F.col("missing"),
    }
    if auths is not None:
        members = auths.select("member").distinct().withColumn("has_auth", F.lit(True))
        left, a = lines.alias("l"), auths.alias("a")
        inside_auth = (
            left.join(
                a, (F.col("l.member") == F.col("a.member")) & F.col("l.day").between(F.col("a.start"), F.col("a.end"))
            )
            .select(F.col("l.row").alias("row"))
            .distinct()
            .withColumn("inside", F.lit(True))
        )
        lines = lines.join(F.broadcast(members), "member", "left").join(inside_auth, "row", "left")
        conditions["NO_AUTHORIZATION"] = F.col("has_auth").isNull()
        conditions["OUTSIDE_AUTHORIZATION"] = F.col("has_auth").isNotNull() & F.col("inside").isNull()
    edit_list = F.filter(
        F.array(*[F.when(conditions[e.code], F.lit(e.code)) for e in EDITS if e.code in conditions]),
        lambda x: x.isNotNull(),
    )
    columns = ["row", "claim_id", "rolling_units", "cycle", "edits", "units", "member"]
    return lines.withColumn("edits", edit_list).select(*columns, F.lit(rules.policy_id).alias("policy"))


def audit_spark(
    spark: SparkSession,
    claims: DataFrame,
    rules: ClaimRules | tuple[ClaimRules, ...],
    authorizations: DataFrame | None = None,
) -> tuple[DataFrame, list[RowError]]:
    """Output lines (row, claim_id, rolling_units, cycle, edits, units, member, policy) and row errors.

    Each line is audited under the policy of `rules` whose HCPCS code it bills.
    """
    every = rules if isinstance(rules, tuple) else (rules,)
    good, errors = validate_claims(_with_row_numbers(claims))
    auths = None
    if authorizations is not None:
        auths, auth_errors = validate_authorizations(_with_row_numbers(authorizations), every)
        errors += auth_errors
    parts = []
    for r in every:
        applying = None
        if auths is not None:
            applying = auths.filter(F.col("hcpcs").isNull() | (F.col("hcpcs") == r.hcpcs))
        parts.append(_audit_policy(good.filter(F.col("hcpcs") == r.hcpcs), r, applying))
    codes = [r.hcpcs for r in every]
    passed = good.filter(~F.col("hcpcs").isin(codes)).select(
        "row",
        "claim_id",
        F.lit(None).cast("long").alias("rolling_units"),
        F.lit(None).cast("long").alias("cycle"),
        F.array().cast("array<string>").alias("edits"),
        "units",
        "member",
        F.lit(None).cast("string").alias("policy"),
    )
    audited = passed
    for part in parts:
        audited = part.unionByName(audited)
    return audited.orderBy("row"), sorted(errors, key=error_order)


def audit_spark_to_polars(
    claims: str | Path | pl.DataFrame,
    rules: ClaimRules | tuple[ClaimRules, ...],
    authorizations: str | Path | pl.DataFrame | None = None,
    master: str = "local[2]",
) -> tuple[pl.DataFrame, list[RowError], int]:
    """Run the Spark engine and bring the output to the driver as a Polars frame."""
    spark = spark_session(master)
    with tempfile.TemporaryDirectory(prefix="priorauth-spark-") as scratch:
        claims_df = _read(spark, claims, scratch)
        auth_df = _read(spark, authorizations, scratch) if authorizations is not None else None
        rows_read = claims_df.count()
        lines, errors = audit_spark(spark, claims_df, rules, auth_df)
        table = lines.toArrow()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_columns(
        pl.col("row").cast(pl.Int64),
        pl.col("rolling_units").cast(pl.Int64),
        pl.col("cycle").cast(pl.Int64),
        pl.col("units").cast(pl.Int64),
        pl.col("edits").cast(pl.List(pl.String)),
    )
    return frame, errors, rows_read
