"""The authorization an approval carries: period and limits (Sections I, II, VI)."""

from __future__ import annotations

import datetime as dt

from priorauth.core._dates import ONE_DAY, months_after
from priorauth.core._determination import AuthorizationPeriod
from priorauth.core._errors import RequestError
from priorauth.core._facts import Facts
from priorauth.core._policy.policy import Policy
from priorauth.core._policy.version import PolicyVersion

_PERIODS: dict[tuple, AuthorizationPeriod] = {}


def authorization_for(
    policy: Policy | PolicyVersion, facts: Facts, start: dt.date | None = None
) -> AuthorizationPeriod:
    """The authorization period and limits an approval of `facts` carries.

    The same computation as an engine approval, for approvals the engine did not make (a
    reviewer's). `start` defaults to the decision date; the version is the one in force on
    the decision date (else on `start`), or the version given. A renewal needs
    `first_authorization_date` and `cycles_received`; its period may already be over
    (`end` before `start`). RequestError names a fact that is needed and unknown.
    """
    on_fact = policy.decided_on
    day = start or facts.get(on_fact)
    if day is None:
        raise RequestError(f"facts.{on_fact}", "needed for the authorization period (or give a start)")
    if facts.get("request_type") == "renewal":
        for fact in ("first_authorization_date", "cycles_received"):
            if facts.get(fact) is None:
                raise RequestError(f"facts.{fact}", "needed for a renewal's authorization period")
    version = policy if isinstance(policy, PolicyVersion) else policy.in_force(facts.get(on_fact) or day)
    return authorization(version, facts, day)


def authorization(version: PolicyVersion, facts: Facts, start: dt.date | None = None) -> AuthorizationPeriod:
    """Start on `start` (default: the decision date); end the day before the same date
    `authorization_months` later (contract section 4).

    A renewal never extends the first authorization: it ends when that one ends, and
    covers only the cycles not yet given.
    """
    day = start or facts[version.decided_on]
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
        )
        if len(_PERIODS) >= 4096:
            _PERIODS.clear()
        _PERIODS[key] = period
    return period
