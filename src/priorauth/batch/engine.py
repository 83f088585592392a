"""Batch decisions with Polars: the compiled criteria evaluated column-wise, identical to
`priorauth.evaluate` on every request.

For each chunk of requests:

1. Rows are split by policy and by the version in force on their decision date (or all
   go to the `--version` given).
2. Facts are validated column by column with the version's own validator, applied once
   per distinct value (a code list once per distinct code; numbers by their bounds), so a
   value is accepted and normalised exactly as the per-request path does. Defaults are
   filled and `not_after` checked. A row with any problem is decided (or refused, naming
   the field) by the per-request path, as `priorauth evaluate` would.
3. Each leaf is a nullable boolean column (null: unknown); the root follows with Polars'
   Kleene `all_horizontal` / `any_horizontal` / `not`.
4. Rows are grouped by the pattern that fixes their determination: every leaf's status
   and, when the root is unknown, which facts are unknown (the residual depends on nothing
   else; the core caches it by the same key). One row of each new pattern is decided by the
   core (`determine`), and its decision, reasons and missing facts hold for the pattern.
5. What depends on fact values rather than on statuses (the authorization of an approval,
   the routing of a request the policy does not govern) is computed by the core once per
   distinct value of the facts it reads. Which facts those are is observed, not assumed:
   the core is handed the facts in a mapping that records every read, and rows are grouped
   by the values of the facts read until no call reads another (`ReadGroups`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import polars as pl
from pydantic import ValidationError

from priorauth.batch.authorization import NotColumnar, authorization_end
from priorauth.batch.outcomes import (
    PARALLEL_FROM,
    SAMPLE,
    WORKERS_ENV,
    Group,
    Outcome,
    RowError,
    _decide_in_worker,
    _portable,
    core_authorization_end,
    determine_or_none,
    outcome,
    trace_codes,
)
from priorauth.batch.plan import KIND, LEAVES, VersionPlan, comparable, pattern_keys, walk_columns
from priorauth.batch.polars_dialect import POLARS, month_columns
from priorauth.batch.read_groups import ReadGroups, hashable
from priorauth.batch.single import decide_one
from priorauth.batch.source import SYSTEM_COLUMNS, Refused, RequestChunk
from priorauth.core import (
    Determination,
    Policy,
    PolicyRegistry,
    PolicyVersion,
    PriorAuthError,
    Question,
    RequestError,
    parse_iso_date,
)

__all__ = ["DECISIONS_SCHEMA", "DECISION_COLUMNS", "STATUS", "BatchDecider", "Group", "RowError", "VersionState"]

DECISION_COLUMNS = (
    "row", "id", "policy", "policy_version", "policy_digest", "decision", "reasons", "missing_facts",
    "authorization_end",
)
DECISIONS_SCHEMA: dict[str, Any] = {
    "row": pl.Int64,
    "id": pl.String,
    "policy": pl.String,
    "policy_version": pl.String,
    "policy_digest": pl.String,
    "decision": pl.String,
    "reasons": pl.List(pl.String),
    "missing_facts": pl.List(pl.String),
    "authorization_end": pl.Date,
}
_DTYPES: dict[str, Any] = {
    "bool": pl.Boolean,
    "int": pl.Int64,
    "float": pl.Float64,
    "text": pl.String,
    "date": pl.Date,
    "codes": pl.List(pl.String),
}
_INVALID = object()


STATUS = "status:"  # prefix of the per-criterion status columns (0 unknown, 1 not met, 2 met)


def _code(index: int) -> pl.Expr:
    """A node's status as 0 (unknown), 1 (not met) or 2 (met)."""
    return POLARS.status_code(pl.col(f"_s{index}"))


_LEAVES_PER_CODE = 31  # 2 bits a leaf in a signed 64-bit integer
_FACTS_PER_CODE = 62


