"""Properties of determinations over random partial requests (hypothesis), for every bundled policy.

(a) adding a fact to an approved or denied request never changes the decision, except a
    statement that contradicts a choice (`not_stated`: rituximab added to a single agent),
    which denies on that criterion;
(b) giving every missing fact any valid value never leaves the request pended for them;
(c) every missing fact can change the decision;
(d) an unknown fact that is not named missing changes nothing;
and an approval always carries its authorization.

The random requests start from the bases of the policy's case table (tests/cases/<policy>.yaml)
and draw each fact from its question: type, values, range. The witness values of (c) are
computed here from the policy's own thresholds (ages, periods, counts), not by the engine.
"""

from __future__ import annotations

import datetime as dt
import itertools
from functools import cache
from typing import Any

import pytest
import yaml
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tests.core.cases import CASES_DIR

import priorauth
from priorauth import Decision, Truth
from priorauth.core import walk

POLICIES = sorted(priorauth.policy_ids())
UNCOVERED_CODES = ["C92.00", "E11.9"]
STATES = ["OR", "VA", "TX", "PR"]
STRINGS = ["Fairfax", "Richmond city", "Alexandria", "dasatinib", "ponatinib"]


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


@cache
def version(policy: str):
    return priorauth.load_policy(policy).first


@cache
def bases(policy: str) -> list[dict[str, Any]]:
    doc = yaml.safe_load((CASES_DIR / f"{policy}.yaml").read_text(encoding="utf-8"))
    return [dict(b) for b in doc["bases"].values()]


def _leaves(policy: str):
    for _, node in walk(version(policy).criteria):
        if node.leaf is not None:
            yield node.leaf.operator, node.leaf.argument


@cache
def contradictions(policy: str) -> dict[tuple[str, Any], set[str]]:
    """(fact, value) -> the `not_stated` criteria it fails: a statement that contradicts a choice
    (rituximab added to a single agent). An absent fact states nothing, so stating it may deny."""
    out: dict[tuple[str, Any], set[str]] = {}
    for _, node in walk(version(policy).criteria):
        if node.leaf is not None and node.leaf.operator == "not_stated":
            out.setdefault(tuple(node.leaf.argument), set()).add(node.id)
    return out


def contradicted(policy: str, name: str, value: Any, after) -> bool:
    """The newly stated value fails a `not_stated` criterion: the one change a stated fact may make
    to a decided request (or to a pended one's missing facts)."""
    failed = {c for (fact, stated), ids in contradictions(policy).items() if (fact, stated) == (name, value)
              for c in ids}
    stack = [after.trace] if failed and after.trace is not None else []
    while stack:
        node = stack.pop()
        if node.criterion in failed and node.status is Truth.NOT_MET:
            return True
        stack.extend(node.children)
    return False


def _fact_of(argument: Any) -> str:
    if isinstance(argument, dict):
        return argument["fact"]
    if isinstance(argument, tuple):
        return argument[0]
    return argument.fact


@cache
def numbers(policy: str) -> dict[str, list[Any]]:
    """Boundary values of each integer or number fact, from the thresholds the criteria test it against."""
    v = version(policy)
    out: dict[str, list[Any]] = {}
    for operator, argument in _leaves(policy):
        fact = _fact_of(argument)
        q = v.questions_by_id.get(fact)
        if q is None or q.type not in ("integer", "number"):
            continue
        step = 1 if q.type == "integer" else None
        values: list[Any] = []
        if operator == "below_parameter":
            limit = v.parameter(argument["parameter"])
            values = [limit - 1, limit]
        elif operator == "at_least":
            t = argument["value"]
            values = [t, t - 1 if step else t / 2]
        elif operator == "between":
            for t in (argument.at_least, argument.at_most):
                if t is not None:
                    values += [t - (step or t / 2), t, t + (step or 1)]
        lo = q.minimum if q.minimum is not None else -(10**9)
        hi = q.maximum if q.maximum is not None else 10**9
        out.setdefault(fact, [])
        out[fact] += [x for x in values if lo <= x <= hi and x not in out[fact]]
    return out


@cache
def month_offsets(policy: str) -> dict[str, list[int]]:
    """Per date fact, the numbers of months the criteria measure from it (ages, periods)."""
    v = version(policy)
    out: dict[str, list[int]] = {}
    for operator, argument in _leaves(policy):
        if operator in ("age_at_least", "age_below"):
            out.setdefault(argument.fact, []).append(argument.months)
        elif operator in ("within_months", "period_not_over"):
            out.setdefault(argument["fact"], []).append(v.parameter(argument["parameter"]))
    return out


@cache
def covered_codes(policy: str) -> list[str]:
    return sorted({code for lst in version(policy).code_lists.values() for code in lst.codes})


