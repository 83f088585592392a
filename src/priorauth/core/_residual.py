"""Missing facts: the residual of an undecided criteria tree (as in partial evaluation).

A fact is missing when some values of the other unknown facts make the outcome depend
on it; facts that cannot change the outcome are never asked.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from priorauth.core._criteria import CompiledCriteria, CompiledNode
from priorauth.core._facts import Facts
from priorauth.core._logic import MET, NOT_MET, UNKNOWN, Truth
from priorauth.core._reasons import Reason

# Beyond this many combinations of unknown facts sharing a subtree, the missing-fact
# set is the union of the children's (a superset; never reached by the bundled policies).
ENUMERATION_LIMIT = 20_000


@dataclass(frozen=True, slots=True)
class Residual:
    """What is still open when the tree is undecided: the facts to ask, and why."""

    can_be_met: bool
    can_be_not_met: bool
    missing: tuple[str, ...]  # in vocabulary order
    reasons: tuple[Reason, ...]

    @property
    def pended(self) -> bool:
        return bool(self.missing) or (self.can_be_met and self.can_be_not_met)


RESIDUAL_CACHE_SIZE = 4096  # per compiled tree; 0 switches the cache off (to measure, and in a property test)


def root_residual(
    criteria: CompiledCriteria, statuses: list[Truth], facts: Facts, params: dict[str, Any], ref: dt.date
) -> Residual:
    """The residual of the whole tree, cached on the tree by (statuses, unknown facts).

    Every leaf operator reaches both outcomes by witness values chosen relative to the
    known facts, so the residual depends only on which leaves are decided how and which
    facts are unknown, not on the known values themselves.
    """
    key = None
    if RESIDUAL_CACHE_SIZE:
        unknown = criteria.version.runtime.question_ids.difference(facts.keys())
        if None in facts.values():
            unknown = unknown.union(k for k, v in facts.items() if v is None)
        key = (unknown, *statuses)
        cached = criteria.residual_cache.get(key)
        if cached is not None:
            return cached
    can_true, can_false, essential = _residual(criteria, criteria.root, statuses, facts, params, ref)
    result = Residual(
        can_true,
        can_false,
        tuple(q.id for q in criteria.version.questions if q.id in essential),
        tuple(_unknown_reasons(criteria, statuses, essential)),
    )
    if key is not None:
        cache = criteria.residual_cache
        if len(cache) >= RESIDUAL_CACHE_SIZE:
            cache.clear()
        cache[key] = result
    return result


def _unknown_reasons(criteria: CompiledCriteria, statuses: list[Truth], essential: set[str]) -> Iterator[Reason]:
    """Unknown leaves, reachable through unknown nodes, that read a missing fact, or no fact at all
    (a criterion not yet written as a rule: no fact can settle it, a person must)."""
    for node in criteria.nodes:
        if node.children or statuses[node.index] is not UNKNOWN or not (essential.intersection(node.reads)
                                                                          or not node.reads):
            continue
        index = node.index
        live = True
        while index in criteria.parent:
            index = criteria.parent[index]
            if statuses[index] is not UNKNOWN:
                live = False
                break
        if live:
            yield criteria.reason(node, UNKNOWN)


def _residual(
    criteria: CompiledCriteria,
    node: CompiledNode,
    statuses: list[Truth],
    facts: Facts,
    params: dict[str, Any],
    ref: dt.date,
) -> tuple[bool, bool, set[str]]:
    """(can be met, can be not met, unknown facts that can change it) for a node.

    Children that read disjoint unknown facts combine exactly by rule; children sharing
    unknown facts are settled by enumerating witness values.
    """
    status = statuses[node.index]
    if status is not UNKNOWN:
        return status is MET, status is NOT_MET, set()
    if not node.children:
        return True, True, {f for f in node.reads if facts.get(f) is None}
    open_children = [criteria.nodes[i] for i in node.children if statuses[i] is UNKNOWN]
    unknown_sets = [_live_unknowns(criteria, c, statuses, facts) for c in open_children]
    union: set[str] = set().union(*unknown_sets)
    if sum(len(s) for s in unknown_sets) == len(union):  # pairwise disjoint
        parts = [_residual(criteria, c, statuses, facts, params, ref) for c in open_children]
        if node.operator == "not":
            can_true, can_false, essential = parts[0]
            return can_false, can_true, essential
        essential = set()
        if node.operator == "all":
            for i, (_, _, ess) in enumerate(parts):
                if all(p[0] for j, p in enumerate(parts) if j != i):
                    essential |= ess
            return all(p[0] for p in parts), any(p[1] for p in parts), essential
        for i, (_, _, ess) in enumerate(parts):
            if all(p[1] for j, p in enumerate(parts) if j != i):
                essential |= ess
        return any(p[0] for p in parts), all(p[1] for p in parts), essential
    return _enumerate(criteria, node, facts, params, ref, sorted(union))


def _live_unknowns(criteria: CompiledCriteria, node: CompiledNode, statuses: list[Truth], facts: Facts) -> frozenset:
    """Unknown facts read by the undecided part of a subtree: only they can still move it."""
    if statuses[node.index] is not UNKNOWN:
        return frozenset()
    if not node.children:
        return frozenset(f for f in node.reads if facts.get(f) is None)
    return frozenset().union(*(_live_unknowns(criteria, criteria.nodes[i], statuses, facts) for i in node.children))


def _domain(criteria: CompiledCriteria, node: CompiledNode, fact: str, facts: Facts, params, ref: dt.date) -> list:
    question = criteria.version.question(fact)
    if question.type == "boolean":
        return [True, False]
    if question.type == "choice":
        return list(question.values or [])
    values: list[Any] = []
    for leaf in criteria.nodes[node.start : node.index + 1]:
        if leaf.witnesses is not None and fact in leaf.reads:
            for v in leaf.witnesses(fact, facts, params, ref):
                if v not in values:
                    values.append(v)
    return values


def _enumerate(criteria, node, facts, params, ref: dt.date, unknown: list[str]) -> tuple[bool, bool, set[str]]:
    """Every combination of the unknown facts' witness values: can the node be met, not met, on what.

    The combinations are numbered in mixed radix (one digit per unknown fact) and each
    node's statuses over all of them are two bit sets (met, not met), combined by Kleene's
    rules: each leaf is tested once per combination of the unknown facts it reads, not once
    per combination of all. The same answers as `_enumerate_by_evaluation`.
    """
    domains = [_domain(criteria, node, f, facts, params, ref) for f in unknown]
    size = 1
    for d in domains:
        size *= len(d)
    if size == 0 or size > ENUMERATION_LIMIT:
        return _enumerate_by_evaluation(criteria, node, facts, params, ref, unknown)
    radices = [len(d) for d in domains]
    strides = [1] * len(unknown)
    for p in range(len(unknown) - 2, -1, -1):
        strides[p] = strides[p + 1] * radices[p + 1]
    everything = (1 << size) - 1

    def digit_is(p: int, v: int) -> int:  # the combinations whose digit p is v
        period = strides[p] * radices[p]
        repeat = ((1 << (period * (size // period))) - 1) // ((1 << period) - 1)
        return (((1 << strides[p]) - 1) << (v * strides[p])) * repeat

    cylinders = [[digit_is(p, v) for v in range(radices[p])] for p in range(len(unknown))]
    position = {f: p for p, f in enumerate(unknown)}
    met: dict[int, int] = {}
    not_met: dict[int, int] = {}
    for n in criteria.nodes[node.start : node.index + 1]:
        if n.children:
            kids = n.children
            if n.operator == "all":
                m, x = everything, 0
                for c in kids:
                    m &= met[c]
                    x |= not_met[c]
            elif n.operator == "any":
                m, x = 0, everything
                for c in kids:
                    m |= met[c]
                    x &= not_met[c]
            else:
                m, x = not_met[kids[0]], met[kids[0]]
            met[n.index], not_met[n.index] = m, x
            continue
        own = [position[f] for f in n.reads if f in position]
        trial = dict(facts)
        m = x = 0
        for combo in itertools.product(*(range(radices[p]) for p in own)):
            mask = everything
            for p, v in zip(own, combo, strict=True):
                trial[unknown[p]] = domains[p][v]
                mask &= cylinders[p][v]
            status = n.test(trial, params)
            if status is MET:
                m |= mask
            elif status is NOT_MET:
                x |= mask
        met[n.index], not_met[n.index] = m, x
    outcome = met[node.index]
    essential = set()
    for p, fact in enumerate(unknown):
        if radices[p] == 1:
            # A degenerate domain (the decision date with no anchor date): it still decides.
            essential.add(fact)
            continue
        first = cylinders[p][0]
        if any(((outcome >> (v * strides[p])) ^ outcome) & first for v in range(1, radices[p])):
            essential.add(fact)
    return outcome != 0, outcome != everything, essential


def _enumerate_by_evaluation(criteria, node, facts, params, ref: dt.date, unknown: list[str]
                             ) -> tuple[bool, bool, set[str]]:
    """The same as `_enumerate`, by evaluating the subtree once per combination: its reference."""
    domains = [_domain(criteria, node, f, facts, params, ref) for f in unknown]
    size = 1
    for d in domains:
        size *= max(len(d), 1)
    if size > ENUMERATION_LIMIT:
        return True, True, set(unknown)
    outcomes: dict[tuple, bool] = {}
    trial = dict(facts)
    for combo in itertools.product(*(range(len(d)) for d in domains)):
        for fact, domain, k in zip(unknown, domains, combo, strict=True):
            trial[fact] = domain[k]
        outcomes[combo] = criteria.evaluate(trial, params, upto=node)[node.index] is MET
    essential = set()
    for position, fact in enumerate(unknown):
        if len(domains[position]) == 1:
            # A degenerate domain (the decision date with no anchor date): it still decides.
            essential.add(fact)
            continue
        first: dict[tuple, bool] = {}
        for combo, outcome in outcomes.items():
            rest = combo[:position] + combo[position + 1 :]
            if first.setdefault(rest, outcome) is not outcome:
                essential.add(fact)
                break
    values = set(outcomes.values())
    return True in values, False in values, essential