def _node_statuses(plan: VersionPlan, leaves_given: bool = False) -> list[list[pl.Expr]]:
    """Every node's status column `_s<index>`, by height: leaves from their tests (or already
    there, `leaves_given`), then each composite from its children's columns."""
    exprs: dict[int, pl.Expr] = {}
    for node in plan.nodes:
        if leaves_given and node.operator not in ("all", "any", "not"):
            continue
        if node.operator == "all":
            exprs[node.index] = pl.all_horizontal([pl.col(f"_s{c}") for c in node.children])
        elif node.operator == "any":
            exprs[node.index] = pl.any_horizontal([pl.col(f"_s{c}") for c in node.children])
        elif node.operator == "not":
            exprs[node.index] = ~pl.col(f"_s{node.children[0]}")
        else:
            exprs[node.index] = LEAVES[node.operator](plan, node, POLARS)
    levels: list[list[pl.Expr]] = [[] for _ in range(1 + max(n.height for n in plan.nodes))]
    for n in plan.nodes:
        if n.index in exprs:
            levels[n.height].append(exprs[n.index].alias(f"_s{n.index}"))
    return [level for level in levels if level]


class VersionState:
    """What a batch keeps for one version: its plan, validated values, and patterns decided so far."""

    def __init__(self, version: PolicyVersion) -> None:
        self.version = version
        self.plan = VersionPlan(version)
        self.vocabulary = [q.id for q in version.questions]
        self.vocabulary_set = frozenset(self.vocabulary)
        # the facts some leaf reads: the only unknowns a residual can turn on
        self.read_facts = [f for f in self.vocabulary if any(f in leaf.reads for leaf in self.plan.leaves)]
        self.validator = version.runtime.facts_validator
        self.values: dict[str, dict[Any, Any]] = {q: {} for q in self.vocabulary}
        self.patterns: dict[tuple, int | None] = {}
        # (leaf statuses, unknown facts) combinations decided so far -> group (and statuses, for impact)
        self.combinations: dict[bool, pl.DataFrame] = {}
        self.authorizations = ReadGroups()
        self.not_governed = ReadGroups()
        try:
            self.authorization_end: pl.Expr | None = authorization_end(version, self.plan.kinds, POLARS)
        except NotColumnar:
            self.authorization_end = None

    def validated(self, question: Question, values: Iterable[Any]) -> dict[Any, Any]:
        """Each distinct raw value -> its normalised value (or _INVALID), by the version's own validator."""
        cache = self.values[question.id]
        for value in values:
            key = hashable(value)
            if key in cache:
                continue
            try:
                cache[key] = self.validator.validate_python({question.id: value})[question.id]
            except (ValidationError, ValueError, TypeError):
                cache[key] = _INVALID
        return cache