def strategy(policy: str, fact: str) -> st.SearchStrategy:
    """Any valid value of the fact (as JSON would carry it), biased to the policy's thresholds."""
    v = version(policy)
    q = v.question(fact)
    effective = v.effective
    if q.type == "boolean":
        return st.booleans()
    if q.type == "choice":
        return st.sampled_from(q.values or [])
    if q.type == "date":
        if fact == v.decided_on:
            return st.dates(effective, effective + relativedelta(years=3)).map(_iso)
        return st.one_of(st.dates(dt.date(1925, 1, 1), effective),
                         st.dates(effective - relativedelta(years=3), effective + relativedelta(years=3))).map(_iso)
    if q.type in ("integer", "number"):
        lo = q.minimum if q.minimum is not None else 0
        hi = q.maximum if q.maximum is not None else lo + 12
        drawn = st.integers(int(lo), int(hi)) if q.type == "integer" else st.floats(lo, hi, allow_nan=False)
        special = numbers(policy).get(fact)
        return st.one_of(st.sampled_from(special), drawn) if special else drawn
    if q.type == "code_list":
        codes = covered_codes(policy)
        return st.sampled_from([[codes[0]], [UNCOVERED_CODES[0]], [UNCOVERED_CODES[1], codes[-1]],
                                codes[:2], [UNCOVERED_CODES[1]]])
    if q.type == "state":
        return st.sampled_from(STATES)
    return st.sampled_from(STRINGS)


@st.composite
def partial_facts(draw, policy: str):
    """A near-approvable request with some facts changed, dropped or added: a mix of every outcome."""
    v = version(policy)
    facts = dict(draw(st.sampled_from(bases(policy))))
    for q in v.questions:
        name = q.id
        roll = draw(st.integers(0, 9))
        if name in facts and roll < 3:
            del facts[name]
        elif roll == 9 or (name not in facts and roll == 8):
            facts[name] = draw(strategy(policy, name))
    if any(q.type == "date" and q.id in facts for q in v.questions) and v.decided_on not in facts:
        facts[v.decided_on] = draw(strategy(policy, v.decided_on))
    return facts


def decide(policy: str, facts: dict[str, Any]):
    return priorauth.evaluate({"policy": policy, "facts": facts})


PROPERTY_SETTINGS = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


@pytest.mark.parametrize("policy", POLICIES)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_a_adding_a_fact_never_changes_a_decided_request(policy, data):
    facts = data.draw(partial_facts(policy))
    try:
        det = decide(policy, facts)
    except priorauth.RequestError:
        assume(False)
    assume(det.decision in (Decision.APPROVED, Decision.DENIED))
    # A fact with a default (line_of_business) is known when absent: adding it is a change, not news.
    absent = sorted({q.id for q in version(policy).questions if q.default is None} - set(facts))
    assume(absent)
    name = data.draw(st.sampled_from(absent))
    value = data.draw(strategy(policy, name))
    more = dict(facts, **{name: value})
    try:
        after = decide(policy, more)
    except priorauth.RequestError:
        assume(False)  # e.g. a drawn birth date after the request date
    assert after.decision is det.decision or contradicted(policy, name, value, after)


@pytest.mark.parametrize("policy", POLICIES)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_b_answering_every_missing_fact_settles_them(policy, data):
    facts = data.draw(partial_facts(policy))
    try:
        det = decide(policy, facts)
    except priorauth.RequestError:
        assume(False)
    assume(det.missing_facts)
    more = dict(facts)
    for name in det.missing_facts:
        more[name] = data.draw(strategy(policy, name))
    try:
        after = decide(policy, more)
    except priorauth.RequestError:
        assume(False)
    assert not set(after.missing_facts) & set(det.missing_facts)
    if det.decision is Decision.PENDED:
        assert after.decision is not Decision.PENDED


@pytest.mark.parametrize("policy", POLICIES)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_d_a_fact_not_named_missing_changes_nothing(policy, data):
    """The residual is complete: an unknown fact it does not name cannot change the determination."""
    facts = data.draw(partial_facts(policy))
    try:
        det = decide(policy, facts)
    except priorauth.RequestError:
        assume(False)
    assume(det.decision is Decision.PENDED)
    quiet = sorted({q.id for q in version(policy).questions if q.default is None}
                   - set(facts) - set(det.missing_facts))
    assume(quiet)
    name = data.draw(st.sampled_from(quiet))
    value = data.draw(strategy(policy, name))
    try:
        after = decide(policy, dict(facts, **{name: value}))
    except priorauth.RequestError:
        assume(False)
    if contradicted(policy, name, value, after):
        return
    assert (after.decision, after.missing_facts) == (det.decision, det.missing_facts), name


