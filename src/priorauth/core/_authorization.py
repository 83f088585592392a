"""The authorization an approval carries: period and limits (Sections I, II, VI).

A version either states one set of terms in its parameters (`authorization_months`,
`max_cycles`, `max_units`, `unit_window_days`, `renewable`), or lists per-branch terms under
`authorizations:`, each chosen by a condition on facts (priorauth.core._policy.document.
AuthorizationTerms). Dose checks and claim lines read the unit limit of the terms that cover
their cycle (`unit_terms`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from priorauth.core._dates import ONE_DAY, months_after
from priorauth.core._determination import AuthorizationPeriod
from priorauth.core._errors import PolicyError, RequestError
from priorauth.core._facts import Facts
from priorauth.core._logic import MET, NOT_MET, UNKNOWN
from priorauth.core._policy.document import AuthorizationTerms
from priorauth.core._policy.dosing import Condition
from priorauth.core._policy.policy import Policy
from priorauth.core._policy.version import PolicyVersion

_PERIODS: dict[tuple, AuthorizationPeriod] = {}


@dataclass(frozen=True, slots=True)
class CourseTerms:
    """A course of treatment with its numbers resolved: start fact, months, cycles, cycles-given fact."""

    start: str
    months: int
    cycles: int
    given: str


@dataclass(frozen=True, slots=True)
class BranchTerms:
    """One branch's authorization terms with every number resolved (parameters read)."""

    id: str
    section: str
    text: str
    when: Condition | None
    first_cycle: int
    last_cycle: int | None
    months: int
    max_cycles: int
    max_units: int
    unit_window_days: int
    renewable: bool
    course: CourseTerms | None

    def covers(self, cycle: int) -> bool:
        return self.first_cycle <= cycle and (self.last_cycle is None or cycle <= self.last_cycle)

    @property
    def units_per_day(self) -> float:
        return self.max_units / self.unit_window_days


_TERMS: dict[Any, tuple[BranchTerms, ...]] = {}


def branch_terms(version: PolicyVersion) -> tuple[BranchTerms, ...]:
    """The version's per-branch terms, resolved (empty for a version with one set of terms)."""
    runtime = version.runtime
    cached = _TERMS.get(runtime)
    if cached is None:
        params = runtime.params

        def value(raw: Any) -> Any:
            return params[raw] if isinstance(raw, str) else raw

        cached = tuple(_resolved(t, value) for t in version.authorizations or ())
        if len(_TERMS) >= 256:
            _TERMS.clear()
        _TERMS[runtime] = cached
    return cached


def _resolved(t: AuthorizationTerms, value: Any) -> BranchTerms:
    course = None
    if t.course is not None:
        course = CourseTerms(t.course.start, value(t.course.months), value(t.course.cycles), t.course.given)
    return BranchTerms(
        id=t.id, section=t.section, text=t.text, when=t.when,
        first_cycle=t.cycles.first if t.cycles else 1, last_cycle=t.cycles.last if t.cycles else None,
        months=value(t.months), max_cycles=value(t.max_cycles), max_units=value(t.max_units),
        unit_window_days=value(t.unit_window_days), renewable=bool(value(t.renewable)), course=course,
    )


def _holds(condition: Condition | None, facts: Mapping[str, Any]) -> tuple[Any, frozenset[str]]:
    if condition is None:
        return MET, frozenset()
    from priorauth.core._dosing.conditions import holds

    return holds(condition, facts)


def choose_terms(version: PolicyVersion, facts: Mapping[str, Any]) -> BranchTerms | None:
    """The terms an approval of `facts` carries: the first (file order) whose condition holds.

    None for a version with one set of terms (its parameters). RequestError naming the facts
    when the choice depends on unknown ones; PolicyError when no terms apply.
    """
    terms = branch_terms(version)
    if not terms:
        return None
    unknown: set[str] = set()
    for t in terms:
        status, names = _holds(t.when, facts)
        if status is MET and not unknown:
            return t
        if status is not NOT_MET:
            unknown |= names
    if unknown:
        first = next(q.id for q in version.questions if q.id in unknown)
        raise RequestError(f"facts.{first}", "needed to choose the authorization's terms (Section I)")
    raise PolicyError(f"{version.id} {version.version}: no `authorizations` entry applies to this request")


def unit_terms(version: PolicyVersion, values: Mapping[str, Any], cycle: int | None) -> BranchTerms | None:
    """The terms whose unit limit applies to a dose of `cycle` given what is known (`values`).

    The terms covering the cycle whose condition is not known to fail; when several remain
    (an unknown fact), or none does, the strictest unit limit of those (or of all terms
    covering the cycle, else of all): the fewest units per day, then the longer window.
    None for a version with one set of terms.
    """
    terms = branch_terms(version)
    if not terms:
        return None
    covering = [t for t in terms if cycle is None or t.covers(cycle)]
    statuses = [(t, _holds(t.when, values)[0]) for t in covering]
    for t, status in statuses:
        if status is MET:
            return t
        if status is UNKNOWN:
            break
    possible = [t for t, status in statuses if status is not NOT_MET]
    return strictest_terms(possible or covering or list(terms))


