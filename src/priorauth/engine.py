"""Determinations: evaluate a request under the policy version in force on its date."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from priorauth.codes import normalize_county
from priorauth.criteria import ONE_DAY, CompiledCriteria, CompiledNode, months_after
from priorauth.determination import AuthorizationPeriod, Decision, Determination, Reason, Routing, TraceNode
from priorauth.dosing.check import check_doses
from priorauth.dosing.decision import apply_dose_check
from priorauth.errors import RequestError
from priorauth.facts import Facts, parse_request, validate_facts
from priorauth.logic import MET, NOT_MET, UNKNOWN, Truth
from priorauth.policy.registry import load_policy
from priorauth.policy.schema import Policy

# Beyond this many combinations of unknown facts sharing a subtree, the missing-fact
# set is the union of the children's (a superset; never reached by the bundled policy).
ENUMERATION_LIMIT = 20_000


class _PolicyRuntime:
    """What the engine derives once from one policy object: the compiled tree, the
    question ids, the version in force by day and the parameters by version."""

    __slots__ = ("policy", "criteria", "question_ids", "versions", "params")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.criteria = CompiledCriteria(policy)
        self.question_ids = frozenset(q.id for q in policy.questions)
        self.versions: dict[dt.date, dt.date | None] = {}
        self.params: dict[dt.date, dict[str, Any]] = {}

    def version_on(self, day: dt.date) -> dt.date | None:
        if day not in self.versions:
            if len(self.versions) >= 4096:
                self.versions.clear()
            self.versions[day] = self.policy.version_on(day)
        return self.versions[day]

    def parameters(self, version: dt.date) -> dict[str, Any]:
        params = self.params.get(version)
        if params is None:
            params = self.params[version] = parameters_on(self.policy, version)
        return params


# Keyed by the policy object, not its id string: a policy parsed from another file (a
# draft of the next version, a test variant) must not borrow the bundled one's tree.
_RUNTIMES: dict[int, _PolicyRuntime] = {}


def _runtime(policy: Policy) -> _PolicyRuntime:
    runtime = _RUNTIMES.get(id(policy))
    if runtime is None or runtime.policy is not policy:
        runtime = _RUNTIMES[id(policy)] = _PolicyRuntime(policy)  # holds the policy: its id stays unique
    return runtime


def compiled(policy_id: str) -> CompiledCriteria:
    """The compiled criteria of a bundled policy."""
    return _runtime(load_policy(policy_id)).criteria


def evaluate(request: dict[str, Any]) -> Determination:
    """Decide a contract request (`{"policy": ..., "facts": {...}}`)."""
    policy, facts = parse_request(request)
    return determine(policy, facts)


def evaluate_facts(policy_id: str, facts: dict[str, Any]) -> Determination:
    """Decide raw facts under a bundled policy."""
    policy = load_policy(policy_id)
    return determine(policy, validate_facts(policy, facts))


def parameters_on(policy: Policy, day: dt.date) -> dict[str, Any]:
    return {name: p.at(day) for name, p in policy.parameters.items()}


@lru_cache(maxsize=256)
def _iso(day: dt.date) -> str:
    return day.isoformat()


def _parameters_cached(policy_id: str, version: dt.date) -> dict[str, Any]:
    """The parameters of a bundled policy's version (the same dict object each time)."""
    return _runtime(load_policy(policy_id)).parameters(version)


def determine(policy: Policy, facts: Facts, dosing: Any = None) -> Determination:
    """Decide validated facts, and check doses when the request carries them.

    `dosing` is a `dosing` block (dict or DosingRequest); by default the one that
    `parse_request` attached to the facts. See priorauth.dosing.decision for how the
    dose check combines with the criteria.
    """
    det = _decide_criteria(policy, facts)
    dosing = dosing if dosing is not None else getattr(facts, "dosing", None)
    if dosing is None or det.decision is Decision.NOT_APPLICABLE:
        return det
    return apply_dose_check(det, check_doses(policy, dosing, facts.get("request_date")))