def witnesses(policy: str, name: str, facts: dict[str, Any]) -> list[Any]:
    """Values of one fact that reach each side of every test the policy makes on it."""
    v = version(policy)
    q = v.question(name)
    day = dt.date.fromisoformat(facts.get(v.decided_on, v.effective.isoformat()))
    if q.type == "date":
        if name == v.decided_on:
            return [day.isoformat(), (day + relativedelta(months=9)).isoformat()]
        out = []
        for months in month_offsets(policy).get(name, [12]):
            boundary = day - relativedelta(months=months)
            out += [(boundary - dt.timedelta(days=2)).isoformat(), (boundary + dt.timedelta(days=2)).isoformat()]
        return list(dict.fromkeys(out))
    if q.type in ("integer", "number"):
        return numbers(policy).get(name) or [q.minimum or 0, (q.minimum or 0) + 1]
    if q.type == "code_list":
        return [[covered_codes(policy)[0]], [UNCOVERED_CODES[0]]]
    if q.type == "state":
        return ["OR", "VA"]
    if q.type == "string":
        county = v.mac_jurisdictions.county_fact if v.mac_jurisdictions else None
        return ["Fairfax", "Richmond city"] if name == county else ["dasatinib", "asciminib"]
    if q.type == "choice":
        return list(q.values or [])
    return [True, False]


def outcome(det):
    return (det.decision, det.routing.jurisdiction if det.routing else None)


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_c_every_missing_fact_can_change_the_decision(policy, data):
    facts = data.draw(partial_facts(policy))
    try:
        det = decide(policy, facts)
    except priorauth.RequestError:
        assume(False)
    missing = list(det.missing_facts)
    assume(missing and len(missing) <= 4 and version(policy).decided_on not in missing)
    domains = {name: witnesses(policy, name, facts) for name in missing}
    results = {}
    for combo in itertools.product(*(range(len(domains[n])) for n in missing)):
        trial = dict(facts, **{n: domains[n][k] for n, k in zip(missing, combo, strict=True)})
        try:
            results[combo] = outcome(decide(policy, trial))
        except priorauth.RequestError:
            continue
    for position, name in enumerate(missing):
        groups = {}
        for combo, result in results.items():
            groups.setdefault(combo[:position] + combo[position + 1:], set()).add(result)
        assert any(len(g) > 1 for g in groups.values()), f"{name} cannot change the decision"


@pytest.mark.parametrize("policy", POLICIES)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_an_approval_carries_the_authorization_of_its_terms(policy, data):
    facts = data.draw(partial_facts(policy))
    try:
        det = decide(policy, facts)
    except priorauth.RequestError:
        assume(False)
    assert (det.authorization is not None) is (det.decision is Decision.APPROVED)
    if det.authorization is not None:
        a = det.authorization
        assert a.start <= a.end or facts.get("request_type") == "renewal"
        assert 0 <= a.cycles_remaining <= a.max_cycles or a.branch is None
        branches = {t.id for t in version(policy).authorizations or ()}
        assert (a.branch in branches) if branches else a.branch is None


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_generated_evaluator_agrees_with_the_plain_loop(policy, data):
    from priorauth.core import validate_facts

    facts = data.draw(partial_facts(policy))
    v = version(policy)
    try:
        valid = validate_facts(v, facts)
    except priorauth.RequestError:
        assume(False)
    criteria = v.runtime.criteria
    params = v.runtime.params
    assert criteria.evaluate(valid, params) == criteria.evaluate_by_loop(valid, params)


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_residual_cache_never_changes_a_determination(policy, data):
    from priorauth.core import _residual as engine  # the private cache switch under test

    facts = data.draw(partial_facts(policy))
    try:
        warm = decide(policy, facts)
        warm_again = decide(policy, facts)
    except priorauth.RequestError:
        assume(False)
    size = engine.RESIDUAL_CACHE_SIZE
    engine.RESIDUAL_CACHE_SIZE = 0
    try:
        cold = decide(policy, facts)
    finally:
        engine.RESIDUAL_CACHE_SIZE = size
    assert warm.to_dict() == warm_again.to_dict() == cold.to_dict()


@pytest.mark.parametrize("policy", POLICIES)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_missing_facts_by_bit_sets_equal_those_by_evaluating_every_combination(policy, data):
    """The residual's enumeration over bit sets names the same missing facts, and decides the same,
    as evaluating the subtree once per combination of the unknown facts' witness values."""
    from priorauth.core import _residual as engine  # the private enumeration under test

    facts = data.draw(partial_facts(policy))
    size = engine.RESIDUAL_CACHE_SIZE
    engine.RESIDUAL_CACHE_SIZE = 0
    calls: list[tuple[Any, Any]] = []
    fast = engine._enumerate

    def both(*args):
        calls.append((fast(*args), engine._enumerate_by_evaluation(*args)))
        return calls[-1][0]

    engine._enumerate = both
    try:
        det = decide(policy, facts)
    except priorauth.RequestError:
        assume(False)
    finally:
        engine._enumerate = fast
        engine.RESIDUAL_CACHE_SIZE = size
    for by_bits, by_evaluation in calls:
        assert by_bits == by_evaluation
    assert det.decision in Decision
