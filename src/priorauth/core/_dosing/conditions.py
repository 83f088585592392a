"""Section V conditions, three-valued: met, not met, or unknown naming the inputs still needed."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from priorauth.core._logic import MET, NOT_MET, UNKNOWN, Truth, negate
from priorauth.core._policy.dosing import Condition, Dosing

if TYPE_CHECKING:
    from priorauth.core._policy.version import PolicyVersion

Values = Mapping[str, Any]
# Case splits are made over at most this many combinations of unknown values.
MAX_CASES = 64


def holds(condition: Condition, values: Values) -> tuple[Truth, frozenset[str]]:
    """The condition's status and, when unknown, the unknown names that leave it unknown."""
    if condition.match is not None:
        return _combine_all(_leaf(name, allowed, values) for name, allowed in condition.match.items())
    if condition.not_of is not None:
        status, unknown = holds(condition.not_of, values)
        return negate(status), unknown
    if condition.all_of is not None:
        return _combine_all(holds(c, values) for c in condition.all_of)
    assert condition.any_of is not None
    results = [holds(c, values) for c in condition.any_of]
    if any(s is MET for s, _ in results):
        return MET, frozenset()
    unknown = frozenset().union(*(u for s, u in results if s is UNKNOWN))
    return (UNKNOWN, unknown) if unknown else (NOT_MET, frozenset())


def _leaf(name: str, allowed: tuple[Any, ...], values: Values) -> tuple[Truth, frozenset[str]]:
    value = values.get(name)
    if value is None:
        return UNKNOWN, frozenset((name,))
    same_kind = [a for a in allowed if isinstance(a, bool) == isinstance(value, bool)]
    return (MET if value in same_kind else NOT_MET), frozenset()


def _combine_all(results: Iterable[tuple[Truth, frozenset[str]]]) -> tuple[Truth, frozenset[str]]:
    unknown: frozenset[str] = frozenset()
    for status, names in results:
        if status is NOT_MET:
            return NOT_MET, frozenset()
        if status is UNKNOWN:
            unknown |= names
    return (UNKNOWN, unknown) if unknown else (MET, frozenset())


def domains(rules: Dosing, version: PolicyVersion | None = None) -> dict[str, tuple[Any, ...]]:
    """The values each name a condition reads can take (dose inputs; facts when `version` is given)."""
    if version is not None and version.dosing is rules:
        if rules._domains is None:
            rules._domains = _domains(rules, version)
        return rules._domains
    return _domains(rules, version)


def _domains(rules: Dosing, version: PolicyVersion | None) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    for name in rules.condition_names:
        spec = rules.inputs.get(name)
        if spec is not None and spec.domain is not None:
            out[name] = spec.domain
        elif version is not None and name in version.questions_by_id:
            q = version.question(name)
            if q.type == "boolean":
                out[name] = (True, False)
            elif q.type == "choice":
                out[name] = tuple(q.values or ())
    return out


def cases(names: Iterable[str], domain: Mapping[str, tuple[Any, ...]]) -> list[dict[str, Any]] | None:
    """Every combination of values of `names`; None when one has no known domain or there are too many."""
    names = list(names)
    if any(n not in domain for n in names):
        return None
    count = 1
    for n in names:
        count *= len(domain[n])
    if count > MAX_CASES:
        return None
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(domain[n] for n in names))]


def ordered(names: Iterable[str], rules: Dosing) -> tuple[str, ...]:
    """Names in the order the policy declares them: dose inputs, then facts."""
    wanted = set(names)
    order = [*rules.inputs, *rules.condition_names]
    return tuple(dict.fromkeys(n for n in [*order, *sorted(wanted)] if n in wanted))

