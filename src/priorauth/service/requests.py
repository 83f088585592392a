"""Coverage requests: submit, read, list, add information, review, metrics.

Every function takes the caller's `Principal` and checks it first. Functions that
change anything commit before they return, so whatever a door acknowledges is stored.
Facts and patient details are PHI: they are stored, returned to authorised callers,
and never written to logs or to the audit trail (which records fact names only).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import statistics
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError
from sqlalchemy import SQLColumnExpression, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from priorauth.determination import Decision, Determination
from priorauth.dosing.request import parse_dosing
from priorauth.engine import authorization_for, determine
from priorauth.errors import RequestError
from priorauth.facts import Facts, validate_facts
from priorauth.policy import load_policy
from priorauth.policy.schema import parse_iso_date
from priorauth.service.audit import append_event, append_events, request_events
from priorauth.service.auth import ENGINE, Principal
from priorauth.service.errors import IdempotencyKeyReused, NotFound, StateConflict, VersionConflict
from priorauth.service.settings import Settings
from priorauth.store.models import CoverageRequest

URGENCIES = ("standard", "expedited")
REVIEW_ACTIONS = ("approve", "approve_with_modification", "deny")
STATUSES = ("pended", "awaiting_review", "approved", "denied", "not_applicable")
OPEN_STATUSES = ("pended", "awaiting_review")
MAX_PAGE = 200
# Sort orders of `list_requests`: each ends on the id, so pages never overlap or skip.
# `urgency` is expedited first, then soonest due; `status` is by status code, then soonest due.
SORTS = ("due", "-due", "created", "-created", "urgency", "status")

# The engine's decision -> the request's status. An engine denial is only a recommendation:
# medical-necessity denials are made by a clinical reviewer.
COLUMNS = tuple(CoverageRequest.__table__.columns)
ENGINE_STATUS = {
    Decision.APPROVED: "approved",
    Decision.DENIED: "awaiting_review",
    Decision.PENDED: "pended",
    Decision.NOT_APPLICABLE: "not_applicable",
}


class PatientDetails(BaseModel):
    """Who the request is for. Not used in decisions; PHI: stored and shown, never logged or audited."""

    model_config = ConfigDict(extra="forbid")
    name: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    member_id: StrictStr | None = Field(default=None, min_length=1, max_length=64)


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

    `status` is one status or a tuple of them (any of them matches), e.g. OPEN_STATUSES.
    """

    status: str | tuple[str, ...] | None = None
    policy: str | None = None
    due_before: dt.datetime | None = None
    submitter: str | None = None
    overdue: bool | None = None
    urgency: str | None = None


@dataclass(frozen=True)
class Page:
    """A page of `list_requests`: `sort` is one of SORTS (default `due`, soonest first)."""

    limit: int = 50
    offset: int = 0
    sort: str = "due"


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
    replayed: bool = False

    @property
    def trace(self) -> dict[str, Any] | None:
        """The full criteria tree, re-derived from the stored facts (the stored `determination` is what was
        decided; the tree is not stored, as it is a pure function of the facts and the policy version)."""
        policy = load_policy(self.policy)
        tree = determine(policy, validate_facts(policy, self.facts), self._dosing(policy)).trace
        return tree.to_dict() if tree is not None else None

    def _dosing(self, policy: Any) -> Any:
        return parse_dosing(policy, self.dosing) if self.dosing is not None else None

    @property
    def final(self) -> bool:
        return self.status not in OPEN_STATUSES

    def overdue(self, now: dt.datetime | None = None) -> bool:
        """Still open after its due time."""
        return not self.final and (now or dt.datetime.now(dt.UTC)) > self.due_at

    def to_dict(self, include_trace: bool = False) -> dict[str, Any]:
        out = {
            "id": self.id,
            "policy": self.policy,
            "policy_version": self.policy_version,
            "urgency": self.urgency,
            "status": self.status,
            "version": self.version,
            "facts": self.facts,
            "dosing": self.dosing,
            "patient": self.patient,
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
        if include_trace:
            out["trace"] = self.trace
        return out


@dataclass(frozen=True)
class RequestPage:
    items: list[StoredRequest]
    total: int
    limit: int
    offset: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [r.to_dict() for r in self.items],
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _settings(session: Session) -> Settings:
    return session.info.get("settings") or Settings()


def _jsonable(facts: Facts) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in facts.items()}


