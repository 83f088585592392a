"""What a decision says: Determination, AuthorizationPeriod, Routing, TraceNode (Reason: core._reasons)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from priorauth.core._logic import Truth
from priorauth.core._reasons import Reason as Reason  # noqa: PLC0414 - re-exported: decisions name it here
from priorauth.core._reasons import reasons_text


class Decision(str, Enum):  # noqa: UP042 - str mixin keeps json.dumps(decision) working
    APPROVED = "approved"
    DENIED = "denied"
    PENDED = "pended"
    NOT_APPLICABLE = "not_applicable"


# Enum .value goes through a descriptor; this lookup is several times faster in to_dict.
_VALUES: dict[Enum, str] = {member: member.value for enum in (Truth, Decision) for member in enum}


@dataclass(frozen=True, slots=True)
class AuthorizationPeriod:
    """What an approval allows (Sections I, II, VI)."""

    start: dt.date
    end: dt.date
    max_cycles: int
    max_units: int
    unit_window_days: int
    hcpcs: str
    renewable: bool
    cycles_remaining: int
    # The `authorizations` entry of the policy these terms come from (a policy whose terms
    # differ by indication branch); None when the version has one set of terms.
    branch: str | None = None
    # For the doors' words (not in the JSON form): the length in months of an approval on these terms,
    # and the sections its period and its unit limit come from.
    months: int | None = field(default=None, compare=False)
    section: str = field(default="I", compare=False)
    limit_section: str = field(default="II", compare=False)
    # The JSON form, built once: periods are shared between decisions, to_dict copies it.
    _json: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        json_form: dict[str, Any] = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "max_cycles": self.max_cycles,
            "max_units": self.max_units,
            "unit_window_days": self.unit_window_days,
            "hcpcs": self.hcpcs,
            "renewable": self.renewable,
            "cycles_remaining": self.cycles_remaining,
        }
        if self.branch is not None:
            json_form["branch"] = self.branch
        object.__setattr__(self, "_json", json_form)

    def to_dict(self) -> dict[str, Any]:
        return self._json.copy()


@dataclass(frozen=True, slots=True)
class Routing:
    """The Medicare Administrative Contractor a Medicare request goes to (Appendix 2)."""

    jurisdiction: str
    contractor: str
    legacy_jurisdictions: tuple[str, ...]
    section: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "jurisdiction": self.jurisdiction,
            "contractor": self.contractor,
            "legacy_jurisdictions": list(self.legacy_jurisdictions),
            "section": self.section,
        }


@dataclass(frozen=True, slots=True)
class TraceNode:
    """One criterion as evaluated: status, the facts it read, its children."""

    criterion: str
    text: str
    section: str
    status: Truth
    operator: str
    facts: dict[str, Any]
    reading: str | None = None
    children: tuple[TraceNode, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "criterion": self.criterion,
            "section": self.section,
            "status": self.status.value,
            "text": self.text,
            "operator": self.operator,
        }
        if self.facts:
            out["facts"] = {k: _jsonable(v) for k, v in self.facts.items()}
        if self.reading:
            out["reading"] = self.reading
        if self.children:
            out["children"] = [c.to_dict() for c in self.children]
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclass(slots=True)
class Determination:
    """The outcome of evaluating one request under one policy version.

    Treat it as read-only (use `dataclasses.replace` for a changed copy). It is not
    frozen only because a frozen dataclass's constructor costs several times more, and
    one is built for every decision.
    """

    policy: str
    policy_version: str
    decision: Decision
    reasons: tuple[Reason, ...]
    missing_facts: tuple[str, ...]
    authorization: AuthorizationPeriod | None = None
    routing: Routing | None = None
    trace_builder: Callable[[], TraceNode] | None = field(default=None, compare=False, repr=False)
    # The check of the request's doses (a DoseCheck); None when it asks for none.
    dose_check: Any = None
    # SHA-256 of the canonical content of the version that decided (policy-files.md).
    policy_digest: str = ""

    @property
    def trace(self) -> TraceNode | None:
        """The full evaluation tree (built on first use)."""
        return self.trace_builder() if self.trace_builder else None

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object (request-contract.md, section 2)."""
        return {
            "policy": self.policy,
            "policy_version": self.policy_version,
            "policy_digest": self.policy_digest,
            "decision": _VALUES[self.decision],
            "reasons": [r.to_dict() for r in self.reasons],
            "missing_facts": list(self.missing_facts),
            "authorization": self.authorization.to_dict() if self.authorization else None,
            "routing": self.routing.to_dict() if self.routing else None,
            "dose_check": self.dose_check.to_dict() if self.dose_check is not None else None,
            "reasons_text": reasons_text(self.reasons),
        }
