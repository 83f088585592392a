"""Impact analysis: a request history re-decided under two versions of a policy, and why decisions move.

Every request of the policy is decided under the version now (`before`) and the version
proposed (`after`, a bundled version or a draft file), each row by the column-wise path.
The report counts the moves between each pair of decisions; for the requests that move,
the criteria whose status differs between the two versions (only criteria both versions
have; a criterion only one has is listed with the statuses it takes), which of those
changed definition and which read a parameter that changed value; approvals whose
authorization end moves; and example requests of each move, their protected facts masked.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from priorauth.batch.engine import STATUS, BatchDecider
from priorauth.batch.source import read_chunks
from priorauth.core import PolicyRegistry, PolicyVersion, walk

DECISIONS = ("approved", "denied", "pended", "not_applicable")
STATUS_NAMES = {0: "unknown", 1: "not met", 2: "met"}
MASK = "***"


@dataclass
class CriterionChange:
    criterion: str
    section: str
    text: str
    change: str  # "definition", "parameter", "added", "removed"
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"criterion": self.criterion, "section": self.section, "text": self.text, "change": self.change,
                "detail": self.detail}


@dataclass
class Move:
    before: str
    after: str
    count: int
    causes: list[tuple[str, int]] = field(default_factory=list)  # criterion, rows whose status differs
    only_before: dict[str, Counter[str]] = field(default_factory=dict)  # removed criterion -> statuses
    only_after: dict[str, Counter[str]] = field(default_factory=dict)  # added criterion -> statuses
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "requests": self.count,
            "causes": [{"criterion": c, "requests": n} for c, n in self.causes],
            "removed_criteria": {c: dict(s) for c, s in self.only_before.items()},
            "added_criteria": {c: dict(s) for c, s in self.only_after.items()},
            "examples": self.examples,
        }


@dataclass
class ImpactReport:
    policy: str
    before: str
    after: str
    before_digest: str
    after_digest: str
    after_source: str
    requests: int = 0  # decided under both
    refused: int = 0  # refused under either
    refused_before: int = 0
    refused_after: int = 0
    other_policies: int = 0
    totals_before: Counter[str] = field(default_factory=Counter)
    totals_after: Counter[str] = field(default_factory=Counter)
    moves: list[Move] = field(default_factory=list)
    authorization_changed: int = 0
    authorization_examples: list[dict[str, Any]] = field(default_factory=list)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    criteria: list[CriterionChange] = field(default_factory=list)
    criterion_text: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def moved(self) -> int:
        return sum(m.count for m in self.moves if m.before != m.after)

    def matrix(self) -> dict[str, dict[str, int]]:
        out = {b: dict.fromkeys(DECISIONS, 0) for b in DECISIONS}
        for m in self.moves:
            out[m.before][m.after] = m.count
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "before": {"version": self.before, "digest": self.before_digest},
            "after": {"version": self.after, "digest": self.after_digest, "source": self.after_source},
            "requests": self.requests,
            "moved": self.moved,
            "refused": {"before": self.refused_before, "after": self.refused_after, "either": self.refused},
            "other_policies": self.other_policies,
            "decisions": {"before": dict(self.totals_before), "after": dict(self.totals_after)},
            "matrix": self.matrix(),
            "moves": [m.to_dict() for m in self.moves if m.before != m.after],
            "authorization_end_changed": self.authorization_changed,
            "authorization_examples": self.authorization_examples,
            "parameters": self.parameters,
            "criteria": [c.to_dict() for c in self.criteria],
            "seconds": round(self.seconds, 3),
        }


def _definition(node: Any) -> tuple:
    leaf = node.leaf
    return (node.operator, repr(leaf.argument) if leaf is not None else None, node.guard,
            tuple(c.id for c in node.children))


def _parameter_of(node: Any) -> str | None:
    argument = node.leaf.argument if node.leaf is not None else None
    return argument.get("parameter") if isinstance(argument, dict) else None


def _criteria_changes(before: PolicyVersion, after: PolicyVersion, changed_params: set[str]) -> list[CriterionChange]:
    old = {n.id: n for _, n in walk(before.criteria)}
    new = {n.id: n for _, n in walk(after.criteria)}
    out: list[CriterionChange] = []
    for cid, node in new.items():
        if cid not in old:
            out.append(CriterionChange(cid, node.section, node.text, "added", "only in the version proposed"))
            continue
        was = old[cid]
        if _definition(was) != _definition(node):
            detail = "its test changed" if node.leaf is not None else "its branches changed"
            if was.text != node.text:
                detail += f"; was: {was.text}"
            out.append(CriterionChange(cid, node.section, node.text, "definition", detail))
        elif (parameter := _parameter_of(node)) in changed_params:
            out.append(CriterionChange(cid, node.section, node.text, "parameter", f"reads {parameter}"))
    for cid, node in old.items():
        if cid not in new:
            out.append(CriterionChange(cid, node.section, node.text, "removed", "only in the version now"))
    return out


def _parameters(before: PolicyVersion, after: PolicyVersion) -> list[dict[str, Any]]:
    out = []
    for name in dict.fromkeys([*before.parameters, *after.parameters]):
        b = before.parameters.get(name)
        a = after.parameters.get(name)
        if b is None or a is None or b.value != a.value:
            out.append({
                "parameter": name,
                "section": (a or b).section,  # type: ignore[union-attr]
                "text": (a or b).text,  # type: ignore[union-attr]
                "before": b.value if b is not None else None,
                "after": a.value if a is not None else None,
            })
    return out


def _masked(raw: Any, versions: tuple[PolicyVersion, ...]) -> dict[str, Any]:
    """An example request's facts with every fact a version marks as PHI masked."""
    phi = {q.id for v in versions for q in v.questions if q.phi}
    facts = raw.get("facts", {}) if isinstance(raw, dict) else {}
    if not isinstance(facts, dict):
        return {}
    return {k: (MASK if k in phi and v is not None else (v.isoformat() if isinstance(v, dt.date) else v))
            for k, v in facts.items()}


