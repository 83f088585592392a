"""The criteria tree compiled for evaluation: leaf operators, statuses, witnesses.

Nodes are kept in post-order, so each subtree is a contiguous slice ending at
its root: a whole tree or any subtree is evaluated by one loop without recursion.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from dateutil.relativedelta import relativedelta

from priorauth.facts import Facts
from priorauth.logic import MET, NOT_MET, UNKNOWN, Truth, all_of, any_of, negate
from priorauth.policy.schema import Criterion, Policy, criterion_facts

Params = dict[str, Any]
LeafTest = Callable[[Facts, Params], Truth]
# (fact, facts, params, reference date) -> values of the fact that move the leaf either way
Witnesses = Callable[[str, Facts, Params, dt.date], list[Any]]

BIRTH, ON = "birth_date", "request_date"
ONE_DAY = dt.timedelta(days=1)
UNCOVERED_ICD10 = "Z00.00"


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years; a birthday is reached on its date (29 February: on 1 March in common years)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@lru_cache(maxsize=4096)
def months_after(start: dt.date, months: int) -> dt.date:
    """The first day not covered by `months` calendar months from `start`.

    The same day of the month `months` later; where that month has no such day (31 Aug
    + 6 months), the first day of the month after it (1 Mar): so a period of months
    never ends short at a month's end (31 Dec + 6 months covers through 30 Jun).
    """
    same_day = start + relativedelta(months=+months)  # dateutil clips to the month's end
    return same_day if same_day.day == start.day else same_day + ONE_DAY


@dataclass(slots=True)
class CompiledNode:
    index: int
    criterion: Criterion
    operator: str
    children: tuple[int, ...]
    start: int  # first post-order index of this subtree
    reads: tuple[str, ...]
    subtree_reads: frozenset[str]
    test: LeafTest | None
    witnesses: Witnesses | None


def _age_leaf(threshold: int, at_least: bool) -> tuple[LeafTest, Witnesses]:
    def test(facts: Facts, params: Params) -> Truth:
        birth = facts.get(BIRTH)
        day = facts.get(ON)
        if birth is None or day is None:
            return UNKNOWN
        old_enough = age_on(birth, day) >= threshold
        return MET if old_enough is at_least else NOT_MET

    def witnesses(fact: str, facts: Facts, params: Params, ref: dt.date) -> list[Any]:
        if fact == BIRTH:
            day = facts.get(ON, ref)
            birthday = day - relativedelta(years=threshold)
            return [birthday, birthday + ONE_DAY]
        birth = facts.get(BIRTH)
        if birth is None:
            return [ref]
        reached = birth + relativedelta(years=threshold)
        return [reached, reached - ONE_DAY]

    return test, witnesses


def _equals_leaf(fact: str, expected: Any) -> LeafTest:
    def test(facts: Facts, params: Params) -> Truth:
        value = facts.get(fact)
        if value is None:
            return UNKNOWN
        return MET if value == expected else NOT_MET

    return test


def _in_leaf(fact: str, expected: list[Any]) -> LeafTest:
    allowed = frozenset(expected)

    def test(facts: Facts, params: Params) -> Truth:
        value = facts.get(fact)
        if value is None:
            return UNKNOWN
        return MET if value in allowed else NOT_MET

    return test


def _codes_leaf(fact: str, codes: frozenset[str]) -> tuple[LeafTest, Witnesses]:
    def test(facts: Facts, params: Params) -> Truth:
        value = facts.get(fact)
        if value is None:
            return UNKNOWN
        for code in value:
            if code in codes:
                return MET
        return NOT_MET

    sample = sorted(codes)[0]

    def witnesses(f: str, facts: Facts, params: Params, ref: dt.date) -> list[Any]:
        return [[sample], [UNCOVERED_ICD10]]

    return test, witnesses


def _within_months_leaf(fact: str, parameter: str) -> tuple[LeafTest, Witnesses]:
    def test(facts: Facts, params: Params) -> Truth:
        start = facts.get(fact)
        day = facts.get(ON)
        if start is None or day is None:
            return UNKNOWN
        return MET if start <= day < months_after(start, params[parameter]) else NOT_MET

    def witnesses(f: str, facts: Facts, params: Params, ref: dt.date) -> list[Any]:
        months = params[parameter]
        if f == fact:
            day = facts.get(ON, ref)
            return [day, day - relativedelta(months=+months)]
        start = facts.get(fact)
        if start is None:
            return [ref]
        return [start, months_after(start, months)]

    return test, witnesses


def _below_parameter_leaf(fact: str, parameter: str) -> tuple[LeafTest, Witnesses]:
    def test(facts: Facts, params: Params) -> Truth:
        value = facts.get(fact)
        if value is None:
            return UNKNOWN
        return MET if value < params[parameter] else NOT_MET

    def witnesses(f: str, facts: Facts, params: Params, ref: dt.date) -> list[Any]:
        limit = params[parameter]
        return [max(limit - 1, 0), limit]

    return test, witnesses


def _compile_leaf(node: Criterion, policy: Policy) -> tuple[LeafTest, Witnesses | None]:
    op = node.operator
    if op == "equals":
        fact, expected = next(iter(node.equals.items()))  # type: ignore[union-attr]
        return _equals_leaf(fact, expected), None
    if op == "in":
        fact, expected = next(iter(node.in_.items()))  # type: ignore[union-attr]
        return _in_leaf(fact, expected), None
    if op == "age_at_least":
        return _age_leaf(node.age_at_least, True)  # type: ignore[arg-type]
    if op == "age_below":
        return _age_leaf(node.age_below, False)  # type: ignore[arg-type]
    if op == "codes_in":
        fact, list_name = next(iter(node.codes_in.items()))  # type: ignore[union-attr]
        return _codes_leaf(fact, frozenset(policy.code_lists[list_name].codes))
    if op == "within_months":
        return _within_months_leaf(node.within_months["fact"], node.within_months["parameter"])  # type: ignore[index]
    if op == "below_parameter":
        return _below_parameter_leaf(node.below_parameter["fact"], node.below_parameter["parameter"])  # type: ignore[index]
    raise AssertionError(f"no leaf operator {op}")


class CompiledCriteria:
    """A policy's criteria tree ready to evaluate many times."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.nodes: list[CompiledNode] = []
        self._compile(policy.criteria)
        self.root = self.nodes[-1]
        self.by_id = {n.criterion.id: n for n in self.nodes}
        self.parent: dict[int, int] = {c: n.index for n in self.nodes for c in n.children}
        # (index, kind, children, test) tuples: the evaluation loop's only data
        kinds = {"all": 1, "any": 2, "not": 3}
        self._plan = [(n.index, kinds.get(n.operator, 0), n.children, n.test) for n in self.nodes]
        self._whole_tree = _generate_evaluator(self)

    def _compile(self, node: Criterion) -> int:
        start = len(self.nodes)
        children = tuple(self._compile(child) for child in node.children)
        reads = tuple(criterion_facts(node))
        subtree = frozenset(reads).union(*(self.nodes[c].subtree_reads for c in children))
        test, witnesses = (None, None) if children else _compile_leaf(node, self.policy)
        index = len(self.nodes)
        self.nodes.append(
            CompiledNode(index, node, node.operator, children, start, reads, subtree, test, witnesses)
        )
        return index

    def evaluate(self, facts: Facts, params: Params, upto: CompiledNode | None = None) -> list[Truth]:
        """Status of every node (of the subtree `upto`, if given), in post-order."""
        if upto is None or upto is self.root or upto.index - upto.start > 8:
            return self._whole_tree(facts, params)  # generated code beats the loop on all but tiny subtrees
        return self.evaluate_by_loop(facts, params, upto)

    def evaluate_by_loop(self, facts: Facts, params: Params, upto: CompiledNode | None = None) -> list[Truth]:
        """The same statuses by a plain loop over the nodes: the reference for the generated code."""
        statuses: list[Truth] = [UNKNOWN] * len(self.nodes)
        upto = upto or self.root
        plan = self._plan[upto.start : upto.index + 1]
        for index, kind, children, test in plan:
            if kind == 0:
                statuses[index] = test(facts, params)  # type: ignore[misc]
            elif kind == 1:
                statuses[index] = all_of([statuses[c] for c in children])
            elif kind == 2:
                statuses[index] = any_of([statuses[c] for c in children])
            else:
                statuses[index] = negate(statuses[children[0]])
        return statuses