def _snapshot(row: CoverageRequest, replayed: bool = False) -> StoredRequest:
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
        replayed=replayed,
    )


def _validation_field(prefix: str, exc: ValidationError) -> RequestError:
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    return RequestError(f"{prefix}.{where}" if where else prefix, err["msg"].lower())


def _patient(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise RequestError("patient", "expected an object")
    try:
        return PatientDetails.model_validate(raw).model_dump(exclude_none=True) or None
    except ValidationError as exc:
        raise _validation_field("patient", exc) from None


def evaluate_request(principal: Principal, policy_id: str, facts: Any) -> Determination:
    """A determination without storing anything (any authenticated role)."""
    policy = load_policy(policy_id)
    return determine(policy, validate_facts(policy, facts))


def _apply_determination(row: CoverageRequest, det: Determination, now: dt.datetime) -> None:
    row.policy_version = det.policy_version
    row.determination = det.to_dict()
    row.engine_decision = det.decision.value
    row.status = ENGINE_STATUS[det.decision]
    if row.status in OPEN_STATUSES:
        row.decided_at = row.decided_by = row.authorization = None
    else:
        row.decided_at, row.decided_by = now, ENGINE.token_id
        row.authorization = det.authorization.to_dict() if det.authorization else None


def _event(principal: Principal, action: str, row: CoverageRequest, at: dt.datetime, detail: dict[str, Any]) -> dict:
    return {
        "at": at,
        "actor": principal.token_id,
        "actor_role": principal.role,
        "actor_org": principal.org,
        "action": action,
        "request_id": row.id,
        "policy_id": row.policy_id,
        "policy_version": row.policy_version,
        "detail": detail,
    }


def _decision_event(row: CoverageRequest, det: Determination, now: dt.datetime) -> dict[str, Any]:
    return _event(
        ENGINE,
        "decision",
        row,
        now,
        {
            "decision": det.decision.value,
            "status": row.status,
            "reasons": [r.criterion for r in det.reasons],
            "missing_facts": list(det.missing_facts),
            "version": row.version,
        },
    )


def _fingerprint(policy_id: str, facts: Any, urgency: str, patient: Any, dosing: Any = None) -> str:
    body = {"policy": policy_id, "facts": facts, "urgency": urgency, "patient": patient}
    if dosing is not None:  # absent from requests stored before dosing was accepted
        body["dosing"] = dosing
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _replay(session: Session, principal: Principal, key: str, fingerprint: str) -> StoredRequest | None:
    row = session.execute(
        select(CoverageRequest).where(
            CoverageRequest.submitter_org == principal.org, CoverageRequest.idempotency_key == key
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    if row.request_sha256 != fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was used for a different request", "Idempotency-Key")
    append_event(
        session,
        principal,
        "read",
        request_id=row.id,
        policy_id=row.policy_id,
        policy_version=row.policy_version,
        detail={"replay": True},
    )
    session.commit()
    return _snapshot(row, replayed=True)


def _create_detail(urgency: str, facts: Facts, dosing: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {"urgency": urgency, "facts": sorted(facts), "version": 1}
    if dosing is not None:  # names only: the values are PHI
        detail["dosing"] = sorted(dosing.model_dump(exclude_none=True))
    return detail


def submit_request(
    session: Session,
    principal: Principal,
    policy_id: str,
    facts: Any,
    urgency: str = "standard",
    idempotency_key: str | None = None,
    patient: Any = None,
    dosing: Any = None,
) -> StoredRequest:
    """Validate, decide and store a request (submitters only); committed before it returns.

    `dosing` is the request's optional dosing block (docs/request-contract.md §1a): stored
    and decided with, so the determination carries its `dose_check`. With an
    `idempotency_key` (scoped to the submitter's organisation) a repeated call returns the
    first stored request (`replayed=True`) instead of storing another; the same key with a
    different body raises IdempotencyKeyReused. Bad input raises RequestError; nothing is stored.
    """
    principal.require("submitter")
    if urgency not in URGENCIES:
        raise RequestError("urgency", f"not one of {', '.join(URGENCIES)}")
    if idempotency_key is not None and not (1 <= len(idempotency_key) <= 255 and idempotency_key.isprintable()):
        raise RequestError("Idempotency-Key", "expected 1-255 printable characters")
    fingerprint = _fingerprint(policy_id, facts, urgency, patient, dosing)
    if idempotency_key is not None:
        replay = _replay(session, principal, idempotency_key, fingerprint)
        if replay is not None:
            return replay
    patient_details = _patient(patient)
    policy = load_policy(policy_id)
    valid = validate_facts(policy, facts)
    dose_block = parse_dosing(policy, dosing) if dosing is not None else None
    det = determine(policy, valid, dose_block)

    now = _now()
    row = CoverageRequest(
        id="req_" + secrets.token_hex(10),
        policy_id=policy.id,
        urgency=urgency,
        version=1,
        facts=_jsonable(valid),
        patient=patient_details,
        dosing=dose_block.model_dump(mode="json", exclude_none=True) if dose_block is not None else None,
        submitter_org=principal.org,
        submitted_by=principal.token_id,
        idempotency_key=idempotency_key,
        request_sha256=fingerprint,
        created_at=now,
        updated_at=now,
        due_at=now + _settings(session).due_after(urgency),
    )
    _apply_determination(row, det, now)
    try:
        session.execute(insert(CoverageRequest), [{c.key: getattr(row, c.key) for c in COLUMNS}])
        append_events(
            session,
            [
                _event(principal, "create", row, now, _create_detail(urgency, valid, dose_block)),
                _decision_event(row, det, now),
            ],
        )
        session.commit()
    except IntegrityError:
        # Another submission with the same Idempotency-Key committed first: return that one.
        session.rollback()
        if idempotency_key is None:
            raise
        replay = _replay(session, principal, idempotency_key, fingerprint)
        if replay is None:
            raise
        return replay
    return _snapshot(row)


def _visible_row(session: Session, principal: Principal, request_id: str, lock: bool = False) -> CoverageRequest:
    row = session.get(CoverageRequest, request_id, with_for_update=lock) if len(request_id) <= 32 else None
    # A submitter asking for another organisation's request learns nothing, not even that it exists.
    if row is None or (principal.role == "submitter" and row.submitter_org != principal.org):
        raise NotFound("no such request")
    return row


def get_request(session: Session, principal: Principal, request_id: str) -> StoredRequest:
    """One request (submitters: their organisation's only); the read is audited and committed."""
    principal.require("submitter", "reviewer", "admin")
    row = _visible_row(session, principal, request_id)
    append_event(
        session, principal, "read", request_id=row.id, policy_id=row.policy_id, policy_version=row.policy_version
    )
    session.commit()
    return _snapshot(row)


def _order(sort: str) -> tuple[SQLColumnExpression[Any], ...]:
    """ORDER BY of a sort; each matches an index (migrations 0002, 0003), scanned forwards or backwards."""
    r = CoverageRequest
    return {
        "due": (r.due_at, r.id),
        "-due": (r.due_at.desc(), r.id.desc()),
        "created": (r.created_at, r.id),
        "-created": (r.created_at.desc(), r.id.desc()),
        "urgency": (r.urgency, r.due_at, r.id),  # "expedited" sorts before "standard"
        "status": (r.status, r.due_at, r.id),
    }[sort]


def request_by_idempotency_key(
    session: Session, principal: Principal, idempotency_key: str, org: str | None = None
) -> StoredRequest:
    """The request `org` submitted with `idempotency_key` (default org: the caller's); the read is audited.

    Submitters may look up their own organisation's keys only; another organisation's, or
    a key never used, raises NotFound alike.
    """
    principal.require("submitter", "reviewer", "admin")
    org = principal.org if org is None else org
    if principal.role == "submitter" and org != principal.org:
        raise NotFound("no such request")
    if not (1 <= len(idempotency_key) <= 255):
        raise NotFound("no such request")
    row = session.execute(
        select(CoverageRequest).where(
            CoverageRequest.submitter_org == org, CoverageRequest.idempotency_key == idempotency_key
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("no such request")
    append_event(
        session, principal, "read", request_id=row.id, policy_id=row.policy_id, policy_version=row.policy_version
    )
    session.commit()
    return _snapshot(row)


def list_requests(
    session: Session, principal: Principal, filters: RequestFilters | None = None, page: Page | None = None
) -> RequestPage:
    """Requests matching `filters` in `page.sort` order, ties by id (submitters: own organisation's); audited."""
    principal.require("submitter", "reviewer", "admin")
    filters, page = filters or RequestFilters(), page or Page()
    if not 1 <= page.limit <= MAX_PAGE:
        raise RequestError("limit", f"expected 1-{MAX_PAGE}")
    if page.offset < 0:
        raise RequestError("offset", "must not be negative")
    if page.sort not in SORTS:
        raise RequestError("sort", f"not one of {', '.join(SORTS)}")
    statuses = (filters.status,) if isinstance(filters.status, str) else filters.status
    if statuses is not None and (not statuses or any(s not in STATUSES for s in statuses)):
        raise RequestError("status", f"not one of {', '.join(STATUSES)}")
    if filters.urgency is not None and filters.urgency not in URGENCIES:
        raise RequestError("urgency", f"not one of {', '.join(URGENCIES)}")
    conditions = []
    if principal.role == "submitter":
        conditions.append(CoverageRequest.submitter_org == principal.org)
    if filters.submitter is not None:
        conditions.append(CoverageRequest.submitter_org == filters.submitter)
    if statuses is not None:
        unique = tuple(dict.fromkeys(statuses))
        conditions.append(
            CoverageRequest.status == unique[0] if len(unique) == 1 else CoverageRequest.status.in_(unique)
        )
    if filters.urgency is not None:
        conditions.append(CoverageRequest.urgency == filters.urgency)
    if filters.policy is not None:
        conditions.append(CoverageRequest.policy_id == filters.policy)
    if filters.due_before is not None:
        conditions.append(CoverageRequest.due_at < filters.due_before)
    if filters.overdue is not None:
        open_ = CoverageRequest.status.in_(OPEN_STATUSES)
        late = open_ & (CoverageRequest.due_at < _now())
        conditions.append(late if filters.overdue else ~late)
    total = session.execute(select(func.count()).select_from(CoverageRequest).where(*conditions)).scalar_one()
    rows = (
        session.execute(
            select(CoverageRequest)
            .where(*conditions)
            .order_by(*_order(page.sort))
            .limit(page.limit)
            .offset(page.offset)
        )
        .scalars()
        .all()
    )
    items = [_snapshot(r) for r in rows]
    append_event(session, principal, "list", detail={"requests": [r.id for r in items], "total": total})
    session.commit()
    return RequestPage(items, total, page.limit, page.offset)


def _check_version(row: CoverageRequest, expected_version: int | None) -> None:
    if expected_version is not None and row.version != expected_version:
        raise VersionConflict(
            f"the request is at version {row.version}, not {expected_version}; read it again", "expected_version"
        )


def add_information(
    session: Session, principal: Principal, request_id: str, facts: Any, *, expected_version: int | None = None
) -> StoredRequest:
    """Add or correct facts of a pended request (submitters of its organisation); it is decided again; committed."""
    principal.require("submitter")
    if not isinstance(facts, dict) or not facts:
        raise RequestError("facts", "expected a non-empty object of fact -> value")
    row = _visible_row(session, principal, request_id, lock=True)
    _check_version(row, expected_version)
    if row.status != "pended":
        raise StateConflict(f"the request is {row.status}; information can be added only while it is pended")
    policy = load_policy(row.policy_id)
    merged = {**row.facts, **facts}
    valid = validate_facts(policy, merged)
    det = determine(policy, valid, parse_dosing(policy, row.dosing) if row.dosing is not None else None)
    now = _now()
    row.facts = _jsonable(valid)
    row.version += 1
    row.updated_at = now
    _apply_determination(row, det, now)
    append_events(
        session,
        [
            _event(principal, "information", row, now, {"facts": sorted(facts), "version": row.version}),
            _decision_event(row, det, now),
        ],
    )
    session.commit()
    return _snapshot(row)


def policy_authorization(
    policy_id: str, facts: dict[str, Any], determination: dict[str, Any], decided_on: dt.date
) -> dict[str, Any]:
    """The authorization an approval of a stored request carries before any modification.

    The engine's period when it approved; otherwise the policy's (priorauth.engine.authorization_for)
    from the request date, or from `decided_on` when the request has none. RequestError names
    the fact the policy needs and the request lacks.
    """
    if determination.get("authorization"):
        return dict(determination["authorization"])
    policy = load_policy(policy_id)
    valid = validate_facts(policy, facts)
    start = None if valid.get("request_date") else decided_on
    return authorization_for(policy, valid, start).to_dict()


def _approved_period(row: CoverageRequest, change: dict[str, Any], today: dt.date) -> dict[str, Any]:
    try:
        base = policy_authorization(row.policy_id, row.facts, row.determination, today)
    except RequestError as exc:
        if "start" not in change or "end" not in change:
            raise RequestError(
                "modification",
                f"the policy's authorization period needs {exc.field.removeprefix('facts.')}, which the request "
                "lacks: approve with modification giving start and end",
            ) from None
        # The reviewer sets the period; the limits are the policy's (as for an initial request).
        policy = load_policy(row.policy_id)
        facts = {k: v for k, v in validate_facts(policy, row.facts).items() if k != "request_type"}
        base = authorization_for(policy, facts, parse_iso_date(change["start"])).to_dict()
    period = {**base, **change}
    if period["end"] < period["start"]:
        field = "modification.end" if "end" in change else "modification"
        raise RequestError(field, "the authorization would end before it starts: give start and end")
    return period


def review_request(
    session: Session,
    principal: Principal,
    request_id: str,
    action: str,
    note: str,
    expected_version: int,
    modification: Any = None,
) -> StoredRequest:
    """A clinical reviewer's final decision on an open request; committed.

    `action`: approve, approve_with_modification (needs `modification`) or deny. A stale
    `expected_version` raises VersionConflict, so two reviewers cannot overwrite each other.
    The authorization of an approval is the engine's period with the modification applied;
    when the engine approved nothing, it is the policy's period for the stored facts
    (`policy_authorization`), starting on the request date (or, without one, the decision
    date). When the policy cannot give one (a renewal whose first authorization date is
    unknown, or whose period is over), the reviewer must approve with modification giving
    `start` and `end`.
    """
    principal.require("reviewer")
    if action not in REVIEW_ACTIONS:
        raise RequestError("action", f"not one of {', '.join(REVIEW_ACTIONS)}")
    if not isinstance(note, str) or not note.strip() or len(note) > 4000:
        raise RequestError("note", "a note of 1-4000 characters is required")
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise RequestError("expected_version", "expected the version number the reviewer read")
    change: dict[str, Any] = {}
    if action == "approve_with_modification":
        if not isinstance(modification, dict):
            raise RequestError("modification", "required for approve_with_modification")
        try:
            change = AuthorizationModification.model_validate(modification).model_dump(exclude_none=True)
        except ValidationError as exc:
            raise _validation_field("modification", exc) from None
        if not change:
            raise RequestError("modification", "name at least one of start, end, max_cycles, max_units")
        for key in ("start", "end"):
            if key in change:
                try:
                    parse_iso_date(change[key])
                except ValueError as exc:
                    raise RequestError(f"modification.{key}", str(exc)) from None
        if "start" in change and "end" in change and change["end"] < change["start"]:
            raise RequestError("modification.end", "before start")
    elif modification is not None:
        raise RequestError("modification", "only for approve_with_modification")

    row = _visible_row(session, principal, request_id, lock=True)
    _check_version(row, expected_version)
    if row.status not in OPEN_STATUSES:
        raise StateConflict(f"the request is already {row.status}")
    now = _now()
    if action == "deny":
        row.status, row.authorization = "denied", None
    else:
        row.status, row.authorization = "approved", _approved_period(row, change, now.date())
    row.review_action, row.review_note = action, note
    row.decided_at, row.decided_by = now, principal.token_id
    row.version += 1
    row.updated_at = now
    append_event(
        session,
        principal,
        "review",
        request_id=row.id,
        policy_id=row.policy_id,
        policy_version=row.policy_version,
        detail={"action": action, "status": row.status, "note": note, "modification": change, "version": row.version},
        at=now,
    )
    session.commit()
    return _snapshot(row)


def audit_events(session: Session, principal: Principal, request_id: str) -> list[dict[str, Any]]:
    """The audit trail of one request, oldest first (reviewers and admins)."""
    principal.require("reviewer", "admin")
    _visible_row(session, principal, request_id)
    return request_events(session, request_id)


def _share(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def metrics(session: Session, principal: Principal) -> dict[str, Any]:
    """Published prior-authorization metrics over all stored requests (any role)."""
    principal.require("submitter", "reviewer", "admin")
    rows = session.execute(
        select(
            CoverageRequest.urgency,
            CoverageRequest.status,
            CoverageRequest.decided_by,
            CoverageRequest.created_at,
            CoverageRequest.decided_at,
            CoverageRequest.due_at,
        )
    ).all()
    total = len(rows)
    count = {s: 0 for s in STATUSES}
    after_review = overdue = 0
    hours: dict[str, list[float]] = {u: [] for u in URGENCIES}
    now = _now()
    for urgency, status, decided_by, created, decided, due in rows:
        count[status] += 1
        if status == "approved" and decided_by not in (None, ENGINE.token_id):
            after_review += 1
        if decided is not None:
            hours[urgency].append((decided - created).total_seconds() / 3600)
        elif due < now:
            overdue += 1
    decided_total = sum(len(v) for v in hours.values())

    def times(values: list[float]) -> dict[str, Any]:
        return {
            "decided": len(values),
            "average_hours": round(statistics.fmean(values), 4) if values else None,
            "median_hours": round(statistics.median(values), 4) if values else None,
        }

    return {
        "requests": total,
        "decided": decided_total,
        "share_approved": _share(count["approved"], total),
        "share_denied": _share(count["denied"], total),
        "share_approved_after_review": _share(after_review, total),
        "share_pended": _share(count["pended"], total),
        "share_awaiting_review": _share(count["awaiting_review"], total),
        "share_not_applicable": _share(count["not_applicable"], total),
        "overdue": overdue,
        "time_to_decision": {u: times(v) for u, v in hours.items()},
        "time_to_decision_all": times([h for v in hours.values() for h in v]),
    }


ReviewAction = Literal["approve", "approve_with_modification", "deny"]