def _decide_criteria(policy: Policy, facts: Facts) -> Determination:
    """Decide validated facts against the criteria (Sections I-IV, Appendices)."""
    runtime = _runtime(policy)
    day = facts.get("request_date")
    if day is not None:
        version = runtime.version_on(day)
        if version is None:
            first = min(v.effective for v in policy.versions).isoformat()
            raise RequestError(
                "facts.request_date",
                f"before the first version of policy {policy.id} that this engine holds ({first})",
                "no_policy_version",
            )
        birth = facts.get("birth_date")
        if birth is not None and birth > day:
            raise RequestError("facts.birth_date", "after request_date", "inconsistent_facts")
    else:
        version = max(v.effective for v in policy.versions)
    params = runtime.parameters(version)
    version_text = _iso(version)

    scope = policy.scope
    if scope is not None and facts.get(scope.fact) in scope.not_governed:
        return _not_governed(policy, facts, version_text)

    criteria = runtime.criteria
    statuses = criteria.evaluate(facts, params)
    root_status = statuses[criteria.root.index]

    def trace() -> TraceNode:
        return _trace(criteria, criteria.root, statuses, facts)

    if root_status is UNKNOWN:
        residual = _root_residual(criteria, statuses, facts, params, version)
        if residual.pended:
            return Determination(
                policy.id, version_text, Decision.PENDED, residual.reasons, residual.missing, trace_builder=trace
            )
        root_status = MET if residual.can_be_met else NOT_MET  # unknown facts that cannot change anything

    reasons = _decided_reasons(criteria, statuses, root_status)
    if root_status is MET:
        authorization = _authorization(policy, facts, params)
        return Determination(
            policy.id, version_text, Decision.APPROVED, reasons, (), authorization, trace_builder=trace
        )
    return Determination(policy.id, version_text, Decision.DENIED, reasons, (), trace_builder=trace)


# --- reasons --------------------------------------------------------------------------

_REASONS_CACHE: dict[tuple, tuple[Reason, ...]] = {}
_REASONS_CACHE_SIZE = 4096


def _decided_reasons(criteria: CompiledCriteria, statuses: list[Truth], root_status: Truth) -> tuple[Reason, ...]:
    """Reasons of an approval or denial: a function of the statuses alone, so cached by them."""
    key = (id(criteria), root_status, *statuses)
    cached = _REASONS_CACHE.get(key)
    if cached is None:
        if root_status is MET:
            cached = tuple(_met_reasons(criteria, criteria.root, statuses))
        else:
            cached = tuple(_dedupe(_failed_reasons(criteria, criteria.root, statuses)))
        if len(_REASONS_CACHE) >= _REASONS_CACHE_SIZE:
            _REASONS_CACHE.clear()
        _REASONS_CACHE[key] = cached
    return cached


def _reason(node: CompiledNode, status: Truth) -> Reason:
    c = node.criterion
    return Reason(c.id, c.section, status, c.text)


def _met_reasons(criteria: CompiledCriteria, node: CompiledNode, statuses: list[Truth]):
    """The leaves that carry the approval: every child of `all`, the first met child of `any`."""
    if not node.children:
        yield _reason(node, MET)
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


def _failed_reasons(criteria: CompiledCriteria, node: CompiledNode, statuses: list[Truth]):
    """Each criterion that is definitely not met and decides the failure.

    A branch of an `any` that fails on its guard (it does not apply to this request)
    is not a reason; when every branch fails that way, the `any` itself is.
    """
    if not node.children:
        yield _reason(node, NOT_MET)
        return
    children = [criteria.nodes[i] for i in node.children]
    if node.operator == "all":
        for child in children:
            if statuses[child.index] is NOT_MET:
                yield from _failed_reasons(criteria, child, statuses)
    elif node.operator == "any":
        applicable = [c for c in children if not _fails_on_guard(criteria, c, statuses)]
        if not applicable:
            yield _reason(node, NOT_MET)
        for child in applicable:
            yield from _failed_reasons(criteria, child, statuses)
    else:
        yield _reason(node, NOT_MET)