def _literal(value: Any) -> str | None:
    """Source text of a constant the generated code can hold inline, else None."""
    if isinstance(value, bool | int | str) or value is None:
        return repr(value)
    return None


def _generate_evaluator(criteria: CompiledCriteria) -> Callable[[Facts, Params], list[Truth]]:
    """Compile the whole tree into one Python function (straight-line code, no recursion).

    Each fact is read once into a local; leaves with a simple shape (equals, in, ages,
    codes, parameter bounds) are inlined; any other leaf calls its compiled test. Same
    results as the plain loop (`evaluate_by_loop`), which the tests check; several times
    faster.
    """
    namespace: dict[str, Any] = {"_M": MET, "_F": NOT_MET, "_U": UNKNOWN}
    body: list[str] = []
    facts_read = sorted({f for n in criteria.nodes if not n.children for f in n.reads})
    local = {fact: f"f{k}" for k, fact in enumerate(facts_read)}
    body += [f"    {local[fact]} = g({fact!r})" for fact in facts_read]
    if any(n.operator in ("age_at_least", "age_below") for n in criteria.nodes):
        b, d = local[BIRTH], local[ON]
        body.append(
            f"    age = None if {b} is None or {d} is None else "
            f"{d}.year - {b}.year - (({d}.month, {d}.day) < ({b}.month, {b}.day))"
        )
    for n in criteria.nodes:
        c, i, op = n.criterion, n.index, n.operator
        if op in ("all", "any"):
            first, second = ("F", "M") if op == "all" else ("M", "F")
            has_first = " or ".join(f"s{k} is {first}" for k in n.children)
            has_unknown = " or ".join(f"s{k} is U" for k in n.children)
            body.append(f"    s{i} = {first} if {has_first} else (U if {has_unknown} else {second})")
        elif op == "not":
            k = n.children[0]
            body.append(f"    s{i} = F if s{k} is M else (M if s{k} is F else U)")
        elif op in ("equals", "in"):
            fact, expected = next(iter((c.equals or c.in_).items()))  # type: ignore[union-attr]
            v = local[fact]
            if op == "equals" and isinstance(expected, bool):
                body.append(f"    s{i} = U if {v} is None else (M if {v} is {expected!r} else F)")
            elif op == "equals" and _literal(expected) is not None:
                body.append(f"    s{i} = U if {v} is None else (M if {v} == {_literal(expected)} else F)")
            else:
                namespace[f"v{i}"] = expected if op == "equals" else frozenset(expected)
                test = "==" if op == "equals" else "in"
                body.append(f"    s{i} = U if {v} is None else (M if {v} {test} v{i} else F)")
        elif op in ("age_at_least", "age_below"):
            threshold = c.age_at_least if op == "age_at_least" else c.age_below
            cmp = ">=" if op == "age_at_least" else "<"
            body.append(f"    s{i} = U if age is None else (M if age {cmp} {int(threshold)} else F)")  # type: ignore[arg-type]
        elif op == "codes_in":
            fact, list_name = next(iter(c.codes_in.items()))  # type: ignore[union-attr]
            namespace[f"v{i}"] = frozenset(criteria.policy.code_lists[list_name].codes)
            v = local[fact]
            body.append(f"    s{i} = U if {v} is None else (F if v{i}.isdisjoint({v}) else M)")
        elif op == "below_parameter":
            spec = c.below_parameter
            v = local[spec["fact"]]  # type: ignore[index]
            body.append(f"    s{i} = U if {v} is None else (M if {v} < params[{spec['parameter']!r}] else F)")  # type: ignore[index]
        else:
            namespace[f"test{i}"] = n.test
            body.append(f"    s{i} = test{i}(facts, params)")
    lines = ["def evaluate(facts, params, M=_M, F=_F, U=_U):", "    g = facts.get", *body]
    lines.append("    return [" + ", ".join(f"s{n.index}" for n in criteria.nodes) + "]")
    exec(compile("\n".join(lines), f"<criteria {criteria.policy.id}>", "exec"), namespace)  # noqa: S102
    return namespace["evaluate"]


__all__ = ["MET", "NOT_MET", "UNKNOWN", "CompiledCriteria", "CompiledNode", "age_on", "months_after"]
