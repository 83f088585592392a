"""Synthetic request histories for any policy: every branch, unknown facts, members the policy does not govern.

Templates are drawn by walking the version's criteria tree: a template aims at an outcome
(about two in three at an approval), picks one branch of each `any` (earlier branches more
often: a document lists its main indication first) or fails one child of each `all`, and
gives each leaf a value that meets it or fails it, from the leaf's own argument (its value,
its list, its age or period boundary, its parameter). As on a form that asks only what can
matter, facts no chosen leaf reads are answered now and then; each answer is left unknown
with a small probability, and some members get a line of business the policy does not
govern (with their state and county from the policy's MAC table).

Rows are templates shifted in time as a whole (decision dates spread over every version
of the policy and a year past the latest), each fact dropped again at random. The same
seed gives the same file.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import polars as pl

from priorauth.batch.plan import KIND
from priorauth.core import Policy, PolicyVersion, Question, icd10_exists, load_policy

TEMPLATES = 20_000
ANSWERED = 0.15  # a fact no chosen criterion reads is answered anyway
DROP = 0.02  # an answered fact is left unknown, per template
ROW_DROP = 0.01  # and again per row
OUTSIDE = 0.08  # share of templates the policy does not govern
APPROVABLE = 0.65
_UNCOVERED_CODES = ("E11.9", "C92.00", "Z51.11", "C83.50", "I10", "C91.10", "D61.81")
_TEXTS = ("alpha", "beta", "gamma", "delta")
_STATES = ("OR", "WA", "CA", "TX", "NY", "VA", "FL", "PR", "MD", "DC")
_DTYPES: dict[str, Any] = {
    "bool": pl.Boolean,
    "int": pl.Int64,
    "float": pl.Float64,
    "text": pl.String,
    "date": pl.Date,
    "codes": pl.List(pl.String),
}


def _add_months(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError


class _Templates:
    def __init__(self, version: PolicyVersion, rng: random.Random) -> None:
        self.version = version
        self.rng = rng
        self.questions = {q.id: q for q in version.questions}
        listed = {c for codes in version.code_lists.values() for c in codes.codes}
        self.listed_codes = sorted(listed)
        self.other_codes = [c for c in _UNCOVERED_CODES if c not in listed and icd10_exists(c)]
        macs = version.mac_jurisdictions
        self.states = list(_STATES)
        self.counties: list[tuple[str, str]] = []
        if macs is not None:
            for j in macs.jurisdictions:
                self.states += [s for s in j.states if s not in self.states]
                self.counties += [(state, county) for state, names in j.counties.items() for county in names]

    def make(self, day: dt.date) -> dict[str, Any]:
        version, rng = self.version, self.rng
        facts: dict[str, Any] = {version.decided_on: day}
        self._aim(version.criteria, rng.random() < APPROVABLE, facts, day)
        for q in version.questions:
            if q.id not in facts and rng.random() < ANSWERED:
                facts[q.id] = self._any(q, day)
        scope = version.scope
        if scope is not None:
            if rng.random() < OUTSIDE and scope.not_governed:
                facts[scope.fact] = rng.choice(list(scope.not_governed))
                self._place(facts)
            elif facts.get(scope.fact) in scope.not_governed:
                facts.pop(scope.fact)
        for q in version.questions:  # a date that cannot be after another is not
            if q.not_after and isinstance(facts.get(q.id), dt.date) and isinstance(facts.get(q.not_after), dt.date):
                facts[q.id] = min(facts[q.id], facts[q.not_after])
        return {k: v for k, v in facts.items() if k == version.decided_on or rng.random() >= DROP}

    def _place(self, facts: dict[str, Any]) -> None:
        macs = self.version.mac_jurisdictions
        if macs is None:
            return
        if self.counties and self.rng.random() < 0.3:
            state, county = self.rng.choice(self.counties)
            facts[macs.state_fact], facts[macs.county_fact] = state, county
        else:
            facts[macs.state_fact] = self.rng.choice(self.states)

    def _aim(self, node: Any, want: bool, facts: dict[str, Any], day: dt.date) -> None:
        op = node.operator
        rng = self.rng
        if op == "not":
            self._aim(node.children[0], not want, facts, day)
        elif op in ("all", "any"):
            children = list(node.children)
            if (op == "all") == want:  # all met, or all failed
                for child in children:
                    self._aim(child, want, facts, day)
            else:  # one child decides: fail one of an `all`, meet one of an `any` (earlier ones more often)
                weights = [1 / (k + 1) for k in range(len(children))] if op == "any" else [1.0] * len(children)
                chosen = rng.choices(range(len(children)), weights)[0]
                for i, child in enumerate(children):
                    if i == chosen or rng.random() < 0.5:
                        self._aim(child, want if i == chosen else not want, facts, day)
        else:
            self._leaf(node.leaf.operator, node.leaf.argument, want, facts, day)

    def _leaf(self, op: str, arg: Any, want: bool, facts: dict[str, Any], day: dt.date) -> None:
        rng = self.rng
        params = self.version.runtime.params
        if op == "equals":
            fact, value = arg
            facts[fact] = value if want else self._other(fact, [value], day)
        elif op == "in":
            fact, values = arg
            facts[fact] = rng.choice(list(values)) if want else self._other(fact, list(values), day)
        elif op in ("age_at_least", "age_below"):
            months = arg.months + (rng.randrange(0, 600) if (op == "age_at_least") == want else -rng.randrange(1, 13))
            months = max(months, 0)
            birth = _add_months(day, -months) - dt.timedelta(days=rng.randrange(0, 28))
            facts[arg.fact] = min(birth, day)
        elif op == "codes_in":
            fact, name = arg
            codes = sorted(self.version.code_lists[name].codes)
            if want:
                facts[fact] = [rng.choice(codes)] + ([rng.choice(self.other_codes)] if rng.random() < 0.2 else [])
            else:
                facts[fact] = [rng.choice(self.other_codes)]
        elif op == "within_months":
            months = params[arg["parameter"]]
            if want:
                facts[arg["fact"]] = day - dt.timedelta(days=rng.randrange(0, max(months * 30 - 2, 1)))
            else:
                facts[arg["fact"]] = _add_months(day, -months) - dt.timedelta(days=rng.randrange(1, 200))
        elif op == "below_parameter":
            limit = params[arg["parameter"]]
            q = self.questions[arg["fact"]]
            low = int(q.minimum) if q.minimum is not None else 0
            facts[arg["fact"]] = rng.randrange(low, max(limit, low + 1)) if want else limit + rng.randrange(0, 3)
        elif op == "at_least":
            value = arg["value"]
            q = self.questions[arg["fact"]]
            whole = q.type == "integer"
            if want:
                facts[arg["fact"]] = value + (rng.randrange(0, 4) if whole else round(rng.random() * 5, 2))
            else:
                floor = q.minimum if q.minimum is not None else 0
                below = rng.randrange(int(floor), int(value)) if whole and value > floor else floor
                facts[arg["fact"]] = below if whole else round(floor + rng.random() * max(value - floor, 0) * 0.99, 3)
        else:  # an operator synth does not know: leave the fact to the random answers
            return

    def _other(self, fact: str, not_these: list[Any], day: dt.date) -> Any:
        q = self.questions[fact]
        if q.type == "boolean":
            options: list[Any] = [v for v in (True, False) if v not in not_these]
        elif q.type == "choice":
            options = [v for v in q.values or [] if v not in not_these]
        else:
            options = [self._any(q, day) for _ in range(4)]
            options = [v for v in options if v not in not_these]
        return self.rng.choice(options) if options else None

    def _any(self, q: Question, day: dt.date) -> Any:
        rng = self.rng
        kind = KIND.get(q.type, "text")
        if kind == "bool":
            return rng.random() < 0.5
        if q.type == "choice":
            return rng.choice(q.values or [""])
        if kind == "date":
            return day - dt.timedelta(days=rng.randrange(0, 3 * 365))
        if kind == "int":
            first = int(q.minimum) if q.minimum is not None else 0
            last = int(q.maximum) if q.maximum is not None else first + 10
            return rng.randrange(first, last + 1)
        if kind == "float":
            low = float(q.minimum) if q.minimum is not None else 0.0
            high = float(q.maximum) if q.maximum is not None else low + 100.0
            return round(low + rng.random() * (high - low), 3)
        if kind == "codes":
            return [rng.choice(self.listed_codes + self.other_codes)]
        if q.type == "state":
            return rng.choice(self.states)
        macs = self.version.mac_jurisdictions
        if macs is not None and q.id == macs.county_fact and self.counties:
            return rng.choice(self.counties)[1]
        return rng.choice(_TEXTS)


def _uniform(n: int, seed: int, stream: int, below: int) -> pl.Series:
    """n pseudo-random whole numbers in [0, below): a seeded hash of the row number (no numpy needed)."""
    return (pl.int_range(0, n, eager=True, dtype=pl.UInt64).hash(seed * 1_000_003 + stream) % below).cast(pl.Int64)


def synth_requests(policy: str | Policy, n: int, seed: int = 0) -> pl.DataFrame:
    """`n` synthetic requests: `id`, `policy` and one column per fact of the policy (null: unknown)."""
    chosen = load_policy(policy) if isinstance(policy, str) else policy
    rng = random.Random(seed)
    first, latest = chosen.first.effective, chosen.latest.effective
    last = max(latest + dt.timedelta(days=365), first + dt.timedelta(days=730))
    span = (last - first).days
    questions: dict[str, Question] = {}
    for version in chosen.versions:
        for q in version.questions:
            questions.setdefault(q.id, q)
    count = min(max(n, 1), TEMPLATES)
    makers = [_Templates(v, rng) for v in chosen.versions]
    templates = []
    for _ in range(count):
        day = first + dt.timedelta(days=rng.randrange(span))
        version = chosen.version_on(day) or chosen.first
        templates.append(makers[chosen.versions.index(version)].make(day))
    names = list(questions)
    table = pl.DataFrame(
        {f: pl.Series(f, [t.get(f) for t in templates], dtype=_DTYPES[KIND.get(questions[f].type, "text")])
         for f in names}
    )
    pick = _uniform(n, seed, 0, count)
    rows = table[pick]
    decided_on = chosen.decided_on
    # Shift each row in time as a whole: its dates keep their distances, its decision date lands in the span.
    target = _uniform(n, seed, 1, span).cast(pl.Int32).alias("_target")
    rows = rows.with_columns(target).with_columns(
        (pl.lit(first) + pl.duration(days=pl.col("_target")) - pl.col(decided_on)).alias("_shift")
    ).drop("_target")
    dates = [f for f in names if questions[f].type == "date"]
    rows = rows.with_columns([(pl.col(f) + pl.col("_shift")).alias(f) for f in dates]).drop("_shift")
    rows = rows.with_columns([
        pl.when(_uniform(n, seed, 2 + k, 1_000_000) < int(ROW_DROP * 1_000_000)).then(None).otherwise(pl.col(f))
        .alias(f)
        for k, f in enumerate(names) if f != decided_on
    ])
    ids = pl.concat_str(pl.lit("R"), pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(9))
    return rows.select(ids.alias("id"), pl.lit(chosen.id).alias("policy"), *names)


def write_requests(frame: pl.DataFrame, out: Path) -> int:
    """Write requests as Parquet (one column per fact) or JSON Lines (contract requests with `id`)."""
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        frame.write_parquet(out)
    elif suffix in (".jsonl", ".ndjson"):
        facts = [c for c in frame.columns if c not in ("id", "policy")]
        frame.select("id", "policy", pl.struct(facts).alias("facts")).write_ndjson(out)
    else:
        raise ValueError("--out: expected a .parquet or .jsonl file")
    return frame.height