def strictest_terms(terms: list[BranchTerms] | tuple[BranchTerms, ...]) -> BranchTerms:
    """The terms with the strictest unit limit: the fewest units per day, then the longer window."""
    return min(terms, key=lambda t: (t.units_per_day, -t.unit_window_days))


def authorization_for(
    policy: Policy | PolicyVersion, facts: Facts, start: dt.date | None = None
) -> AuthorizationPeriod:
    """The authorization period and limits an approval of `facts` carries.

    The same computation as an engine approval, for approvals the engine did not make (a
    reviewer's). `start` defaults to the decision date; the version is the one in force on
    the decision date (else on `start`), or the version given. A renewal needs
    `first_authorization_date` and `cycles_received` (per-branch terms: the facts of their
    course); its period may already be over (`end` before `start`). RequestError names a fact
    that is needed and unknown.
    """
    on_fact = policy.decided_on
    day = start or facts.get(on_fact)
    if day is None:
        raise RequestError(f"facts.{on_fact}", "needed for the authorization period (or give a start)")
    version = policy if isinstance(policy, PolicyVersion) else policy.in_force(facts.get(on_fact) or day)
    terms = choose_terms(version, facts)
    if terms is None:
        if facts.get("request_type") == "renewal":
            for fact in ("first_authorization_date", "cycles_received"):
                if facts.get(fact) is None:
                    raise RequestError(f"facts.{fact}", "needed for a renewal's authorization period")
    elif terms.course is not None:
        for fact in (terms.course.start, terms.course.given):
            if facts.get(fact) is None:
                raise RequestError(f"facts.{fact}", "needed for this authorization's period (its course)")
    return authorization(version, facts, day)


def authorization(version: PolicyVersion, facts: Facts, start: dt.date | None = None) -> AuthorizationPeriod:
    """Start on `start` (default: the decision date); end the day before the same date
    `authorization_months` later (contract section 4).

    With one set of terms, a renewal never extends the first authorization: it ends when that
    one ends, and covers only the cycles not yet given. With per-branch terms, see
    `AuthorizationTerms`.
    """
    day = start or facts[version.decided_on]
    terms = choose_terms(version, facts)
    if terms is not None:
        return _branch_period(version, terms, facts, day)
    renewal = facts.get("request_type") == "renewal"
    first, given = (facts["first_authorization_date"], facts["cycles_received"]) if renewal else (None, None)
    # Periods are immutable and few distinct ones recur (same dates, same version): cache them,
    # keyed by the version's runtime object (held by the key, so never confused with another).
    key = (version.runtime, day, first, given)
    period = _PERIODS.get(key)
    if period is None:
        params = version.runtime.params
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
            hcpcs=version.billing.hcpcs.code,
            renewable=params["renewable"],
            cycles_remaining=remaining,
            months=months,
            section=version.parameters["authorization_months"].section,
            limit_section=version.parameters["max_units"].section,
        )
        _remember(key, period)
    return period


def _branch_period(version: PolicyVersion, terms: BranchTerms, facts: Facts, day: dt.date) -> AuthorizationPeriod:
    """Per-branch terms: `months` from the start; a course caps the end, the cycles and renewal."""
    course = terms.course
    first: dt.date | None = facts[course.start] if course is not None else None
    given: int | None = facts[course.given] if course is not None else None
    key = (version.runtime, terms.id, day, first, given)
    period = _PERIODS.get(key)
    if period is None:
        end = months_after(day, terms.months) - ONE_DAY
        cycles = terms.max_cycles
        renewable = terms.renewable
        if course is not None and first is not None and given is not None:
            end = min(end, months_after(first, course.months) - ONE_DAY)
            cycles = max(0, min(cycles, course.cycles - given))
            renewable = renewable and given + cycles < course.cycles
        period = AuthorizationPeriod(
            start=day,
            end=end,
            max_cycles=cycles,
            max_units=terms.max_units,
            unit_window_days=terms.unit_window_days,
            hcpcs=version.billing.hcpcs.code,
            renewable=renewable,
            cycles_remaining=cycles,
            branch=terms.id,
            months=terms.months,
            section=terms.section,
            limit_section=terms.section,
        )
        _remember(key, period)
    return period


def _remember(key: tuple, period: AuthorizationPeriod) -> None:
    if len(_PERIODS) >= 4096:
        _PERIODS.clear()
    _PERIODS[key] = period

