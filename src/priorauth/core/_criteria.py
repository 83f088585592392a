"""The criteria tree compiled for evaluation: statuses of every node, by generated code.

Nodes are kept in post-order, so each subtree is a contiguous slice ending at its root:
a whole tree or any subtree is evaluated by one loop without recursion. The leaf
operators themselves are in priorauth.core._operators.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from priorauth.core._logic import MET, NOT_MET, UNKNOWN, Truth, all_of, any_of, negate
from priorauth.core._operators import OPERATORS, LeafTest, Params, Witnesses
from priorauth.core._policy.criteria import Criterion
from priorauth.core._reasons import OneOfStep, Reason

if TYPE_CHECKING:
    from priorauth.core._facts import Facts
    from priorauth.core._policy.version import PolicyVersion


@dataclass(slots=True, eq=False)
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


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a criterion sits for its reasons: its branch and the `any` groups down to it."""

    branch: str | None
    branch_text: str | None
    steps: tuple[OneOfStep, ...]


class CompiledCriteria:
    """A version's criteria tree ready to evaluate many times."""

    def __init__(self, version: PolicyVersion) -> None:
        self.version = version
        self.nodes: list[CompiledNode] = []
        self._compile(version.criteria)
        self.root = self.nodes[-1]
        self.by_id = {n.criterion.id: n for n in self.nodes}
        self.parent: dict[int, int] = {c: n.index for n in self.nodes for c in n.children}
        # (index, kind, children, test) tuples: the evaluation loop's only data
        kinds = {"all": 1, "any": 2, "not": 3}
        self._plan = [(n.index, kinds.get(n.operator, 0), n.children, n.test) for n in self.nodes]
        self._whole_tree = _generate_evaluator(self)
        self.placement = _placements(self)
        # Results that depend only on this tree and the statuses (engine reasons, residuals): kept here,
        # with the tree, so no other version's tree ever answers for it.
        self.reasons_cache: dict[tuple, Any] = {}
        self.residual_cache: dict[tuple, Any] = {}

    def _compile(self, node: Criterion) -> int:
        start = len(self.nodes)
        children = tuple(self._compile(child) for child in node.children)
        reads = self.version.reads(node)
        subtree = frozenset(reads).union(*(self.nodes[c].subtree_reads for c in children))
        test: LeafTest | None = None
        witnesses: Witnesses | None = None
        if node.leaf is not None:
            test, witnesses = OPERATORS[node.leaf.operator].compile(node.leaf.argument, self.version)
        index = len(self.nodes)
        self.nodes.append(CompiledNode(index, node, node.operator, children, start, reads, subtree, test, witnesses))
        return index

    def reason(self, node: CompiledNode, status: Truth) -> Reason:
        """The reason a criterion gives, with its branch and `any` groups."""
        c, place = node.criterion, self.placement[node.index]
        last = place.steps[-1] if place.steps else None
        return Reason(c.id, c.section, status, c.text, place.branch, place.branch_text,
                      last.group if last else None, last.alternative if last else None, place.steps)

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


def _selects_by_guard(criteria: CompiledCriteria, node: CompiledNode) -> bool:
    """A guarded alternative: a guard itself, or an `all` with a guard among its children."""
    if node.criterion.guard:
        return True
    return node.operator == "all" and any(criteria.nodes[c].criterion.guard for c in node.children)


def _placements(criteria: CompiledCriteria) -> list[Placement]:
    """Each node's branch and `any` groups.

    An `any` with a guarded alternative is a branching; the root's alternatives, when the root
    is one, are the kinds of request (initial, renewal). A criterion's branch is its
    alternative of the first branching below the kinds of request (adult, pediatric), else
    its kind of request; every `any` between the branch and the criterion is a group it is
    (part of) one alternative of.
    """
    nodes = criteria.nodes
    root = criteria.root.index
    branching = {n.index for n in nodes
                 if n.operator == "any" and any(_selects_by_guard(criteria, nodes[c]) for c in n.children)}
    out: list[Placement] = [Placement(None, None, ())] * len(nodes)
    stack: list[tuple[int, tuple[tuple[int, int], ...]]] = [(root, ())]
    while stack:
        index, path = stack.pop()
        chosen = [k for k, (group, _) in enumerate(path) if group in branching]
        if chosen and path[chosen[0]][0] == root and len(chosen) > 1:
            chosen = chosen[1:]
        at = chosen[0] if chosen else -1
        branch = nodes[path[at][1]].criterion if chosen else None
        steps = tuple(
            OneOfStep(nodes[g].criterion.id, nodes[g].criterion.text, nodes[a].criterion.id, nodes[a].criterion.text)
            for g, a in path[at + 1 :]
        )
        out[index] = Placement(branch.id if branch else None, branch.text if branch else None, steps)
        node = nodes[index]
        for child in node.children:
            stack.append((child, (*path, (index, child)) if node.operator == "any" else path))
    return out


def _generate_evaluator(criteria: CompiledCriteria) -> Callable[[Facts, Params], list[Truth]]:
    """Compile the whole tree into one Python function (straight-line code, no recursion).

    Each fact is read once into a local; a leaf whose operator gives inline code is
    inlined, any other calls its compiled test. Same results as the plain loop
    (`evaluate_by_loop`), which the tests check; several times faster.
    """
    version = criteria.version
    namespace: dict[str, Any] = {"_M": MET, "_F": NOT_MET, "_U": UNKNOWN}
    facts_read = sorted({f for n in criteria.nodes if not n.children for f in n.reads})
    local = {fact: f"f{k}" for k, fact in enumerate(facts_read)}
    body = [f"    {local[fact]} = g({fact!r})" for fact in facts_read]
    preambles: set[str] = set()
    for n in criteria.nodes:
        i, op = n.index, n.operator
        if op in ("all", "any"):
            first, second = ("F", "M") if op == "all" else ("M", "F")
            has_first = " or ".join(f"s{k} is {first}" for k in n.children)
            has_unknown = " or ".join(f"s{k} is U" for k in n.children)
            body.append(f"    s{i} = {first} if {has_first} else (U if {has_unknown} else {second})")
            continue
        if op == "not":
            k = n.children[0]
            body.append(f"    s{i} = F if s{k} is M else (M if s{k} is F else U)")
            continue
        leaf = n.criterion.leaf
        assert leaf is not None
        inline = OPERATORS[leaf.operator].inline(leaf.argument, local, version, f"v{i}")
        if inline is None:
            namespace[f"test{i}"] = n.test
            body.append(f"    s{i} = test{i}(facts, params)")
            continue
        for name, line in inline.preamble:
            if name not in preambles:
                preambles.add(name)
                body.append(f"    {line}")
        namespace.update(inline.constants)
        body.append(f"    s{i} = {inline.expression}")
    lines = ["def evaluate(facts, params, M=_M, F=_F, U=_U):", "    g = facts.get", *body]
    lines.append("    return [" + ", ".join(f"s{n.index}" for n in criteria.nodes) + "]")
    exec(compile("\n".join(lines), f"<criteria {version.id} {version.version}>", "exec"), namespace)  # noqa: S102
    return namespace["evaluate"]