def analyse(requests: Path, before: PolicyVersion, after: PolicyVersion, policies: PolicyRegistry,
            examples: int = 5) -> ImpactReport:
    """Decide every request of `before`'s policy under both versions and explain the differences."""
    import time

    start = time.perf_counter()
    changed_params = {p["parameter"] for p in _parameters(before, after)}
    report = ImpactReport(
        policy=before.id, before=before.version, after=after.version, before_digest=before.digest,
        after_digest=after.digest, after_source=after.source,
        parameters=_parameters(before, after),
        criteria=_criteria_changes(before, after, changed_params),
    )
    report.criterion_text = {n.id: n.text for v in (before, after) for _, n in walk(v.criteria)}
    old_ids = [n.id for _, n in walk(before.criteria)]
    new_ids = [n.id for _, n in walk(after.criteria)]
    leaves_both = [n.id for _, n in walk(after.criteria) if n.leaf is not None and n.id in set(old_ids)]
    only_old = [c for c in old_ids if c not in set(new_ids)]
    only_new = [c for c in new_ids if c not in set(old_ids)]
    now, proposed = BatchDecider(policies, before), BatchDecider(policies, after)
    causes: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    counts: Counter[tuple[str, str]] = Counter()
    statuses_removed: dict[tuple[str, str], dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    statuses_added: dict[tuple[str, str], dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    shown: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for chunk in read_chunks(requests, policies, [before, after]):
        mine = chunk.frame.filter(pl.col("policy") == before.id)
        report.other_policies += chunk.frame.height - mine.height
        if mine.height == 0:
            continue
        chunk.frame = mine
        b, b_errors = now.decide(chunk, with_statuses=True)
        a, a_errors = proposed.decide(chunk, with_statuses=True)
        report.refused_before += len(b_errors)
        report.refused_after += len(a_errors)
        report.totals_before.update(dict(b["decision"].value_counts().iter_rows()))
        report.totals_after.update(dict(a["decision"].value_counts().iter_rows()))
        later = a.select("row", "decision", "reasons", "missing_facts", "authorization_end",
                         *[c for c in a.columns if c.startswith(STATUS)])
        later = later.rename({c: f"{c}:after" for c in later.columns if c != "row"})
        both = b.select("row", "id", "decision", "reasons", "missing_facts", "authorization_end",
                        *[c for c in b.columns if c.startswith(STATUS)]).join(later, on="row", how="inner")
        report.refused += mine.height - both.height
        report.requests += both.height
        for d_before, d_after, n in both.group_by("decision", "decision:after").len().iter_rows():
            counts[(d_before, d_after)] += n
        moved = both.filter(pl.col("decision") != pl.col("decision:after"))
        if moved.height:
            _causes(moved, leaves_both, only_old, only_new, causes, statuses_removed, statuses_added)
            for move, rows in moved.group_by("decision", "decision:after"):
                key = (str(move[0]), str(move[1]))
                room = examples - len(shown[key])
                for row in rows.head(max(room, 0)).iter_rows(named=True):
                    shown[key].append(_example(row, chunk.raw(row["row"]), (before, after)))
        ends = both.filter(
            (pl.col("decision") == "approved") & (pl.col("decision:after") == "approved")
            & (pl.col("authorization_end") != pl.col("authorization_end:after"))
        )
        report.authorization_changed += ends.height
        for row in ends.head(max(examples - len(report.authorization_examples), 0)).iter_rows(named=True):
            report.authorization_examples.append({
                "row": row["row"], "id": row["id"],
                "before": row["authorization_end"].isoformat(), "after": row["authorization_end:after"].isoformat(),
                "facts": _masked(chunk.raw(row["row"]), (before, after)),
            })
    for (d_before, d_after), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        key = (d_before, d_after)
        report.moves.append(Move(
            d_before, d_after, n,
            causes=causes[key].most_common(),
            only_before={c: s for c, s in statuses_removed[key].items()},
            only_after={c: s for c, s in statuses_added[key].items()},
            examples=shown[key],
        ))
    report.seconds = time.perf_counter() - start
    return report


def _causes(moved: pl.DataFrame, leaves: list[str], only_old: list[str], only_new: list[str],
            causes: dict[tuple[str, str], Counter[str]],
            removed: dict[tuple[str, str], dict[str, Counter[str]]],
            added: dict[tuple[str, str], dict[str, Counter[str]]]) -> None:
    """Per move: how many requests each leaf criterion (of both versions) changes status in."""
    columns = []
    for c in leaves:
        b, a = f"{STATUS}{c}", f"{STATUS}{c}:after"
        if b in moved.columns and a in moved.columns:
            columns.append(pl.col(b).fill_null(-1).ne(pl.col(a).fill_null(-1)).sum().alias(c))
    if columns:
        for row in moved.group_by("decision", "decision:after").agg(columns).iter_rows(named=True):
            key = (row.pop("decision"), row.pop("decision:after"))
            for c, n in row.items():
                if n:
                    causes[key][c] += n
    for names, suffix, into in ((only_old, "", removed), (only_new, ":after", added)):
        for c in names:
            column = f"{STATUS}{c}{suffix}"
            if column not in moved.columns:
                continue
            for d_before, d_after, code, n in moved.group_by("decision", "decision:after", column).len().iter_rows():
                if code is not None:
                    into[(d_before, d_after)][c][STATUS_NAMES[code]] += n


def _example(row: dict[str, Any], raw: Any, versions: tuple[PolicyVersion, ...]) -> dict[str, Any]:
    return {
        "row": row["row"],
        "id": row["id"],
        "reasons": {"before": row["reasons"], "after": row["reasons:after"]},
        "missing_facts": {"before": row["missing_facts"], "after": row["missing_facts:after"]},
        "facts": _masked(raw, versions),
    }
