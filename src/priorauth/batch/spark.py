"""Batch decisions on PySpark: the same column-wise plan as the Polars path, for histories beyond one machine.

The plan (priorauth.batch.plan: leaf tests, Kleene composites, pattern keys) and the
authorization end (priorauth.batch.authorization) are written once against a dialect;
this module is the Spark dialect and the driver's part: the distinct values to validate,
the distinct patterns and read facts to decide with the core, and the few rows the
per-request path takes, all brought to the driver, which is small work next to the rows.
Input is Parquet (a file, or a folder of part files in order); row numbers follow the
file order. The decisions come back to the driver and are written as one Parquet file.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from functools import reduce
from pathlib import Path
from typing import Any

import polars as pl
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from priorauth.batch.authorization import NotColumnar, authorization_end
from priorauth.batch.engine import _INVALID, BatchDecider, VersionState
from priorauth.batch.outcomes import SAMPLE, RowError, core_authorization_end, determine_or_none, outcome
from priorauth.batch.plan import KIND, LEAVES, pattern_keys, walk_columns
from priorauth.batch.read_groups import ReadGroups, hashable
from priorauth.batch.run import BatchSummary, DecisionWriter
from priorauth.batch.single import decide_one
from priorauth.core import PolicyRegistry, PolicyVersion, PriorAuthError, Question, RequestError, parse_iso_date

_INTEGERS = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
_NUMBERS = (*_INTEGERS, T.FloatType, T.DoubleType, T.DecimalType)


def spark_session(master: str = "local[2]") -> SparkSession:
    """A local or cluster session, reused if one is active."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master(master)
        .appName("priorauth-batch")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkDialect:
    """The plan's column operations as Spark SQL columns (SQL AND / OR / NOT are Kleene's)."""

    def col(self, name: str) -> Column:
        return F.col(f"`{name}`")

    def lit(self, value: Any) -> Column:
        return F.lit(value)

    def const(self, value: bool) -> Column:
        return F.lit(value)

    def unknown(self) -> Column:
        return F.lit(None).cast("boolean")

    def known(self, value: Column, result: Column) -> Column:
        return F.when(value.isNotNull(), result)

    def eq(self, value: Column, literal: Any) -> Column:
        return value == F.lit(literal)

    def isin(self, value: Column, literals: Any) -> Column:
        return F.when(value.isNotNull(), value.isin(list(literals)))

    def lt(self, left: Column, right: Any) -> Column:
        return left < right

    def le(self, left: Column, right: Any) -> Column:
        return left <= right

    def ge(self, left: Column, right: Any) -> Column:
        return left >= right

    def and_(self, a: Column, b: Column) -> Column:
        return a & b

    def all_of(self, values: list[Column]) -> Column:
        return reduce(lambda a, b: a & b, values)

    def any_of(self, values: list[Column]) -> Column:
        return reduce(lambda a, b: a | b, values)

    def not_(self, value: Column) -> Column:
        return ~value

    def months_after(self, day: Column, months: int) -> Column:
        same = F.add_months(day, months)  # clips to the month's end, as Polars' offset_by does
        return F.when(F.dayofmonth(same) == F.dayofmonth(day), same).otherwise(F.date_add(same, 1))

    def reached(self, fact: str, months: int, day: Column) -> Column:
        start = self.col(fact)
        apart = (F.year(day) * 12 + F.month(day)) - (F.year(start) * 12 + F.month(start))
        return (apart > months) | ((apart == months) & (F.dayofmonth(day) >= F.dayofmonth(start)))

    def any_code_in(self, codes: Column, listed: Any) -> Column:
        return F.exists(codes, lambda code: code.isin(list(listed)))

    def is_null(self, value: Column) -> Column:
        return value.isNull()

    def fill_false(self, value: Column) -> Column:
        return F.coalesce(value, F.lit(False))

    def when(self, cases: list[tuple[Column, Column]], otherwise: Column | None = None) -> Column:
        (first, then), *rest = cases
        chain = F.when(first, then)
        for condition, value in rest:
            chain = chain.when(condition, value)
        return chain.otherwise(otherwise) if otherwise is not None else chain

    def whole(self, value: Column) -> Column:
        return value.cast("long")

    def status_code(self, value: Column) -> Column:
        return F.when(value.isNull(), F.lit(0)).when(value, F.lit(2)).otherwise(F.lit(1)).cast("long")

    def sum_of(self, values: list[Column]) -> Column:
        return reduce(lambda a, b: a + b, values) if values else F.lit(0).cast("long")

    def day_before(self, day: Column) -> Column:
        return F.date_sub(day, 1)

    def earliest(self, a: Column, b: Column) -> Column:
        return F.least(a, b)