def _dedupe(reasons):
    seen = set()
    for r in reasons:
        if r.criterion not in seen:
            seen.add(r.criterion)
            yield r


def _unknown_reasons(criteria: CompiledCriteria, statuses: list[Truth], essential: set[str]):
    """Unknown leaves, reachable through unknown nodes, that read a missing fact."""
    for node in criteria.nodes:
        if node.children or statuses[node.index] is not UNKNOWN or not essential.intersection(node.reads):
            continue
        index = node.index
        live = True
        while index in criteria.parent:
            index = criteria.parent[index]
            if statuses[index] is not UNKNOWN:
                live = False
                break
        if live:
            yield _reason(node, UNKNOWN)


# --- missing facts: the residual ------------------------------------------------------


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


_RESIDUAL_CACHE: dict[tuple, Residual] = {}
RESIDUAL_CACHE_SIZE = 4096


def _root_residual(criteria, statuses, facts, params, version) -> Residual:
    """The residual of the whole tree, cached by (statuses, unknown facts).

    Every leaf operator reaches both outcomes by witness values chosen relative to the
    known facts, so the residual depends only on which leaves are decided how and which
    facts are unknown, not on the known values themselves. Set RESIDUAL_CACHE_SIZE = 0
    to measure without the cache.
    """
    key = None
    if RESIDUAL_CACHE_SIZE:
        unknown = _runtime(criteria.policy).question_ids.difference(facts.keys())
        if None in facts.values():
            unknown = unknown.union(k for k, v in facts.items() if v is None)
        key = (id(criteria), unknown, *statuses)
        cached = _RESIDUAL_CACHE.get(key)
        if cached is not None:
            return cached
    can_true, can_false, essential = _residual(criteria, criteria.root, statuses, facts, params, version)
    result = Residual(
        can_true,
        can_false,
        tuple(q.id for q in criteria.policy.questions if q.id in essential),
        tuple(_unknown_reasons(criteria, statuses, essential)),
    )
    if key is not None:
        if len(_RESIDUAL_CACHE) >= RESIDUAL_CACHE_SIZE:
            _RESIDUAL_CACHE.clear()
        _RESIDUAL_CACHE[key] = result
    return result