class BatchDecider:
    """Decides chunks of requests; keeps the patterns it has decided, so later chunks reuse them."""

    def __init__(self, policies: PolicyRegistry, forced: PolicyVersion | None = None,
                 workers: int | None = None) -> None:
        import os

        self.policies = policies
        if workers is None:
            workers = int(os.environ.get(WORKERS_ENV) or os.cpu_count() or 1)
        self.workers = workers
        self._pool: Any = None
        self.forced = forced
        self.groups: list[Group] = []
        self._group_keys: dict[tuple, int] = {}
        self._states: dict[int, VersionState] = {}
        self._group_frame = _empty_groups()
        self.per_request_rows = 0
        self.unsupported: dict[str, str] = {}

    # --- public --------------------------------------------------------------------------

    def decide(self, chunk: RequestChunk, with_statuses: bool = False) -> tuple[pl.DataFrame, list[RowError]]:
        """The decisions of a chunk's decidable rows (in row order) and the problems of the others.

        `with_statuses` adds `_group` and a `status:<criterion>` column per criterion of the
        versions decided under (0 unknown, 1 not met, 2 met; null where the policy does not
        govern the request), for the impact analysis.
        """
        frame = chunk.frame
        slow: list[pl.Series] = [frame.filter(pl.col("_flag"))["_row"]]
        parts: list[pl.DataFrame] = []
        by_version, unplaced = self._by_version(frame.filter(~pl.col("_flag")))
        slow += unplaced
        for version, rows in by_version:
            if rows.height == 0:
                continue
            state = self._state(version)
            if state.plan.unsupported is not None:
                self.unsupported[f"{version.id} {version.version}"] = state.plan.unsupported
                slow.append(rows["_row"])
                continue
            normal, invalid = self._normalise(rows, state)
            slow.append(invalid)
            if normal.height == 0:
                continue
            decided, refused = self._decide_columns(normal, state, with_statuses)
            parts.append(decided)
            slow.append(refused)
        slow_rows = pl.concat(slow).sort().to_list() if slow else []
        decided_slow, errors = self._decide_one_by_one(chunk, slow_rows, with_statuses)
        if decided_slow is not None:
            parts.append(decided_slow)
        self.per_request_rows += len(slow_rows)
        decided = pl.concat(parts, how="diagonal") if parts else pl.DataFrame(
            schema={"_row": pl.Int64, "_group": pl.Int64, "authorization_end": pl.Date}
        )
        # In the file's order, each row with its id (found by position: the chunk's rows are sorted) and its
        # group's policy, version, decision and reasons.
        decided = decided.sort("_row")
        ids = frame["id"].gather(frame["_row"].search_sorted(decided["_row"]))
        out = (
            decided.with_columns(ids.alias("id"))
            .join(self._groups_frame(), on="_group", how="left", maintain_order="left")
            .rename({"_row": "row"})
        )
        columns = list(DECISION_COLUMNS)
        if with_statuses:
            columns += ["_group", *(c for c in out.columns if c.startswith(STATUS))]
        return out.select(columns), errors

    # --- versions ------------------------------------------------------------------------

    def _state(self, version: PolicyVersion) -> VersionState:
        state = self._states.get(id(version))
        if state is None or state.version is not version:
            state = self._states[id(version)] = VersionState(version)
        return state

    def _by_version(self, frame: pl.DataFrame) -> tuple[list[tuple[PolicyVersion, pl.DataFrame]], list[pl.Series]]:
        """(version, its rows) for each version present; rows the per-request path must take."""
        if self.forced is not None:
            mine = (frame["policy"] == self.forced.id).fill_null(False)
            return [(self.forced, frame.filter(mine))], [frame.filter(~mine)["_row"]]
        known = frame["policy"].is_in(self.policies.ids()).fill_null(False)
        slow = [frame.filter(~known)["_row"]]
        out: list[tuple[PolicyVersion, pl.DataFrame]] = []
        frame = frame.filter(known)
        for policy_id in frame["policy"].unique().sort().to_list():
            rows = frame.filter(pl.col("policy") == policy_id)
            policy = self.policies.get(policy_id)
            day, bad = _decision_days(rows, policy)
            bad = bad | (day < policy.first.effective).fill_null(False)
            slow.append(rows.filter(bad)["_row"])
            for i, version in enumerate(policy.versions):
                in_force = day >= version.effective
                if i + 1 < len(policy.versions):
                    in_force = in_force & (day < policy.versions[i + 1].effective)
                else:
                    in_force = in_force | day.is_null()
                out.append((version, rows.filter(~bad & in_force.fill_null(False))))
        return out, slow

    # --- facts ---------------------------------------------------------------------------

    def _normalise(self, rows: pl.DataFrame, state: VersionState) -> tuple[pl.DataFrame, pl.Series]:
        """The version's facts validated and normalised column-wise; the rows with any problem.

        One query: each fact's expression maps its values through the version's validator
        (applied beforehand to each distinct text value or code), or checks its bounds.
        """
        schema = rows.schema
        present = [q for q in state.version.questions if q.id in schema]
        distinct = self._distinct(rows, present)
        values: dict[str, pl.Expr] = {}
        bad: list[pl.Expr] = []
        for q in state.version.questions:
            if q.id in schema:
                value, wrong = self._column(q, schema[q.id], state, distinct.get(q.id, []))
                bad.append(wrong)
            else:
                value = pl.lit(None, dtype=_DTYPES[KIND[q.type]])
            if q.default is not None:
                value = value.fill_null(q.default)
            values[q.id] = value
        for q in state.version.questions:
            if q.not_after is not None:
                bad.append((values[q.id] > values[q.not_after]).fill_null(False))
        for name in rows.columns:
            if name not in SYSTEM_COLUMNS and name not in state.vocabulary_set:
                bad.append(pl.col(name).is_not_null())
        if rows["_null_keys"].null_count() < rows.height:
            bad.append(pl.col("_null_keys").list.eval(~pl.element().is_in(state.vocabulary)).list.any()
                       .fill_null(False))
        checked = rows.select(
            "_row", *[v.alias(k) for k, v in values.items()],
            (pl.any_horizontal(bad) if bad else pl.lit(False)).alias("_bad"),
        )
        refused = checked["_bad"]
        return checked.filter(~refused).drop("_bad"), checked.filter(refused)["_row"]

    @staticmethod
    def _distinct(rows: pl.DataFrame, questions: list[Question]) -> dict[str, list[Any]]:
        """Each distinct text value (each code, for a code list) of the facts validated by value: one query."""
        wanted = []
        for q in questions:
            dtype: Any = rows.schema[q.id]
            kind = KIND[q.type]
            column = pl.col(q.id)
            if isinstance(dtype, pl.Categorical | pl.Enum):
                column, dtype = column.cast(pl.String), pl.String
            if dtype == pl.String and kind in ("date", "text"):
                wanted.append(column.drop_nulls().unique().implode().alias(q.id))
            elif dtype == pl.List(pl.String) and kind == "codes":
                wanted.append(column.explode().drop_nulls().unique().implode().alias(q.id))
        if not wanted:
            return {}
        return {k: v[0] for k, v in rows.select(wanted).to_dict(as_series=False).items()}

    def _column(self, q: Question, dtype: Any, state: VersionState, distinct: list[Any]
                ) -> tuple[pl.Expr, pl.Expr]:
        """(normalised value, whether the per-request path would refuse the row's value) as expressions."""
        kind = KIND[q.type]
        raw = pl.col(q.id)
        none = pl.lit(None, dtype=_DTYPES[kind])
        if dtype == pl.Null:
            return none, pl.lit(False)
        if isinstance(dtype, pl.Categorical | pl.Enum):
            raw, dtype = raw.cast(pl.String), pl.String
        given = raw.is_not_null()
        if kind == "bool":
            return (raw, pl.lit(False)) if dtype == pl.Boolean else (none, given)
        if kind == "int":
            if not dtype.is_integer():
                return none, given
            low = q.minimum if q.minimum is not None else -(2**31)
            high = q.maximum if q.maximum is not None else 10_000
            ok = ((raw >= low) & (raw <= high)).fill_null(False)
            return pl.when(ok).then(raw.cast(pl.Int64, strict=False)), given & ~ok
        if kind == "float":
            if not (dtype.is_integer() or dtype.is_float()):
                return none, given
            number = raw.cast(pl.Float64)
            ok = number.is_finite()
            if q.minimum is not None:
                ok = ok & (number >= q.minimum)
            if q.maximum is not None:
                ok = ok & (number <= q.maximum)
            ok = ok.fill_null(False)
            return pl.when(ok).then(number), given & ~ok
        if kind == "date" and dtype == pl.Date:
            return raw, pl.lit(False)
        if kind in ("date", "text") and dtype == pl.String:
            cache = state.validated(q, distinct)
            valid = {v: cache[v] for v in distinct if cache[v] is not _INVALID}
            if not valid:
                return none, given
            if kind == "text" and all(k == v for k, v in valid.items()):
                ok = raw.is_in(list(valid)).fill_null(False)
                return pl.when(ok).then(raw), given & ~ok
            value = raw.replace_strict(valid, default=None, return_dtype=_DTYPES[kind])
            return value, given & value.is_null()
        if kind == "codes" and dtype == pl.List(pl.String):
            cache = state.validated(q, [[item] for item in distinct])
            valid = {item: cache[(item,)][0] for item in distinct if cache[(item,)] is not _INVALID}
            if not valid:
                return none, given
            ok = raw.list.eval(pl.element().is_in(list(valid)).fill_null(False)).list.all()
            ok = (ok & raw.list.len().is_between(1, 50)).fill_null(False)
            if any(k != v for k, v in valid.items()):
                raw = raw.list.eval(pl.element().replace_strict(valid, default=None, return_dtype=pl.String))
            return pl.when(ok).then(raw), given & ~ok
        return none, given

    # --- decisions -----------------------------------------------------------------------

    def _decide_columns(self, normal: pl.DataFrame, state: VersionState, with_statuses: bool
                        ) -> tuple[pl.DataFrame, pl.Series]:
        """(_row, _group, authorization_end) for validated rows of one version; rows left to the per-request path."""
        version = state.version
        scope = version.scope
        governed = pl.lit(True)
        if scope is not None:
            kind = state.plan.kinds.get(scope.fact, "text")
            literals = [lit for ok, lit in (comparable(kind, v) for v in scope.not_governed) if ok]
            if literals:
                governed = ~pl.col(scope.fact).is_in(literals).fill_null(False)
        split = normal.with_columns(_governed=governed)
        parts = []
        inside = split.filter(pl.col("_governed")).drop("_governed")
        if inside.height:
            parts.append(self._decide_governed(inside, state, with_statuses))
        outside = split.filter(~pl.col("_governed")).drop("_governed")
        if outside.height:
            def group(facts: dict[str, Any]) -> int | None:
                return self._group_of(version, outcome(determine_or_none(version, facts)))

            groups = state.not_governed.apply(outside, state.vocabulary, group, pl.Int64)
            parts.append(pl.DataFrame([
                outside["_row"], groups.alias("_group"),
                pl.repeat(None, outside.height, dtype=pl.Date, eager=True).alias("authorization_end"),
            ]))
        decided = pl.concat(parts, how="diagonal")
        refused = decided["_group"].is_null()
        return decided.filter(~refused), decided.filter(refused)["_row"]

    def _decide_governed(self, rows: pl.DataFrame, state: VersionState, with_statuses: bool) -> pl.DataFrame:
        """(_row, _group, authorization_end, and every criterion's status code) for governed rows.

        Each row is reduced to its leaves' statuses and which facts the leaves read are
        unknown, packed in a few integers (`_l*`, `_q*`); everything else (the root, the
        walks, the pattern key) is a function of those, so it is computed once per distinct
        combination, not once per row. `_group` is null for a row the per-request path must
        take (the core refuses its pattern's representative, or cannot choose its terms).
        """
        plan, version = state.plan, state.version
        leaves, read = plan.leaves, state.read_facts
        packed: dict[str, pl.Expr] = {}
        for k in range(0, max(len(leaves), 1), _LEAVES_PER_CODE):
            chunk = leaves[k : k + _LEAVES_PER_CODE]
            packed[f"_l{k // _LEAVES_PER_CODE}"] = pl.sum_horizontal(
                [POLARS.status_code(LEAVES[leaf.operator](plan, leaf, POLARS)) * (4**j) for j, leaf in enumerate(chunk)]
            ) if chunk else pl.lit(0, dtype=pl.Int64)
        for k in range(0, len(read), _FACTS_PER_CODE):
            packed[f"_q{k // _FACTS_PER_CODE}"] = pl.sum_horizontal(
                [pl.col(f).is_null().cast(pl.Int64) * (2**j) for j, f in enumerate(read[k : k + _FACTS_PER_CODE])]
            )
        codes = list(packed)
        rows = month_columns(rows, plan).with_columns(**packed)
        distinct = rows.select(codes).unique()
        known = state.combinations.get(with_statuses)
        new = distinct.join(known, on=codes, how="anti") if known is not None else distinct
        if new.height == 0 and known is not None:
            combos = known.clear()
            fresh = combos
        else:
            combos = self._combinations(new, state, with_statuses)
            fresh = combos.filter(pl.col("_group").is_null() & pl.col("_fresh"))
        if fresh.height:
            examples = rows.join(fresh.select(codes), on=codes, how="semi").unique(subset=codes, keep="any")
            key_columns = [c for c in combos.columns if c.startswith(("_k", "_r", "_u"))]
            pattern_of = dict(zip(fresh.select(codes).rows(), fresh.select(key_columns).rows(), strict=True))
            todo: dict[tuple, dict[str, Any]] = {}
            combo_pattern: dict[tuple, tuple] = {}
            for row in examples.iter_rows(named=True):
                combo = tuple(row[c] for c in codes)
                pattern = combo_pattern[combo] = pattern_of[combo]
                if pattern not in state.patterns and pattern not in todo:
                    todo[pattern] = {f: row[f] for f in state.vocabulary if row[f] is not None}
            for pattern, decided in zip(todo, self._decide_patterns(version, list(todo.values())), strict=True):
                state.patterns[pattern] = self._group_of(version, decided)
            found = {combo: state.patterns[pattern] for combo, pattern in combo_pattern.items()}
            combos = combos.with_columns(
                pl.when(pl.col("_fresh"))
                .then(pl.struct(codes).map_elements(lambda c: found.get(tuple(c.values())), return_dtype=pl.Int64))
                .otherwise(pl.col("_group"))
                .alias("_group")
            )
        statuses = [c for c in combos.columns if c.startswith(STATUS)]
        combos = combos.select(*codes, "_group", *statuses)
        # Combinations seen in earlier chunks keep their group: only new ones are worked out.
        known = pl.concat([known, combos]) if known is not None else combos
        state.combinations[with_statuses] = known
        joined = rows.select("_row", *codes).join(known, on=codes, how="left", maintain_order="left")
        groups = joined["_group"]
        approved_groups = [g for g in groups.unique().drop_nulls().to_list() if self.groups[g].decision == "approved"]
        approved = groups.is_in(approved_groups)
        ends = pl.repeat(None, rows.height, dtype=pl.Date, eager=True).alias("authorization_end")
        if approved.any():
            values = self._authorization_ends(rows.filter(approved), state)
            ends = ends.scatter(approved.arg_true(), values)
            # An approval whose terms the core cannot choose: refused per request, as the core refuses it.
            groups = pl.select(pl.when(approved & ends.is_null()).then(None).otherwise(groups)).to_series()
        return joined.select("_row", *statuses).with_columns(groups.alias("_group"), ends)

    def _combinations(self, combos: pl.DataFrame, state: VersionState, with_statuses: bool) -> pl.DataFrame:
        """For each distinct (leaf statuses, unknown facts): its pattern key, its group if known, statuses."""
        plan = state.plan
        leaves = plan.leaves
        decoded: dict[str, pl.Expr] = {}
        for k in range(0, len(leaves), _LEAVES_PER_CODE):
            for j, leaf in enumerate(leaves[k : k + _LEAVES_PER_CODE]):
                code = (pl.col(f"_l{k // _LEAVES_PER_CODE}") // (4**j)) % 4
                decoded[f"_s{leaf.index}"] = pl.when(code == 2).then(True).when(code == 1).then(False)
        read = state.read_facts
        for k in range(0, len(read), _FACTS_PER_CODE):
            for j, fact in enumerate(read[k : k + _FACTS_PER_CODE]):
                # a stand-in column that is null exactly where the fact is unknown (the key reads nothing else)
                decoded[fact] = pl.when((pl.col(f"_q{k // _FACTS_PER_CODE}") // (2**j)) % 2 == 0).then(True)
        plan_combos = combos.lazy().with_columns(**decoded)
        for level in _node_statuses(plan, leaves_given=True):
            plan_combos = plan_combos.with_columns(level)
        for walk in walk_columns(plan, POLARS, lambda i: pl.col(f"_s{i}")):
            plan_combos = plan_combos.with_columns(**walk)
        keys = pattern_keys(plan, state.vocabulary, POLARS, lambda i: pl.col(f"_s{i}"))
        statuses = [_code(n.index).cast(pl.Int8).alias(f"{STATUS}{n.criterion}") for n in plan.nodes] \
            if with_statuses else []
        out = plan_combos.select(*combos.columns, *[v.alias(k) for k, v in keys.items()], *statuses).collect()
        key_columns = list(keys)
        patterns = out.select(key_columns).rows()
        known = [state.patterns.get(p) for p in patterns]
        fresh = [p not in state.patterns for p in patterns]
        return out.with_columns(pl.Series("_group", known, dtype=pl.Int64), pl.Series("_fresh", fresh))

    def _decide_patterns(self, version: PolicyVersion, rows: list[dict[str, Any]]) -> list[Outcome | None]:
        """The core's outcome for each new pattern's facts: in worker processes when they are many."""
        if len(rows) < PARALLEL_FROM or self.workers < 2:
            return [outcome(determine_or_none(version, facts)) for facts in rows]
        if self._pool is None:
            import multiprocessing

            self._pool = multiprocessing.get_context("fork").Pool(self.workers)
        portable = _portable(version)
        # Most expensive last in the input tends to leave one worker idle: interleave in small tasks.
        size = max(1, len(rows) // (self.workers * 8))
        tasks = [(portable, rows[k : k + size]) for k in range(0, len(rows), size)]
        return [o for part in self._pool.map(_decide_in_worker, tasks) for o in part]

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def _authorization_ends(self, rows: pl.DataFrame, state: VersionState) -> pl.Series:
        """The period's end of approved rows: column-wise, checked on a sample against the core."""
        version = state.version
        if state.authorization_end is not None:
            values = rows.select(state.authorization_end.alias("_end"))["_end"]
            step = max(1, rows.height // SAMPLE)
            sample = list(range(0, rows.height, step))[:SAMPLE]
            facts = [{f: v for f, v in row.items() if v is not None}
                     for row in rows[sample].select(state.vocabulary).to_dicts()]
            if all(core_authorization_end(version, f) == values[k] for k, f in zip(sample, facts, strict=True)):
                return values
            self.unsupported[f"{version.id} {version.version} authorization"] = (
                "the column-wise authorization end differs from the core on a sampled row; "
                "computed by the core from then on"
            )
            state.authorization_end = None
        return state.authorizations.apply(rows, state.vocabulary, lambda f: core_authorization_end(version, f), pl.Date)

    def _decide_one_by_one(self, chunk: RequestChunk, rows: list[int], with_statuses: bool
                           ) -> tuple[pl.DataFrame | None, list[RowError]]:
        """The per-request path, for the rows the column-wise path does not take."""
        errors: list[RowError] = []
        decided_rows: list[int] = []
        groups: list[int | None] = []
        ends: list[dt.date | None] = []
        statuses: list[dict[str, int]] = []
        if not rows:
            return None, errors
        ids = dict(chunk.frame.filter(pl.col("_row").is_in(rows)).select("_row", "id").iter_rows())
        for row in rows:
            raw = chunk.raw(row)
            try:
                if isinstance(raw, Refused):
                    raise raw.error()
                det = decide_one(raw, self.policies, self.forced)
            except PriorAuthError as exc:
                if isinstance(exc, RequestError):
                    errors.append(RowError(row, ids.get(row), exc.field, str(exc.code), exc.problem))
                else:
                    errors.append(RowError(row, ids.get(row), "request", str(exc.code), str(exc)))
                continue
            version = self._version_of(det)
            decided_rows.append(row)
            groups.append(self._group_of(version, outcome(det)))
            ends.append(det.authorization.end if det.authorization is not None else None)
            if with_statuses:
                statuses.append(trace_codes(det))
        frame = pl.DataFrame({
            "_row": pl.Series(decided_rows, dtype=pl.Int64),
            "_group": pl.Series(groups, dtype=pl.Int64),
            "authorization_end": pl.Series(ends, dtype=pl.Date),
        })
        if with_statuses and decided_rows:
            names = sorted({name for codes in statuses for name in codes})
            frame = frame.with_columns(
                pl.Series(f"{STATUS}{name}", [codes.get(name) for codes in statuses], dtype=pl.Int8) for name in names
            )
        return frame, errors

    def _version_of(self, det: Determination) -> PolicyVersion:
        if self.forced is not None:
            return self.forced
        policy: Policy = self.policies.get(det.policy)
        found = policy.by_digest(det.policy_digest)
        assert found is not None
        return found

    # --- groups --------------------------------------------------------------------------

    def _group_of(self, version: PolicyVersion, decided: Outcome | None) -> int | None:
        if decided is None:
            return None
        key = (id(version), *decided)
        found = self._group_keys.get(key)
        if found is not None:
            return found
        group = Group(len(self.groups), version, *decided)
        self.groups.append(group)
        self._group_keys[key] = group.id
        return group.id

    def _groups_frame(self) -> pl.DataFrame:
        have = self._group_frame.height
        if have < len(self.groups):
            new = self.groups[have:]
            self._group_frame = pl.concat([
                self._group_frame,
                pl.DataFrame(
                    {
                        "_group": [g.id for g in new],
                        "policy": [g.version.id for g in new],
                        "policy_version": [g.version.version for g in new],
                        "policy_digest": [g.version.digest for g in new],
                        "decision": [g.decision for g in new],
                        "reasons": [list(g.reasons) for g in new],
                        "missing_facts": [list(g.missing) for g in new],
                    },
                    schema=_GROUP_SCHEMA,
                ),
            ])
        return self._group_frame


# Texts repeated on every row are categorical while the batch runs (a row holds numbers, not
# copies of its reasons); the decisions file stores them as plain text (DecisionWriter).
_GROUP_SCHEMA: dict[str, Any] = {
    "_group": pl.Int64,
    "policy": pl.Categorical,
    "policy_version": pl.Categorical,
    "policy_digest": pl.Categorical,
    "decision": pl.Categorical,
    "reasons": pl.List(pl.Categorical),
    "missing_facts": pl.List(pl.Categorical),
}


def _empty_groups() -> pl.DataFrame:
    return pl.DataFrame(schema=_GROUP_SCHEMA)


_DAYS: dict[str, dt.date | None] = {}


def _decision_days(rows: pl.DataFrame, policy: Policy) -> tuple[pl.Series, pl.Series]:
    """(each row's decision date, rows whose date the per-request path refuses), as `version_for` reads it."""
    name = policy.decided_on
    n = rows.height
    no_days = pl.repeat(None, n, dtype=pl.Date, eager=True)
    fine = pl.repeat(False, n, dtype=pl.Boolean, eager=True)
    if name not in rows.columns:
        return no_days, fine
    raw = rows[name]
    if isinstance(raw.dtype, pl.Categorical | pl.Enum):
        raw = raw.cast(pl.String)
    if raw.dtype == pl.Date:
        return raw, fine
    if raw.dtype == pl.Null:
        return no_days, fine
    if raw.dtype != pl.String:
        return no_days, raw.is_not_null()
    mapping = {}
    for text in raw.drop_nulls().unique().to_list():
        if text not in _DAYS:
            try:
                _DAYS[text] = parse_iso_date(text)
            except ValueError:
                _DAYS[text] = None
        if _DAYS[text] is not None:
            mapping[text] = _DAYS[text]
    days = raw.replace_strict(mapping, default=None, return_dtype=pl.Date)
    return days, raw.is_not_null() & days.is_null()