SPARK = SparkDialect()


def _with_row_numbers(df: DataFrame) -> DataFrame:
    """1-based row numbers in file order: partition offsets plus position in the partition."""
    df = df.withColumn("_pid", F.spark_partition_id()).withColumn("_mid", F.monotonically_increasing_id()).persist()
    counts: dict[int, int] = {row[0]: row[1] for row in df.groupBy("_pid").count().collect()}
    offsets: list[Column] = []
    total = 0
    for pid in sorted(counts):
        offsets += [F.lit(pid), F.lit(total)]
        total += counts[pid]
    offset = F.create_map(*offsets)[F.col("_pid")] if offsets else F.lit(0)
    position = F.col("_mid") - F.shiftleft(F.col("_pid").cast("long"), 33)
    return df.withColumn("_row", (offset + position + 1).cast("long")).drop("_pid", "_mid")


def _mapping(values: dict[Any, Any]) -> Column | None:
    if not values:
        return None
    pairs: list[Column] = []
    for k, v in values.items():
        pairs += [F.lit(k), F.lit(v)]
    return F.create_map(*pairs)


class SparkBatch:
    """One run of the Spark engine, with the same bookkeeping as the Polars path (its BatchDecider)."""

    def __init__(self, spark: SparkSession, policies: PolicyRegistry, forced: PolicyVersion | None) -> None:
        self.spark = spark
        self.policies = policies
        self.forced = forced
        self.book = BatchDecider(policies, forced)
        self._values: dict[str, list[Any]] = {}

    def decide(self, df: DataFrame) -> tuple[pl.DataFrame, list[RowError]]:
        df = _with_row_numbers(df)
        facts = [c for c in df.columns if c not in ("id", "policy", "_row")]
        if "id" not in df.columns:
            df = df.withColumn("id", F.lit(None).cast("string"))
        df = df.withColumn("id", F.col("id").cast("string"))
        parts: list[pl.DataFrame] = []
        slow: list[int] = []
        for version, rows, bad in self._by_version(df):
            slow += bad
            state = self.book._state(version)
            if state.plan.unsupported is not None:
                self.book.unsupported[f"{version.id} {version.version}"] = state.plan.unsupported
                slow += [r[0] for r in rows.select("_row").collect()]
                continue
            normal, invalid = self._normalise(rows, state, facts)
            slow += invalid
            decided, refused = self._decide(normal, state)
            parts.append(decided)
            slow += refused
        slow_frame, errors = self._one_by_one(df, facts, sorted(set(slow)))
        if slow_frame is not None:
            parts.append(slow_frame)
        self.book.per_request_rows += len(set(slow))
        decided = pl.concat(parts, how="diagonal") if parts else pl.DataFrame(
            schema={"_row": pl.Int64, "_group": pl.Int64, "authorization_end": pl.Date}
        )
        ids = pl.from_arrow(df.select("_row", "id").toArrow())
        assert isinstance(ids, pl.DataFrame)
        out = (
            decided.join(ids.with_columns(pl.col("_row").cast(pl.Int64)), on="_row", how="left")
            .join(self.book._groups_frame(), on="_group", how="left")
            .sort("_row")
            .rename({"_row": "row"})
        )
        from priorauth.batch.engine import DECISION_COLUMNS

        return out.select(DECISION_COLUMNS), sorted(errors, key=lambda e: e.row)

    # --- versions ------------------------------------------------------------------------

    def _by_version(self, df: DataFrame) -> list[tuple[PolicyVersion, DataFrame, list[int]]]:
        out: list[tuple[PolicyVersion, DataFrame, list[int]]] = []
        if self.forced is not None:
            mine = F.coalesce(F.col("policy") == self.forced.id, F.lit(False))
            others = [r[0] for r in df.filter(~mine).select("_row").collect()]
            return [(self.forced, df.filter(mine), others)]
        ids = self.policies.ids()
        known = F.coalesce(F.col("policy").isin(ids), F.lit(False))
        unknown = [r[0] for r in df.filter(~known).select("_row").collect()]
        present = [r[0] for r in df.filter(known).select("policy").distinct().collect()]
        first = True
        for policy_id in sorted(present):
            policy = self.policies.get(policy_id)
            rows = df.filter(F.col("policy") == policy_id)
            day, bad = self._days(rows, policy.decided_on)
            rows = rows.withColumn("_day", day).withColumn("_bad", bad | F.coalesce(
                F.col("_day") < F.lit(policy.first.effective), F.lit(False)))
            refused = [r[0] for r in rows.filter("_bad").select("_row").collect()]
            if first:
                refused += unknown
                first = False
            rows = rows.filter(~F.col("_bad"))
            for i, version in enumerate(policy.versions):
                in_force = F.col("_day") >= F.lit(version.effective)
                if i + 1 < len(policy.versions):
                    in_force = in_force & (F.col("_day") < F.lit(policy.versions[i + 1].effective))
                else:
                    in_force = in_force | F.col("_day").isNull()
                out.append((version, rows.filter(F.coalesce(in_force, F.lit(False))).drop("_day", "_bad"),
                            refused if i == 0 else []))
        if first and unknown:
            out.append((self.policies.get(ids[0]).first, df.limit(0), unknown))
        return out

    def _days(self, rows: DataFrame, name: str) -> tuple[Column, Column]:
        if name not in rows.columns:
            return F.lit(None).cast("date"), F.lit(False)
        dtype = rows.schema[name].dataType
        column = F.col(f"`{name}`")
        if isinstance(dtype, T.DateType):
            return column, F.lit(False)
        if not isinstance(dtype, T.StringType):
            return F.lit(None).cast("date"), column.isNotNull()
        days: dict[str, dt.date] = {}
        for (text,) in rows.select(column).distinct().collect():
            if text is None:
                continue
            try:
                days[text] = parse_iso_date(text)
            except ValueError:
                pass
        mapping = _mapping(days)
        day = mapping[column] if mapping is not None else F.lit(None).cast("date")
        return day, column.isNotNull() & day.isNull()

    # --- facts ---------------------------------------------------------------------------

    def _distinct(self, rows: DataFrame, state: VersionState, facts: list[str]) -> dict[str, list[Any]]:
        """Every distinct text value (and code of a code list) of the version's facts: one Spark job."""
        wanted: list[Column] = []
        for q in state.version.questions:
            if q.id not in facts:
                continue
            dtype = rows.schema[q.id].dataType
            column = F.col(f"`{q.id}`")
            if isinstance(dtype, T.StringType) and KIND[q.type] in ("date", "text"):
                wanted.append(F.collect_set(column).alias(q.id))
            elif isinstance(dtype, T.ArrayType) and KIND[q.type] == "codes":
                wanted.append(F.array_distinct(F.flatten(F.collect_set(column))).alias(q.id))
        if not wanted:
            return {}
        record = rows.agg(*wanted).collect()[0].asDict()
        return {k: [v for v in (values or []) if v is not None] for k, values in record.items()}

    def _normalise(self, rows: DataFrame, state: VersionState, facts: list[str]) -> tuple[DataFrame, list[int]]:
        columns: dict[str, Column] = {}
        bad: Column = F.lit(False)
        self._values = self._distinct(rows, state, facts)
        for q in state.version.questions:
            if q.id in facts:
                value, wrong = self._column(rows, q, state)
                bad = bad | F.coalesce(wrong, F.lit(False))
            else:
                value = F.lit(None).cast(_SPARK_TYPES[KIND[q.type]])
            if q.default is not None:
                value = F.coalesce(value, F.lit(q.default))
            columns[q.id] = value
        for q in state.version.questions:
            if q.not_after is not None:
                bad = bad | F.coalesce(columns[q.id] > columns[q.not_after], F.lit(False))
        for name in facts:
            if name not in state.vocabulary_set:
                bad = bad | F.col(f"`{name}`").isNotNull()
        marked = rows.select("_row", *[v.alias(k) for k, v in columns.items()], bad.alias("_bad")).persist()
        invalid = [r[0] for r in marked.filter("_bad").select("_row").collect()]
        return marked.filter(~F.col("_bad")).drop("_bad"), invalid

    def _column(self, rows: DataFrame, q: Question, state: VersionState) -> tuple[Column, Column]:
        kind = KIND[q.type]
        column = F.col(f"`{q.id}`")
        dtype = rows.schema[q.id].dataType
        given = column.isNotNull()
        none = F.lit(None).cast(_SPARK_TYPES[kind])
        if isinstance(dtype, T.NullType):
            return none, F.lit(False)
        if kind == "bool":
            return (column, F.lit(False)) if isinstance(dtype, T.BooleanType) else (none, given)
        if kind == "int":
            if not isinstance(dtype, _INTEGERS):
                return none, given
            low = q.minimum if q.minimum is not None else -(2**31)
            high = q.maximum if q.maximum is not None else 10_000
            ok = (column >= low) & (column <= high)
            return F.when(ok, column.cast("long")), given & ~F.coalesce(ok, F.lit(False))
        if kind == "float":
            if not isinstance(dtype, _NUMBERS):
                return none, given
            number = column.cast("double")
            ok = ~F.isnan(number) & (F.abs(number) != F.lit(float("inf")))
            if q.minimum is not None:
                ok = ok & (number >= q.minimum)
            if q.maximum is not None:
                ok = ok & (number <= q.maximum)
            return F.when(ok, number), given & ~F.coalesce(ok, F.lit(False))
        if kind == "date" and isinstance(dtype, T.DateType):
            return column, F.lit(False)
        if kind in ("date", "text") and isinstance(dtype, T.StringType):
            distinct = self._values.get(q.id, [])
            cache = state.validated(q, distinct)
            valid = {v: cache[v] for v in distinct if cache[v] is not _INVALID}
            mapping = _mapping(valid)
            value = mapping[column] if mapping is not None else none
            return value, given & value.isNull()
        if kind == "codes" and isinstance(dtype, T.ArrayType) and isinstance(dtype.elementType, T.StringType):
            items = self._values.get(q.id, [])
            cache = state.validated(q, [[item] for item in items])
            valid = {item: cache[(item,)][0] for item in items if cache[(item,)] is not _INVALID}
            mapping = _mapping(valid)
            if mapping is None:
                return none, given
            ok = F.forall(column, lambda code: code.isNotNull() & mapping[code].isNotNull())
            ok = ok & (F.size(column) >= 1) & (F.size(column) <= 50)
            return F.when(ok, F.transform(column, lambda code: mapping[code])), given & ~F.coalesce(ok, F.lit(False))
        return none, given

    # --- decisions -----------------------------------------------------------------------

    def _decide(self, normal: DataFrame, state: VersionState) -> tuple[pl.DataFrame, list[int]]:
        version = state.version
        scope = version.scope
        governed: Column = F.lit(True)
        if scope is not None:
            literals = [v for v in scope.not_governed if isinstance(v, str)]
            if literals:
                governed = ~F.coalesce(F.col(f"`{scope.fact}`").isin(literals), F.lit(False))
        parts: list[pl.DataFrame] = []
        refused: list[int] = []
        inside = normal.filter(governed)
        outside = normal.filter(~governed)
        decided, more = self._governed(inside, state)
        parts.append(decided)
        refused += more
        def group(facts: dict[str, Any]) -> int | None:
            return self.book._group_of(version, outcome(determine_or_none(version, facts)))

        groups = self._read_groups(outside, state, state.not_governed, group, "long")
        if groups is not None:
            ng = groups.withColumnRenamed("_value", "_group").withColumn("authorization_end", F.lit(None).cast("date"))
            frame = _to_polars(ng.select("_row", "_group", "authorization_end"))
            refused += frame.filter(pl.col("_group").is_null())["_row"].to_list()
            parts.append(frame.filter(pl.col("_group").is_not_null()))
        return pl.concat(parts, how="diagonal"), refused

    def _governed(self, rows: DataFrame, state: VersionState) -> tuple[pl.DataFrame, list[int]]:
        plan, version = state.plan, state.version
        for node in plan.nodes:
            if node.operator == "all":
                expr = SPARK.all_of([F.col(f"_s{c}") for c in node.children])
            elif node.operator == "any":
                expr = SPARK.any_of([F.col(f"_s{c}") for c in node.children])
            elif node.operator == "not":
                expr = ~F.col(f"_s{node.children[0]}")
            else:
                expr = LEAVES[node.operator](plan, node, SPARK)
            rows = rows.withColumn(f"_s{node.index}", expr)
        rows = rows.persist()  # read the statuses from here on, not their expressions inlined (code size)
        for walk in walk_columns(plan, SPARK, lambda i: F.col(f"_s{i}")):
            rows = rows.select("*", *[v.alias(k) for k, v in walk.items()])
        rows = rows.persist()
        keys = pattern_keys(plan, state.vocabulary, SPARK, lambda i: F.col(f"_s{i}"))
        rows = rows.select("_row", *[F.col(f"`{f}`") for f in state.vocabulary],
                           *[v.alias(k) for k, v in keys.items()]).persist()
        names = list(keys)
        found = rows.groupBy(*names).agg(F.first(F.struct(*[F.col(f"`{f}`") for f in state.vocabulary])).alias("_rep"))
        table = []
        for record in found.collect():
            key = tuple(record[n] for n in names)
            if key not in state.patterns:
                facts = {f: v for f, v in record["_rep"].asDict().items() if v is not None}
                state.patterns[key] = self.book._group_of(version, outcome(determine_or_none(version, facts)))
            table.append((*key, state.patterns[key]))
        schema = T.StructType([*(T.StructField(n, T.LongType()) for n in names),
                               T.StructField("_group", T.LongType())])
        mapping = self.spark.createDataFrame(table, schema)
        decided = rows.join(F.broadcast(mapping), on=names, how="left")
        approved_groups = [
            g for g in {t[-1] for t in table} if g is not None and self.book.groups[g].decision == "approved"
        ]
        approved = F.col("_group").isin(approved_groups) if approved_groups else F.lit(False)
        end = self._authorization_ends(decided.filter(approved), state)
        decided = decided.join(end, on="_row", how="left") if end is not None else decided.withColumn(
            "authorization_end", F.lit(None).cast("date"))
        frame = _to_polars(decided.select("_row", "_group", "authorization_end"))
        refused_mask = pl.col("_group").is_null() | (pl.col("_group").is_in(approved_groups)
                                                     & pl.col("authorization_end").is_null())
        refused = frame.filter(refused_mask)["_row"].to_list()
        return frame.filter(~refused_mask), refused

    def _authorization_ends(self, approved: DataFrame, state: VersionState) -> DataFrame | None:
        version = state.version
        try:
            expr = authorization_end(version, state.plan.kinds, SPARK)
        except NotColumnar:
            expr = None
        if expr is not None:
            ends = approved.select("_row", expr.alias("authorization_end"))
            sample = approved.select("_row", *[F.col(f"`{f}`") for f in state.vocabulary],
                                     expr.alias("_end")).limit(SAMPLE).collect()
            if all(core_authorization_end(version, {f: r[f] for f in state.vocabulary if r[f] is not None}) == r["_end"]
                   for r in sample):
                return ends
            self.book.unsupported[f"{version.id} {version.version} authorization"] = (
                "the column-wise authorization end differs from the core on a sampled row; computed by the core"
            )
        values = self._read_groups(approved, state, state.authorizations,
                                   lambda f: core_authorization_end(version, f), "date")
        return values.withColumnRenamed("_value", "authorization_end") if values is not None else None

    def _read_groups(self, rows: DataFrame, state: VersionState, groups: ReadGroups,
                     compute: Callable[[dict[str, Any]], Any], dtype: str) -> DataFrame | None:
        """The Polars path's ReadGroups, level by level on Spark: (_row, _value)."""
        vocabulary = state.vocabulary
        order = {f: i for i, f in enumerate(vocabulary)}
        pending: dict[frozenset[str], DataFrame] = {frozenset(): rows}
        done: list[DataFrame] = []
        spark_type = T.LongType() if dtype == "long" else T.DateType()
        while pending:
            reads = min(pending, key=len)
            part = pending.pop(reads)
            names = sorted(reads, key=order.__getitem__)
            table = groups.tables.setdefault(reads, {})
            representative = F.first(F.struct(*[F.col(f"`{f}`") for f in vocabulary])).alias("_rep")
            found = (part.groupBy(*[F.col(f"`{n}`") for n in names]).agg(representative) if names
                     else part.agg(representative))
            records = [r for r in found.collect() if r["_rep"] is not None]
            if not records:
                continue
            entries = []
            for record in records:
                row = record["_rep"].asDict()
                key = tuple(hashable(row[n]) for n in names)
                if key not in table:
                    groups._call(reads, key, row, vocabulary, order, compute)
                entries.append((row, table[key]))
            onward = sorted({e.reads for _, e in entries if hasattr(e, "reads")}, key=sorted)
            step = {r: k for k, r in enumerate(onward)}
            fields = [T.StructField(f"_key_{n}", part.schema[n].dataType) for n in names]
            schema = T.StructType(
                [*fields, T.StructField("_value", spark_type), T.StructField("_next", T.IntegerType())]
            )
            data = [
                (*(row[n] for n in names), None if hasattr(e, "reads") else e,
                 step[e.reads] if hasattr(e, "reads") else None)
                for row, e in entries
            ]
            mapping = F.broadcast(self.spark.createDataFrame(data, schema))
            if names:
                condition = reduce(lambda a, b: a & b,
                                   [F.col(f"`{n}`").eqNullSafe(F.col(f"_key_{n}")) for n in names])
                joined = part.join(mapping, on=condition, how="left").drop(*[f"_key_{n}" for n in names])
            else:
                joined = part.crossJoin(mapping)
            done.append(joined.filter(F.col("_next").isNull()).select("_row", "_value"))
            for k, wider in enumerate(onward):
                more = joined.filter(F.col("_next") == k).drop("_value", "_next")
                pending[wider] = pending[wider].unionByName(more) if wider in pending else more
        if not done:
            return None
        return reduce(lambda a, b: a.unionByName(b), done)

    def _one_by_one(self, df: DataFrame, facts: list[str], rows: list[int]
                    ) -> tuple[pl.DataFrame | None, list[RowError]]:
        errors: list[RowError] = []
        if not rows:
            return None, errors
        wanted = self.spark.createDataFrame([(r,) for r in rows], T.StructType([T.StructField("_row", T.LongType())]))
        records = df.join(F.broadcast(wanted), on="_row", how="inner").collect()
        decided_rows, groups, ends = [], [], []
        for record in sorted(records, key=lambda r: r["_row"]):
            values = record.asDict()
            raw = {"policy": values.get("policy"), "facts": {k: values[k] for k in facts if values[k] is not None}}
            try:
                det = decide_one(raw, self.policies, self.forced)
            except PriorAuthError as exc:
                field, problem = (exc.field, exc.problem) if isinstance(exc, RequestError) else ("request", str(exc))
                errors.append(RowError(values["_row"], values.get("id"), field, str(exc.code), problem))
                continue
            version = self.book._version_of(det)
            decided_rows.append(values["_row"])
            groups.append(self.book._group_of(version, outcome(det)))
            ends.append(det.authorization.end if det.authorization is not None else None)
        frame = pl.DataFrame({
            "_row": pl.Series(decided_rows, dtype=pl.Int64),
            "_group": pl.Series(groups, dtype=pl.Int64),
            "authorization_end": pl.Series(ends, dtype=pl.Date),
        })
        return frame, errors


