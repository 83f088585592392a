"""Determinations: decide a request under the policy version in force on its decision date."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from priorauth.core._authorization import authorization
from priorauth.core._criteria import CompiledCriteria, CompiledNode
from priorauth.core._determination import Decision, Determination, Reason, TraceNode
from priorauth.core._facts import Facts, validate_facts, version_for
from priorauth.core._logic import MET, NOT_MET, UNKNOWN, Truth
from priorauth.core._policy.policy import Policy
from priorauth.core._policy.registry import load_policy
from priorauth.core._policy.version import PolicyVersion
from priorauth.core._request import parse_request
from priorauth.core._residual import root_residual
from priorauth.core._routing import governs, not_governed


def evaluate(request: dict[str, Any]) -> Determination:
    """Decide a contract request (`{"policy": ..., "facts": {...}, "dosing": {...}}`)."""
    version, facts = parse_request(request)
    return determine(version, facts)


def evaluate_facts(policy: str | Policy, facts: dict[str, Any], dosing: Any = None) -> Determination:
    """Decide raw facts (and an optional raw `dosing` block) under a policy or a policy id."""
    chosen = load_policy(policy) if isinstance(policy, str) else policy
    version = version_for(chosen, facts)
    valid = validate_facts(version, facts)
    if dosing is not None:
        from priorauth.core._dosing.request import parse_dosing

        dosing = parse_dosing(version, dosing)
    return determine(version, valid, dosing)


def determine(version: PolicyVersion, facts: Facts, dosing: Any = None) -> Determination:
    """Decide facts validated against `version`, under that version, and check doses when given.

    `dosing` is a `dosing` block (dict or DosingRequest); by default the one that
    `parse_request` attached to the facts. See priorauth.core._dosing.decision for how the
    dose check combines with the criteria.
    """
    det = _decide_criteria(version, facts)
    dosing = dosing if dosing is not None else getattr(facts, "dosing", None)
    if dosing is None or det.decision is Decision.NOT_APPLICABLE:
        return det
    from priorauth.core._dosing.check import check_doses  # only requests with doses need Section V
    from priorauth.core._dosing.decision import apply_dose_check

    return apply_dose_check(det, check_doses(version, dosing, facts=facts))


def _decide_criteria(version: PolicyVersion, facts: Facts) -> Determination:
    """Decide validated facts against the criteria (Sections I-IV, Appendices)."""
    if not governs(version, facts):
        return not_governed(version, facts)
    runtime = version.runtime
    params = runtime.params
    pid, vtext, digest = version.id, runtime.version_text, runtime.digest
    criteria = runtime.criteria
    statuses = criteria.evaluate(facts, params)
    root_status = statuses[criteria.root.index]

    def trace() -> TraceNode:
        return _trace(criteria, criteria.root, statuses, facts)

    if root_status is UNKNOWN:
        ref = facts.get(version.decided_on) or version.effective
        residual = root_residual(criteria, statuses, facts, params, ref)
        if residual.pended:
            return Determination(pid, vtext, Decision.PENDED, residual.reasons, residual.missing,
                                 trace_builder=trace, policy_digest=digest)
        root_status = MET if residual.can_be_met else NOT_MET  # unknown facts that cannot change anything

    reasons = _decided_reasons(criteria, statuses, root_status)
    if root_status is MET:
        return Determination(pid, vtext, Decision.APPROVED, reasons, (), authorization(version, facts),
                             trace_builder=trace, policy_digest=digest)
    return Determination(pid, vtext, Decision.DENIED, reasons, (), trace_builder=trace, policy_digest=digest)


# --- reasons --------------------------------------------------------------------------

_REASONS_CACHE_SIZE = 4096


def _decided_reasons(criteria: CompiledCriteria, statuses: list[Truth], root_status: Truth) -> tuple[Reason, ...]:
    """Reasons of an approval or denial: a function of the tree and statuses alone, so cached by them."""
    key = (root_status, *statuses)
    cache = criteria.reasons_cache
    cached = cache.get(key)
    if cached is None:
        if root_status is MET:
            cached = tuple(_met_reasons(criteria, criteria.root, statuses))
        else:
            cached = tuple(_dedupe(_failed_reasons(criteria, criteria.root, statuses)))
        if len(cache) >= _REASONS_CACHE_SIZE:
            cache.clear()
        cache[key] = cached
    return cached


def _met_reasons(criteria: CompiledCriteria, node: CompiledNode, statuses: list[Truth]) -> Iterator[Reason]:
    """The leaves that carry the approval: every child of `all`, the first met child of `any`."""
    if not node.children:
        yield criteria.reason(node, MET)
        return
    children = [criteria.nodes[i] for i in node.children]
    if node.operator == "any":
        # The first met branch; none when the residual settled an `any` Kleene left unknown.
        children = [c for c in children if statuses[c.index] is MET][:1]
    for child in children:
        yield from _met_reasons(criteria, child, statuses)


def _fails_on_guard(criteria: CompiledCriteria, node: CompiledNode, statuses: list[Truth]) -> bool:
    if node.criterion.guard:
        return statuses[node.index] is NOT_MET
    return node.operator == "all" and any(
        criteria.nodes[c].criterion.guard and statuses[c] is NOT_MET for c in node.children
    )


def _failed_reasons(criteria: CompiledCriteria, node: CompiledNode, statuses: list[Truth]) -> Iterator[Reason]:
    """Each criterion that is definitely not met, for every branch that could have applied.

    Only a kind of request (an alternative of the root `any`: initial, renewal) that fails on
    its guard does not apply and is left out; when every kind fails that way, the root is the
    reason. Every other alternative is listed: an `all` that fails on a guard by its failed
    guards alone (why that branch does not fit this request), any other by each failed child.
    """
    if not node.children:
        yield criteria.reason(node, NOT_MET)
        return
    children = [criteria.nodes[i] for i in node.children]
    if node.operator == "all":
        failed = [c for c in children if statuses[c.index] is NOT_MET]
        guards = [c for c in failed if c.criterion.guard]
        for child in guards or failed:
            yield from _failed_reasons(criteria, child, statuses)
    elif node.operator == "any":
        if node is criteria.root:
            children = [c for c in children if not _fails_on_guard(criteria, c, statuses)]
            if not children:
                yield criteria.reason(node, NOT_MET)
        for child in children:
            yield from _failed_reasons(criteria, child, statuses)
    else:
        yield criteria.reason(node, NOT_MET)


def _dedupe(reasons: Iterator[Reason]) -> Iterator[Reason]:
    seen = set()
    for r in reasons:
        if r.criterion not in seen:
            seen.add(r.criterion)
            yield r


def _trace(criteria: CompiledCriteria, node: CompiledNode, statuses: list[Truth], facts: Facts) -> TraceNode:
    c = node.criterion
    return TraceNode(
        criterion=c.id,
        text=c.text,
        section=c.section,
        status=statuses[node.index],
        operator=node.operator,
        facts={f: facts.get(f) for f in node.reads},
        reading=c.reading,
        children=tuple(_trace(criteria, criteria.nodes[i], statuses, facts) for i in node.children),
    )