def _residual(
    criteria: CompiledCriteria,
    node: CompiledNode,
    statuses: list[Truth],
    facts: Facts,
    params: dict[str, Any],
    version: dt.date,
) -> tuple[bool, bool, set[str]]:
    """(can be met, can be not met, unknown facts that can change it) for a node.

    A fact is in the set when some values of the other unknown facts make the node's
    status depend on it. Children that read disjoint unknown facts combine exactly by
    rule; children sharing unknown facts are settled by enumerating witness values.
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
        parts = [_residual(criteria, c, statuses, facts, params, version) for c in open_children]
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
    return _enumerate(criteria, node, facts, params, version, sorted(union))


def _live_unknowns(criteria: CompiledCriteria, node: CompiledNode, statuses: list[Truth], facts: Facts) -> frozenset:
    """Unknown facts read by the undecided part of a subtree: only they can still move it."""
    if statuses[node.index] is not UNKNOWN:
        return frozenset()
    if not node.children:
        return frozenset(f for f in node.reads if facts.get(f) is None)
    return frozenset().union(*(_live_unknowns(criteria, criteria.nodes[i], statuses, facts) for i in node.children))


def _domain(criteria: CompiledCriteria, node: CompiledNode, fact: str, facts: Facts, params, ref: dt.date) -> list:
    question = criteria.policy.question(fact)
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


def _enumerate(criteria, node, facts, params, version, unknown: list[str]) -> tuple[bool, bool, set[str]]:
    ref = facts.get("request_date") or version
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
            # A degenerate domain (request_date with no anchor date): it still decides.
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


# --- approval, routing, trace ---------------------------------------------------------


def authorization_for(policy: Policy, facts: Facts, start: dt.date | None = None) -> AuthorizationPeriod:
    """The authorization period and limits an approval of `facts` carries (Sections I, II, VI).

    The same computation as an engine approval, for approvals the engine did not make (a
    reviewer's). `start` defaults to the request date; parameters are those of the policy
    version in force on the request date (else on `start`). A renewal needs
    `first_authorization_date` and `cycles_received`; its period may already be over
    (`end` before `start`). RequestError names a fact that is needed and unknown.
    """
    day = start or facts.get("request_date")
    if day is None:
        raise RequestError("facts.request_date", "needed for the authorization period (or give a start)")
    if facts.get("request_type") == "renewal":
        for fact in ("first_authorization_date", "cycles_received"):
            if facts.get(fact) is None:
                raise RequestError(f"facts.{fact}", "needed for a renewal's authorization period")
    runtime = _runtime(policy)
    version = runtime.version_on(facts.get("request_date") or day)
    if version is None:
        first = min(v.effective for v in policy.versions).isoformat()
        raise RequestError(
            "facts.request_date",
            f"before the first version of policy {policy.id} that this engine holds ({first})",
            "no_policy_version",
        )
    return _authorization(policy, facts, runtime.parameters(version), day)


def _authorization(
    policy: Policy, facts: Facts, params: dict[str, Any], start: dt.date | None = None
) -> AuthorizationPeriod:
    """Start on `start` (default: the request date); end the day before the same date `authorization_months` later.

    A renewal never extends the first authorization: it ends when that one ends, and
    covers only the cycles not yet given.
    """
    day = start or facts["request_date"]
    renewal = facts.get("request_type") == "renewal"
    first, given = (facts["first_authorization_date"], facts["cycles_received"]) if renewal else (None, None)
    # Periods are immutable and few distinct ones recur (same dates, same version): cache them.
    key = (policy.id, id(params), day, first, given)
    period = _PERIODS.get(key)
    if period is None:
        months = params["authorization_months"]
        max_cycles = params["max_cycles"]
        if renewal:
            end = months_after(first, months) - ONE_DAY
            remaining = max(0, max_cycles - given)
        else:
            end = months_after(day, months) - ONE_DAY
            remaining = max_cycles
        period = AuthorizationPeriod(
            start=day,
            end=end,
            max_cycles=max_cycles,
            max_units=params["max_units"],
            unit_window_days=params["unit_window_days"],
            hcpcs=policy.billing.hcpcs.code,
            renewable=params["renewable"],
            cycles_remaining=remaining,
        )
        if len(_PERIODS) >= 4096:
            _PERIODS.clear()
        _PERIODS[key] = period
    return period


_PERIODS: dict[tuple, AuthorizationPeriod] = {}


def _not_governed(policy: Policy, facts: Facts, version: str) -> Determination:
    scope = policy.scope
    assert scope is not None
    reason = Reason("scope", scope.section, NOT_MET, scope.text)
    macs = policy.mac_jurisdictions
    if macs is None:
        return Determination(policy.id, version, Decision.NOT_APPLICABLE, (reason,), ())
    state = facts.get(macs.state_fact)
    if state is None:
        return Determination(policy.id, version, Decision.NOT_APPLICABLE, (reason,), (macs.state_fact,))
    county_rules = [(j, names) for j in macs.jurisdictions for st, names in j.counties.items() if st == state]
    chosen = None
    if county_rules:
        county = facts.get(macs.county_fact)
        if county is None:
            return Determination(policy.id, version, Decision.NOT_APPLICABLE, (reason,), (macs.county_fact,))
        name, kind = normalize_county(county)
        for jurisdiction, names in county_rules:
            for listed in names:
                listed_name, listed_kind = normalize_county(listed)
                if listed_name == name and (kind is None or kind == listed_kind):
                    chosen = jurisdiction
    if chosen is None:
        chosen = next((j for j in macs.jurisdictions if state in j.states), None)
    if chosen is None:
        return Determination(policy.id, version, Decision.NOT_APPLICABLE, (reason,), ())
    routing = Routing(chosen.jurisdiction, chosen.contractor, tuple(chosen.legacy), macs.section)
    return Determination(policy.id, version, Decision.NOT_APPLICABLE, (reason,), (), routing=routing)


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