_SPARK_TYPES = {
    "bool": "boolean", "int": "long", "float": "double", "text": "string", "date": "date", "codes": "array<string>",
}


def _to_polars(df: DataFrame) -> pl.DataFrame:
    frame = pl.from_arrow(df.toArrow())
    assert isinstance(frame, pl.DataFrame)
    return frame.with_columns(pl.col("_row").cast(pl.Int64), pl.col("_group").cast(pl.Int64),
                              pl.col("authorization_end").cast(pl.Date))


def decide_spark(requests: Path, policies: PolicyRegistry, forced: PolicyVersion | None = None,
                 master: str = "local[2]") -> tuple[pl.DataFrame, list[RowError], SparkBatch]:
    """The decisions of a Parquet request history on Spark, as a Polars frame on the driver."""
    if requests.suffix.lower() != ".parquet" and not requests.is_dir():
        raise RequestError("REQUESTS", "--engine spark reads Parquet (a file or a folder of part files)")
    if not requests.exists():
        raise RequestError("REQUESTS", f"{requests}: no such file")
    spark = spark_session(master)
    df = spark.read.parquet(str(requests))
    if "policy" not in df.columns:
        raise RequestError("REQUESTS", f"{requests}: a Parquet request history needs a `policy` column")
    run = SparkBatch(spark, policies, forced)
    decided, errors = run.decide(df)
    return decided, errors, run


def decide_file_spark(requests: Path, out: Path, policies: PolicyRegistry, forced: PolicyVersion | None = None,
                      master: str = "local[*]") -> tuple[BatchSummary, list[RowError]]:
    start = time.perf_counter()
    writer = DecisionWriter(out)
    try:
        decided, errors, run = decide_spark(requests, policies, forced, master)
        writer.write(decided)
    finally:
        writer.close()
    summary = BatchSummary(engine="spark")
    summary.rows = decided.height + len(errors)
    summary.decided = decided.height
    summary.refused = len(errors)
    summary.per_request = run.book.per_request_rows
    summary.decisions.update(dict(decided["decision"].value_counts().iter_rows()))
    summary.notes = dict(run.book.unsupported)
    summary.seconds = time.perf_counter() - start
    return summary, errors
