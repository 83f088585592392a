"""A policy version's compiled criteria as column expressions, for any column engine.

The plan walks the version's compiled tree (the same post-order nodes the per-request
engine evaluates) and writes each leaf operator's three-valued test as a column
expression through a `Dialect`: null is unknown, and `all` / `any` / `not` are the
engines' Kleene operators (Polars `all_horizontal` / `any_horizontal`, SQL AND / OR).
Polars and Spark each implement the dialect; the plan itself is engine-neutral.

Each leaf's semantics mirror its operator in the core (priorauth.core's operators):
`equals` and `in` compare with Python's equality between the fact's value and the
literal (a literal of another type never matches); ages and periods use the contract's
month rule (`months_after`: the same day N months later, else the first of the month
after). A leaf whose operator or literal has no column form makes the whole version
`unsupported`: its rows are decided one by one by the per-request path instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from priorauth.core import PolicyVersion

# How each question type's values are held in a column.
KIND = {
    "boolean": "bool",
    "choice": "text",
    "string": "text",
    "state": "text",
    "date": "date",
    "integer": "int",
    "number": "float",
    "code_list": "codes",
}


class Unsupported(Exception):
    """A criterion that has no column form (the version is decided per request)."""


class Dialect(Protocol):
    """The column operations a plan needs; nulls are unknown throughout.

    Besides these, expressions combine with Python's `&`, `|`, `~` (Kleene on booleans),
    `+` and `*` (on whole numbers), as both Polars expressions and Spark columns do.
    """

    def col(self, name: str) -> Any: ...
    def lit(self, value: Any) -> Any: ...
    def is_null(self, value: Any) -> Any: ...
    def fill_false(self, value: Any) -> Any: ...
    def when(self, cases: list[tuple[Any, Any]], otherwise: Any | None = None) -> Any: ...
    def whole(self, value: Any) -> Any: ...  # a boolean as 0 / 1, a whole number as a 64-bit integer
    def status_code(self, value: Any) -> Any: ...  # 0 unknown, 1 not met, 2 met
    def sum_of(self, values: list[Any]) -> Any: ...
    def day_before(self, day: Any) -> Any: ...
    def earliest(self, a: Any, b: Any) -> Any: ...
    def known(self, value: Any, result: Any) -> Any: ...  # result where value is not null, else null
    def const(self, value: bool) -> Any: ...
    def unknown(self) -> Any: ...
    def eq(self, value: Any, literal: Any) -> Any: ...
    def isin(self, value: Any, literals: Sequence[Any]) -> Any: ...
    def lt(self, left: Any, right: Any | Any) -> Any: ...
    def le(self, left: Any, right: Any | Any) -> Any: ...
    def ge(self, left: Any, right: Any | Any) -> Any: ...
    def and_(self, a: Any, b: Any) -> Any: ...
    def all_of(self, values: list[Any]) -> Any: ...
    def any_of(self, values: list[Any]) -> Any: ...
    def not_(self, value: Any) -> Any: ...
    def months_after(self, day: Any, months: int) -> Any: ...
    def reached(self, fact: str, months: int, day: Any) -> Any: ...  # months_after(fact's date, months) <= day
    def any_code_in(self, codes: Any, listed: Sequence[str]) -> Any: ...


@dataclass(frozen=True, slots=True)
class Node:
    index: int
    criterion: str
    operator: str
    children: tuple[int, ...]
    reads: tuple[str, ...]
    argument: Any  # the leaf's parsed argument; None for all / any / not
    guard: bool
    height: int  # 0 for a leaf; 1 + the highest child otherwise


def comparable(kind: str, literal: Any) -> tuple[bool, Any]:
    """(can it ever be equal, the literal in the column's terms), by Python's `==` on the values."""
    if literal is None:
        return False, None
    if isinstance(literal, bool):
        if kind == "bool":
            return True, literal
        if kind in ("int", "float"):
            return True, int(literal)
        return False, None
    if isinstance(literal, int | float):
        if kind in ("int", "float"):
            return True, literal
        if kind == "bool":
            return (True, bool(literal)) if literal in (0, 1) else (False, None)
        return False, None
    if isinstance(literal, str):
        return (True, literal) if kind == "text" else (False, None)
    raise Unsupported(f"a literal of type {type(literal).__name__}")


class VersionPlan:
    """The column form of one version's criteria tree, and what a batch needs to know of it."""

    def __init__(self, version: PolicyVersion) -> None:
        self.version = version
        criteria = version.runtime.criteria
        self.nodes: list[Node] = []
        for n in criteria.nodes:  # post-order: children first
            height = 1 + max(self.nodes[c].height for c in n.children) if n.children else 0
            argument = n.criterion.leaf.argument if n.criterion.leaf is not None else None
            self.nodes.append(
                Node(n.index, n.criterion.id, n.operator, n.children, n.reads, argument, n.criterion.guard, height)
            )
        self.parent = {c: n.index for n in self.nodes for c in n.children}
        self.root = criteria.root.index
        self.leaves = [n for n in self.nodes if n.operator not in ("all", "any", "not")]
        self.kinds = {q.id: KIND.get(q.type, "text") for q in version.questions}
        self.params = dict(version.runtime.params)
        self.unsupported: str | None = None
        try:
            for leaf in self.leaves:
                self._check(leaf)
        except Unsupported as exc:
            self.unsupported = f"criterion {leaf.criterion}: {exc}"

    def _check(self, leaf: Node) -> None:
        if leaf.operator not in LEAVES:
            raise Unsupported(f"operator {leaf.operator!r} has no column form")
        if leaf.operator in ("equals", "not_stated"):
            comparable(self.kinds[leaf.argument[0]], leaf.argument[1])
        elif leaf.operator == "in":
            for value in leaf.argument[1]:
                comparable(self.kinds[leaf.argument[0]], value)

    def month_rules(self) -> list[tuple[str, int]]:
        """(date fact, months) of every leaf that tests `months_after(fact, months)` against the decision date."""
        rules: list[tuple[str, int]] = []
        for leaf in self.leaves:
            if leaf.operator in ("age_at_least", "age_below"):
                rule = (leaf.argument.fact, leaf.argument.months)
            elif leaf.operator in ("within_months", "period_not_over"):
                rule = (leaf.argument["fact"], self.params[leaf.argument["parameter"]])
            else:
                continue
            if rule not in rules:
                rules.append(rule)
        return rules

    def statuses(self, d: Dialect, leaf: Callable[[Node], Any] | None = None) -> list[Any]:
        """Every node's status as a nullable boolean expression, in post-order.

        `leaf` gives a leaf's status (e.g. a column already computed); by default its test.
        """
        out: list[Any] = []
        for node in self.nodes:
            if node.operator == "all":
                out.append(d.all_of([out[c] for c in node.children]))
            elif node.operator == "any":
                out.append(d.any_of([out[c] for c in node.children]))
            elif node.operator == "not":
                out.append(d.not_(out[node.children[0]]))
            elif leaf is not None:
                out.append(leaf(node))
            else:
                out.append(LEAVES[node.operator](self, node, d))
        return out


# --- the leaf operators, each as in priorauth.core's operators -----------------------------


def _equals(plan: VersionPlan, node: Node, d: Dialect) -> Any:
    fact, expected = node.argument
    value = d.col(fact)
    possible, literal = comparable(plan.kinds[fact], expected)
    return d.eq(value, literal) if possible else d.known(value, d.const(False))


def _not_stated(plan: VersionPlan, node: Node, d: Dialect) -> Any:
    fact, stated = node.argument
    possible, literal = comparable(plan.kinds[fact], stated)
    return d.not_(d.fill_false(d.eq(d.col(fact), literal))) if possible else d.const(True)


def _in(plan: VersionPlan, node: Node, d: Dialect) -> Any:
    fact, expected = node.argument
    value = d.col(fact)
    literals = []
    for item in expected:
        possible, literal = comparable(plan.kinds[fact], item)
        if possible and literal not in literals:
            literals.append(literal)
    return d.isin(value, literals) if literals else d.known(value, d.const(False))


def _age(at_least: bool):
    def leaf(plan: VersionPlan, node: Node, d: Dialect) -> Any:
        spec = node.argument
        reached = d.reached(spec.fact, spec.months, d.col(plan.version.decided_on))
        return reached if at_least else d.not_(reached)

    return leaf


def _codes_in(plan: VersionPlan, node: Node, d: Dialect) -> Any:
    fact, list_name = node.argument
    return d.any_code_in(d.col(fact), sorted(plan.version.code_lists[list_name].codes))


def _within_months(plan: VersionPlan, node: Node, d: Dialect) -> Any:
    fact, day = node.argument["fact"], d.col(plan.version.decided_on)
    months = plan.params[node.argument["parameter"]]
    return d.and_(d.le(d.col(fact), day), d.not_(d.reached(fact, months, day)))


def _period_not_over(plan: VersionPlan, node: Node, d: Dialect) -> Any:
    months = plan.params[node.argument["parameter"]]
    return d.not_(d.reached(node.argument["fact"], months, d.col(plan.version.decided_on)))


def _between(plan: VersionPlan, node: Node, d: Dialect) -> Any:
    spec = node.argument
    value = d.col(spec.fact)
    tests = []
    if spec.at_least is not None:
        tests.append(d.ge(value, spec.at_least))
    if spec.at_most is not None:
        tests.append(d.le(value, spec.at_most))
    return tests[0] if len(tests) == 1 else d.and_(tests[0], tests[1])


def _todo(plan: VersionPlan, node: Node, d: Dialect) -> Any:
    return d.unknown()


def _below_parameter(plan: VersionPlan, node: Node, d: Dialect) -> Any:
    return d.lt(d.col(node.argument["fact"]), plan.params[node.argument["parameter"]])


def _at_least(plan: VersionPlan, node: Node, d: Dialect) -> Any:
    return d.ge(d.col(node.argument["fact"]), node.argument["value"])


LEAVES = {
    "equals": _equals,
    "not_stated": _not_stated,
    "in": _in,
    "age_at_least": _age(True),
    "age_below": _age(False),
    "codes_in": _codes_in,
    "within_months": _within_months,
    "below_parameter": _below_parameter,
    "at_least": _at_least,
    "period_not_over": _period_not_over,
    "between": _between,
    "todo": _todo,
}


# --- the key of a row's determination -------------------------------------------------------

NODES_PER_KEY = 12  # 5 bits a node: 60 bits of a signed 64-bit integer
FACTS_PER_MASK = 60


def walk_columns(plan: VersionPlan, d: Dialect, status: Callable[[int], Any]) -> list[dict[str, Any]]:
    """The walks `pattern_keys` reads, as columns by depth (each level reads only the one before):
    `_a<i>` node i's ancestors are all unknown, `_m<i>` / `_f<i>` the approval / denial walk
    visits it, `_n<i>` it is the root `any` and every kind of request fails on its guard.
    The denial walk is the engine's: under the root `any`, the kinds of request that do not
    fail on their guard; under any other `any`, every alternative; under an `all`, its failed
    guards if any, else every failed child."""
    nodes = plan.nodes
    met = {n.index: d.fill_false(status(n.index)) for n in nodes}
    failed = {n.index: d.fill_false(~status(n.index)) for n in nodes}
    unknown = {n.index: d.is_null(status(n.index)) for n in nodes}
    false = d.lit(False)

    def fails_on_guard(i: int) -> Any:
        node = nodes[i]
        if node.guard:
            return failed[i]
        guards = [failed[c] for c in node.children if nodes[c].guard] if node.operator == "all" else []
        return d.fill_false(d.any_of(guards)) if guards else false

    levels: list[dict[str, Any]] = [{f"_a{plan.root}": d.lit(True), f"_m{plan.root}": d.lit(True),
                                   f"_f{plan.root}": d.lit(True)}]
    frontier = [plan.root]
    while frontier:
        level: dict[str, Any] = {}
        below: list[int] = []
        for i in frontier:
            node = nodes[i]
            alive, met_walk, fail_walk = d.col(f"_a{i}"), d.col(f"_m{i}"), d.col(f"_f{i}")
            for c in node.children:
                level[f"_a{c}"] = alive & unknown[i]
            if node.operator == "any":
                earlier = false
                applicable = []
                for c in node.children:
                    level[f"_m{c}"] = met_walk & met[c] & ~earlier
                    earlier = earlier | met[c]
                    if i == plan.root:
                        applicable.append(~fails_on_guard(c))
                        level[f"_f{c}"] = fail_walk & applicable[-1]
                    else:
                        level[f"_f{c}"] = fail_walk
                if i == plan.root:
                    level[f"_n{i}"] = fail_walk & ~d.fill_false(d.any_of(applicable))
            elif node.operator == "all":
                guards = [failed[c] for c in node.children if nodes[c].guard]
                guard_failed = d.fill_false(d.any_of(guards)) if guards else false
                for c in node.children:
                    level[f"_m{c}"] = met_walk
                    visited = fail_walk & failed[c]
                    level[f"_f{c}"] = visited if nodes[c].guard else visited & ~guard_failed
            else:
                for c in node.children:
                    level[f"_m{c}"] = met_walk
                    level[f"_f{c}"] = false
            below += list(node.children)
        if level:
            levels.append(level)
        frontier = below
    return levels


def pattern_keys(plan: VersionPlan, vocabulary: list[str], d: Dialect, status: Callable[[int], Any]) -> dict[str, Any]:
    """Key columns of what fixes a governed row's determination besides its facts' values.

    `status(i)` is node i's status column; the columns of `walk_columns` must be there.
    Rows with equal keys get the same decision, reasons and missing facts from the core,
    because the key holds what each depends on:

    - `_r`: the root's status.
    - Reasons of an approval: the nodes the engine's approval walk visits (every child of
      `all` and `not`, the first met child of `any`).
    - Reasons of a denial: the nodes its denial walk visits (`walk_columns`) and whether
      the root `any` is itself the reason (every kind of request fails on its guard).
    - Missing facts (root unknown): the status of every node whose ancestors are all unknown
      (the residual never looks below a decided node, and decided values do not change as
      unknown facts are filled in), which facts those nodes' unknown leaves read are
      unknown, and both walks (a residual can still settle the root either way).
    """
    nodes = plan.nodes
    false = d.lit(False)
    root = status(plan.root)
    root_open, root_met = d.is_null(root), d.fill_false(root)
    keys: dict[str, Any] = {"_r": d.status_code(root)}
    anys = {plan.root} if nodes[plan.root].operator == "any" else set()
    for k in range(0, len(nodes), NODES_PER_KEY):
        parts = []
        for j, node in enumerate(nodes[k : k + NODES_PER_KEY]):
            i = node.index
            frontier = d.when([(d.col(f"_a{i}"), d.status_code(status(i)))], d.lit(3))
            walked_met = d.whole(d.col(f"_m{i}"))
            walked_fail = d.whole(d.col(f"_f{i}")) + d.whole(d.col(f"_n{i}") if i in anys else false) * 2
            code = d.when(
                [(root_open, frontier + walked_met * 4 + walked_fail * 8), (root_met, walked_met)], walked_fail
            )
            parts.append(code * (32**j))
        keys[f"_k{k // NODES_PER_KEY}"] = d.sum_of(parts)
    read = [f for f in vocabulary if any(f in leaf.reads for leaf in plan.leaves)]
    for k in range(0, len(read), FACTS_PER_MASK):
        bits = []
        for j, fact in enumerate(read[k : k + FACTS_PER_MASK]):
            readers = [d.col(f"_a{leaf.index}") & d.is_null(status(leaf.index))
                       for leaf in plan.leaves if fact in leaf.reads]
            bits.append(d.whole(d.is_null(d.col(fact)) & d.fill_false(d.any_of(readers))) * (2**j))
        keys[f"_u{k // FACTS_PER_MASK}"] = d.when([(root_open, d.sum_of(bits))], d.whole(false))
    return keys
