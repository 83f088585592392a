"""Stored coverage requests as the doors see them, and the vocabulary of the workflow."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from sqlalchemy.orm import Session

from priorauth.core import (
    Determination,
    ErrorCode,
    Facts,
    PolicyVersion,
    RequestError,
    determine,
    parse_dosing,
    parse_iso_date,
    validate_facts,
)
from priorauth.service.errors import NotFound
from priorauth.service.policy_versions import decided_version
from priorauth.service.principal import Principal
from priorauth.store.models import CoverageRequest

URGENCIES = ("standard", "expedited")
REVIEW_ACTIONS = ("approve", "approve_with_modification", "deny")
STATUSES = ("pended", "awaiting_review", "approved", "denied", "not_applicable")
OPEN_STATUSES = ("pended", "awaiting_review")
MAX_PAGE = 200
MAX_OFFSET = 2**31  # deeper than any queue; a larger offset (e.g. page=10**20 on the pages) is a 422
# Sort orders of `list_requests`: each ends on the id, so pages never overlap or skip.
# `urgency` is expedited first, then soonest due; `status` is by status code, then soonest due.
SORTS = ("due", "-due", "created", "-created", "urgency", "status")


class PatientDetails(BaseModel):
    """Who the request is for. Not used in decisions; PHI: stored and shown, never logged or audited."""

    model_config = ConfigDict(extra="forbid")
    name: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    member_id: StrictStr | None = Field(default=None, min_length=1, max_length=64)


class PrescriberDetails(BaseModel):
    """The prescribing clinician: name and 10-digit NPI (its check digit is verified on submission). PHI."""

    model_config = ConfigDict(extra="forbid")
    name: StrictStr = Field(min_length=1, max_length=200)
    # Checked on submission (10 digits, then the check digit), so the problem is said in words.
    npi: StrictStr = Field(description="10 digits, the last the NPI check digit",
                           json_schema_extra={"pattern": "^[0-9]{10}$"})


class ContactDetails(BaseModel):
    """Who at the submitting office to reach about the request: a name and a phone number and/or an email."""

    model_config = ConfigDict(extra="forbid")
    name: StrictStr = Field(min_length=1, max_length=200)
    phone: StrictStr | None = Field(default=None, min_length=1, max_length=40)
    email: StrictStr | None = Field(default=None, min_length=3, max_length=254)


def npi_check_digit_ok(npi: str) -> bool:
    """The NPI check digit: Luhn over "80840" (the card issuer prefix) and the first nine digits."""
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed("80840" + npi[:9])):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10 == int(npi[9])


def name_key(name: str | None) -> str | None:
    """A name as the queue searches it: lower case, single spaces."""
    key = " ".join(name.split()).lower()[:200] if name else ""
    return key or None


class AuthorizationModification(BaseModel):
    """What a reviewer changes when approving with modification; at least one field."""

    model_config = ConfigDict(extra="forbid")
    start: StrictStr | None = Field(default=None, description="YYYY-MM-DD")
    end: StrictStr | None = Field(default=None, description="YYYY-MM-DD")
    max_cycles: StrictInt | None = Field(default=None, ge=0, le=100)
    max_units: StrictInt | None = Field(default=None, ge=0, le=10_000)


@dataclass(frozen=True)
class RequestFilters:
    """Filters of `list_requests`; None means any. `submitter` is the submitting organisation.

    `member_id` and `name` search by patient (PHI: never logged or audited).

    `status` is one status or a tuple of them (any of them matches), e.g. OPEN_STATUSES.
    """

    status: str | tuple[str, ...] | None = None
    policy: str | None = None
    due_before: dt.datetime | None = None
    submitter: str | None = None
    overdue: bool | None = None
    urgency: str | None = None
    member_id: str | None = None  # the patient's member id, exactly
    name: str | None = None  # part of the patient's name, any case


@dataclass(frozen=True)
class Page:
    """A page of `list_requests`: `sort` is one of SORTS (default `due`, soonest first)."""

    limit: int = 50
    offset: int = 0
    sort: str = "due"


WITHHELD_FIELDS = ("determination", "engine_decision", "authorization", "decided_at", "decided_by", "review")
WITHHELD_NOTE = "awaiting a clinician's review: the outcome is shown once it is final"


@dataclass(frozen=True)
class StoredRequest:
    """A stored coverage request as the doors see it (a snapshot, detached from the session)."""

    id: str
    policy: str
    policy_version: str
    urgency: str
    status: str
    version: int
    facts: dict[str, Any]
    patient: dict[str, Any] | None
    determination: dict[str, Any]
    engine_decision: str
    authorization: dict[str, Any] | None
    submitter_org: str
    submitted_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    due_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str | None
    review_action: str | None
    review_note: str | None
    dosing: dict[str, Any] | None = None
    prescriber: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    backdating: dict[str, Any] | None = None
    replayed: bool = False
    policy_digest: str = ""
    # The exact policy version that decided (loaded from the store by digest), and the
    # effective date of a newer (or edited) version of the policy now loaded, if any.
    decided_under: PolicyVersion | None = field(default=None, compare=False, repr=False)
    newer_version: str | None = None

    def redecided(self) -> Determination:
        """The determination re-derived under the version that decided it (for its trace and dose plan).

        The stored `determination` is what was decided; the tree is not stored, as it is a pure
        function of the facts, the dosing block and that version's content.
        """
        version = self.decided_under
        if version is None:
            raise RequestError("policy", "the policy version that decided this request is not available",
                               ErrorCode.NO_POLICY_VERSION)
        dosing = parse_dosing(version, self.dosing) if self.dosing is not None else None
        return determine(version, validate_facts(version, self.facts), dosing)

    @property
    def trace(self) -> dict[str, Any] | None:
        """The full criteria tree under the version that decided."""
        tree = self.redecided().trace
        return tree.to_dict() if tree is not None else None

    @property
    def received_on(self) -> dt.date:
        """The day (UTC) the service received the request: the request date unless a reviewer back-dated it."""
        return self.created_at.astimezone(dt.UTC).date()

    @property
    def final(self) -> bool:
        return self.status not in OPEN_STATUSES

    def overdue(self, now: dt.datetime | None = None) -> bool:
        """Still open after its due time."""
        return not self.final and (now or dt.datetime.now(dt.UTC)) > self.due_at

    def withheld_from(self, role: str | None) -> bool:
        """True when `role` may not yet see the engine's recommendation (and so no letter).

        An engine denial is a recommendation that waits for a clinician: until the outcome is
        final, a submitter sees that the request awaits review, not what the engine proposed.
        The same rule holds on every door (REST, web pages and letters, FHIR).
        """
        return role == "submitter" and self.status == "awaiting_review"

    def to_dict(self, include_trace: bool = False, role: str | None = None) -> dict[str, Any]:
        """The request as JSON; `role` is the caller's (a submitter's view withholds the recommendation)."""
        out = {
            "id": self.id,
            "policy": self.policy,
            "policy_version": self.policy_version,
            "policy_digest": self.policy_digest,
            "newer_policy_version": self.newer_version,
            "urgency": self.urgency,
            "status": self.status,
            "version": self.version,
            "facts": self.facts,
            "dosing": self.dosing,
            "patient": self.patient,
            "prescriber": self.prescriber,
            "contact": self.contact,
            "received_on": self.received_on.isoformat(),
            "backdated": self.backdating,
            "determination": self.determination,
            "engine_decision": self.engine_decision,
            "authorization": self.authorization,
            "submitter_org": self.submitter_org,
            "submitted_by": self.submitted_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "overdue": self.overdue(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decided_by": self.decided_by,
            "review": {"action": self.review_action, "note": self.review_note} if self.review_action else None,
        }
        if self.withheld_from(role):
            # The submitter's view while a clinician has not decided: no determination, reasons or trace.
            out.update(dict.fromkeys(WITHHELD_FIELDS), withheld=WITHHELD_NOTE)
        elif include_trace:
            out["trace"] = self.trace
        return out


@dataclass(frozen=True)
class RequestPage:
    items: list[StoredRequest]
    total: int
    limit: int
    offset: int

    def to_dict(self, role: str | None = None) -> dict[str, Any]:
        return {
            "items": [r.to_dict(role=role) for r in self.items],
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
        }


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def jsonable(facts: Facts) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in facts.items()}


def snapshot(session: Session, row: CoverageRequest, replayed: bool = False) -> StoredRequest:
    """The stored request as doors see it, with the version that decided it."""
    decided, newer = decided_version(session, row.policy_id, row.policy_version, row.policy_digest)
    return StoredRequest(
        id=row.id,
        policy=row.policy_id,
        policy_version=row.policy_version,
        urgency=row.urgency,
        status=row.status,
        version=row.version,
        facts=row.facts,
        patient=row.patient,
        determination=row.determination,
        engine_decision=row.engine_decision,
        authorization=row.authorization,
        submitter_org=row.submitter_org,
        submitted_by=row.submitted_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        due_at=row.due_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        review_action=row.review_action,
        review_note=row.review_note,
        dosing=row.dosing,
        prescriber=row.prescriber,
        contact=row.contact,
        backdating=row.backdating,
        replayed=replayed,
        policy_digest=row.policy_digest or (decided.digest if decided is not None else ""),
        decided_under=decided,
        newer_version=newer,
    )


def check_text(field_name: str, value: str | None) -> None:
    """Refuse a NUL character in text bound for the store (PostgreSQL cannot hold one): 422 naming the field."""
    if value is not None and "\x00" in value:
        raise RequestError(field_name, "contains a NUL character")


def check_moment(field_name: str, value: dt.datetime | None) -> dt.datetime | None:
    """An aware date-time as UTC within the years a date may name (core parse_iso_date); 422 otherwise."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise RequestError(field_name, "needs a UTC offset (e.g. 2026-03-09T00:00:00Z)")
    try:
        moment = value.astimezone(dt.UTC)
        parse_iso_date(moment.date())
    except (OverflowError, ValueError):
        raise RequestError(field_name, "outside the supported years") from None
    return moment


def visible_row(session: Session, principal: Principal, request_id: str, lock: bool = False) -> CoverageRequest:
    check_text("request_id", request_id)
    row = session.get(CoverageRequest, request_id, with_for_update=lock) if len(request_id) <= 32 else None
    # A submitter asking for another organisation's request learns nothing, not even that it exists.
    if row is None or (principal.role == "submitter" and row.submitter_org != principal.org):
        raise NotFound("no such request")
    return row


ReviewAction = Literal["approve", "approve_with_modification", "deny"]
