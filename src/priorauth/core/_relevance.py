"""When a question is relevant, derived from the policy: the criteria tree's guards,
the scope and Medicare routing data, and `asked_when` for questions no criterion reads.

A question read by a criterion matters only when every guard on the way down to that
criterion holds (a guard selects its branch: `request_type = renewal` for the renewal
questions, `disease_setting = frontline_consolidation` for rituximab). The result is a
disjunction of conjunctions of conditions on other questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from priorauth.core._policy.criteria import Criterion

if TYPE_CHECKING:
    from priorauth.core._policy.version import PolicyVersion


@dataclass(frozen=True, slots=True, order=True)
class Condition:
    """`fact` has one of `values` (or none of them when `negated`)."""

    fact: str
    values: tuple[str | bool, ...]
    negated: bool = False


Conjunction = tuple[Condition, ...]
Relevance = tuple[Conjunction, ...] | None
"""None: always relevant. Otherwise relevant when any conjunction holds."""


def _guard_condition(node: Criterion) -> Condition | None:
    if not node.guard or node.leaf is None:
        return None
    if node.leaf.operator == "equals":
        fact, value = node.leaf.argument
        return Condition(fact, (value,))
    if node.leaf.operator == "in":
        fact, values = node.leaf.argument
        return Condition(fact, tuple(values))
    return None  # age guards: not a question's answer, so not a display condition


def _collect(version: PolicyVersion, node: Criterion, above: Conjunction, out: dict[str, list[Conjunction]]) -> None:
    children = node.children
    if node.operator == "all":
        guards = [(child, _guard_condition(child)) for child in children]
        for child in children:
            extra = tuple(c for other, c in guards if c is not None and other is not child)
            _collect(version, child, above + extra, out)
        return
    if children:
        for child in children:
            _collect(version, child, above, out)
        return
    for fact in version.reads(node):
        out.setdefault(fact, []).append(above)


def _raw_relevance(policy: PolicyVersion) -> dict[str, list[Conjunction]]:
    out: dict[str, list[Conjunction]] = {}
    scope = policy.scope
    base: Conjunction = ()
    if scope is not None:
        base = (Condition(scope.fact, tuple(scope.not_governed), negated=True),)
    _collect(policy, policy.criteria, base, out)
    if scope is not None:
        out.pop(scope.fact, None)
    macs = policy.mac_jurisdictions
    if scope is not None and macs is not None:
        out.setdefault(macs.state_fact, []).append((Condition(scope.fact, tuple(scope.not_governed)),))
        county_states = tuple(sorted({st for j in macs.jurisdictions for st in j.counties}))
        if county_states:
            out.setdefault(macs.county_fact, []).append((Condition(macs.state_fact, county_states),))
    for q in policy.questions:
        asked_when = getattr(q, "asked_when", None)
        if asked_when and q.id not in out:
            out[q.id] = [tuple(Condition(f, tuple(v)) for f, v in asked_when.items())]
    return out


def _implied(fact: str, raw: dict[str, list[Conjunction]]) -> set[Condition]:
    """Conditions that hold whenever `fact` is relevant (shared by all its conjunctions)."""
    conjunctions = raw.get(fact)
    if not conjunctions:
        return set()
    common = set(conjunctions[0])
    for c in conjunctions[1:]:
        common &= set(c)
    return common


def _closure(conj: Conjunction, raw: dict[str, list[Conjunction]]) -> set[Condition]:
    """The conditions of `conj` and all those implied by their questions being shown."""
    return set(conj) | _implied_by(conj, raw)


def _implied_by(conj: Conjunction, raw: dict[str, list[Conjunction]]) -> set[Condition]:
    implied: set[Condition] = set()
    frontier = {c.fact for c in conj}
    seen: set[str] = set()
    while frontier:
        fact = frontier.pop()
        seen.add(fact)
        for c in _implied(fact, raw):
            implied.add(c)
            if c.fact not in seen:
                frontier.add(c.fact)
    return implied


def _simplify(conj: Conjunction, raw: dict[str, list[Conjunction]]) -> Conjunction:
    """Drop conditions implied by another condition's question being shown at all.

    A question that is not shown has no answer, so `regimen = mini_hyper_cvd` already
    implies every condition under which `regimen` is asked.
    """
    implied = _implied_by(conj, raw)
    kept = []
    for c in conj:
        if c not in implied and c not in kept:
            kept.append(c)
    return tuple(kept)


def relevance_of(policy: PolicyVersion) -> dict[str, Relevance]:
    """Fact id -> when its question is relevant, for every question of the version
    (built once per version: `version.runtime.relevance`)."""
    raw = _raw_relevance(policy)
    out: dict[str, Relevance] = {}
    for q in policy.questions:
        conjunctions = raw.get(q.id)
        if not conjunctions:
            out[q.id] = None
            continue
        simplified: list[Conjunction] = []
        for conj in conjunctions:
            s = _simplify(conj, raw)
            if s not in simplified:
                simplified.append(s)
        if any(not s for s in simplified):
            out[q.id] = None
            continue
        # A conjunction whose closure contains another one adds nothing to the disjunction.
        closures = [_closure(s, raw) for s in simplified]
        general = [
            s
            for i, s in enumerate(simplified)
            if not any(
                j != i and set(other) <= closures[i] and (set(other) != set(s) or j < i)
                for j, other in enumerate(simplified)
            )
        ]
        out[q.id] = tuple(general)
    return out


def holds(rel: Relevance, facts: dict) -> bool:
    """Whether a question is relevant given answers so far (unanswered: not relevant)."""
    if rel is None:
        return True
    for conj in rel:
        if all(_condition_holds(c, facts) for c in conj):
            return True
    return False


def _condition_holds(c: Condition, facts: dict) -> bool:
    if c.fact not in facts or facts[c.fact] is None:
        return False
    return (facts[c.fact] in c.values) is not c.negated
