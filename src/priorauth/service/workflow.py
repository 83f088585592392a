"""The request workflow: evaluate, submit, add information, review.

Every function takes the caller's `Principal` and checks it first. Functions that
change anything commit before they return, so whatever a door acknowledges is stored.
Facts and patient details are PHI: they are stored, returned to authorised callers,
and never written to logs or to the audit trail (which records fact names only).
A request is decided under the policy version in force on its decision date; the
version's digest is stored with it and its content kept once per digest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from priorauth.core import (
    Decision,
    Determination,
    ErrorCode,
    Facts,
    PolicyVersion,
    RequestError,
    authorization_for,
    determine,
    json_depth_ok,
    load_policy,
    parse_dosing,
    parse_iso_date,
    pydantic_problem,
    validate_facts,
    version_for,
)
from priorauth.service.audit import append_event, append_events, text_digest
from priorauth.service.errors import IdempotencyKeyReused, StateConflict, VersionConflict
from priorauth.service.policy_versions import record_version
from priorauth.service.principal import ENGINE, Principal
from priorauth.service.records import (
    OPEN_STATUSES,
    REVIEW_ACTIONS,
    URGENCIES,
    AuthorizationModification,
    ContactDetails,
    PatientDetails,
    PrescriberDetails,
    StoredRequest,
    check_text,
    jsonable,
    name_key,
    npi_check_digit_ok,
    snapshot,
    utc_now,
    visible_row,
)
from priorauth.service.settings import Settings
from priorauth.store.models import CoverageRequest

COLUMNS = tuple(CoverageRequest.__table__.columns)
# The engine's decision -> the request's status. An engine denial is only a recommendation:
# medical-necessity denials are made by a clinical reviewer.
ENGINE_STATUS = {
    Decision.APPROVED: "approved",
    Decision.DENIED: "awaiting_review",
    Decision.PENDED: "pended",
    Decision.NOT_APPLICABLE: "not_applicable",
}


def _settings(session: Session) -> Settings:
    """The service's settings travel with the session; a store opened with its own settings only
    (the command line) gets the service defaults."""
    settings = session.info.get("settings")
    return settings if isinstance(settings, Settings) else Settings()


def _validation_field(prefix: str, exc: ValidationError, raw: Any) -> RequestError:
    return pydantic_problem(prefix, exc.errors(include_url=False, include_input=False)[0], raw)


PEOPLE = ("patient", "prescriber", "contact")
_PHONE = set("0123456789+-(). ")


def _details(name: str, model: Any, raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise RequestError(name, "expected an object")
    try:
        return model.model_validate(raw).model_dump(exclude_none=True) or None
    except ValidationError as exc:
        raise _validation_field(name, exc, raw) from None


def _people(patient: Any, prescriber: Any, contact: Any, require: tuple[str, ...] = ()) -> dict[str, Any]:
    """The patient, prescriber and contact checked (PHI: errors name the field, never the value).

    `require` names the parts a door requires (the web form and PAS: all of the patient and the
    prescriber; the web form also the contact); `/v1/requests` requires none.
    """
    out = {
        "patient": _details("patient", PatientDetails, patient),
        "prescriber": _details("prescriber", PrescriberDetails, prescriber),
        "contact": _details("contact", ContactDetails, contact),
    }
    for part in require:
        if out[part] is None:
            raise RequestError(part, "required")
    if "patient" in require:
        for key in ("name", "member_id"):
            if key not in out["patient"]:  # type: ignore[operator]
                raise RequestError(f"patient.{key}", "required")
    keys_of = {"patient": ("name", "member_id"), "prescriber": ("name", "npi"), "contact": ("name", "phone", "email")}
    for part, keys in keys_of.items():
        for key in keys:
            value = (out[part] or {}).get(key)
            check_text(f"{part}.{key}", value)
            if isinstance(value, str) and not value.strip():
                raise RequestError(f"{part}.{key}", "must not be blank")
    if out["prescriber"] is not None:
        npi = out["prescriber"]["npi"]
        if len(npi) != 10 or not npi.isascii() or not npi.isdigit():
            raise RequestError("prescriber.npi", "expected an NPI: 10 digits")
        if not npi_check_digit_ok(npi):
            raise RequestError("prescriber.npi", "not a valid NPI: the check digit does not match")
    if out["contact"] is not None:
        phone, email = out["contact"].get("phone"), out["contact"].get("email")
        if phone is None and email is None:
            raise RequestError("contact", "give a phone number, an email address or both")
        if phone is not None and (not set(phone) <= _PHONE or sum(c.isdigit() for c in phone) < 7):
            raise RequestError("contact.phone", "expected a phone number: digits, spaces, + - ( ) .")
        if email is not None and (email.count("@") != 1 or " " in email.strip() or "." not in email.split("@")[1]):
            raise RequestError("contact.email", "expected an email address")
    return out


def received_facts(policy_id: str, facts: Any, received: dt.date, window_days: int) -> Any:
    """A stored submission's facts dated the day the service received it (docs/request-contract.md §1).

    Without a decision date (`request_date` for the bundled policy) the received day is filled in.
    A submitter's own date is kept when it is at most `window_days` before the received day (delays
    of a clearinghouse); an earlier one, or one after the received day, is refused (a reviewer may
    back-date: `backdate_request`). Malformed dates are left to the facts' validation.
    """
    if not isinstance(facts, dict):
        return facts
    key = load_policy(policy_id).decided_on
    raw = facts.get(key)
    if raw is None:
        return {**facts, key: received.isoformat()}
    try:
        day = parse_iso_date(raw)
    except ValueError:
        return facts
    if day > received:
        raise RequestError(f"facts.{key}", "is after the day the service received the request",
                           ErrorCode.REQUEST_DATE_OUT_OF_WINDOW)
    if (received - day).days > window_days:
        raise RequestError(
            f"facts.{key}",
            f"is more than {window_days} days before the day the service received the request; "
            "leave it out (the received day is used), or ask a reviewer to back-date the request",
            ErrorCode.REQUEST_DATE_OUT_OF_WINDOW,
        )
    return facts


def evaluate_request(principal: Principal, policy_id: str, facts: Any, dosing: Any = None) -> Determination:
    """A determination without storing anything (any authenticated role), under the version in force."""
    principal.require("submitter", "reviewer", "admin")
    version, valid, dose_block = _decide_inputs(policy_id, facts, dosing)
    return determine(version, valid, dose_block)


def _decide_inputs(policy_id: str, facts: Any, dosing: Any) -> tuple[PolicyVersion, Facts, Any]:
    """The version in force on the facts' decision date, the validated facts and dosing block."""
    version = version_for(load_policy(policy_id), facts)
    valid = validate_facts(version, facts)
    return version, valid, parse_dosing(version, dosing) if dosing is not None else None


def _apply_determination(
    session: Session, row: CoverageRequest, version: PolicyVersion, det: Determination, now: dt.datetime
) -> None:
    record_version(session, version)
    row.policy_version = det.policy_version
    row.policy_digest = det.policy_digest
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
        "request_row": row,  # the audit trail records the row's hash as this event left it
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
            "policy_digest": det.policy_digest,
        },
    )


def _fingerprint(
    policy_id: str, facts: Any, urgency: str, patient: Any, dosing: Any = None, prescriber: Any = None,
    contact: Any = None,
) -> str:
    body = {"policy": policy_id, "facts": facts, "urgency": urgency, "patient": patient}
    # Absent from requests stored before these were accepted, so their fingerprints stay the same.
    for key, value in (("dosing", dosing), ("prescriber", prescriber), ("contact", contact)):
        if value is not None:
            body[key] = value
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
    return snapshot(session, row, replayed=True)


def _create_detail(urgency: str, facts: Facts, dosing: Any, people: dict[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any] = {"urgency": urgency, "facts": sorted(facts), "version": 1}
    if dosing is not None:  # names only: the values are PHI
        detail["dosing"] = sorted(dosing.model_dump(exclude_none=True))
    given = [part for part in PEOPLE if people[part] is not None]
    if given:  # which parts were given, never who
        detail["people"] = given
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
    prescriber: Any = None,
    contact: Any = None,
    require: tuple[str, ...] = (),
) -> StoredRequest:
    """Validate, decide and store a request (submitters only); committed before it returns.

    `dosing` is the request's optional dosing block (docs/request-contract.md §1a): stored
    and decided with, so the determination carries its `dose_check`. `patient`, `prescriber`
    and `contact` are PHI (stored, shown, never logged or audited); `require` names those the
    door requires (see `_people`). The request is decided on the day received (UTC): a
    submitted `request_date` must lie within the settings' window before it (`received_facts`).
    With an
    `idempotency_key` (scoped to the submitter's organisation) a repeated call returns the
    first stored request (`replayed=True`) instead of storing another; the same key with a
    different body raises IdempotencyKeyReused. Bad input raises RequestError; nothing is stored.
    """
    principal.require("submitter")
    if urgency not in URGENCIES:
        raise RequestError("urgency", f"not one of {', '.join(URGENCIES)}")
    if idempotency_key is not None and not (1 <= len(idempotency_key) <= 255 and idempotency_key.isprintable()):
        raise RequestError("Idempotency-Key", "expected 1-255 printable characters")
    if not json_depth_ok([facts, patient, dosing, prescriber, contact]):  # doors parse with core load_json
        raise RequestError("request", "nested too deep")
    fingerprint = _fingerprint(policy_id, facts, urgency, patient, dosing, prescriber, contact)
    if idempotency_key is not None:
        replay = _replay(session, principal, idempotency_key, fingerprint)
        if replay is not None:
            return replay
    people = _people(patient, prescriber, contact, require)
    now = utc_now()
    dated = received_facts(policy_id, facts, now.date(), _settings(session).request_date_window_days)
    version, valid, dose_block = _decide_inputs(policy_id, dated, dosing)
    det = determine(version, valid, dose_block)

    row = CoverageRequest(
        id="req_" + secrets.token_hex(10),
        policy_id=version.id,
        urgency=urgency,
        version=1,
        facts=jsonable(valid),
        patient=people["patient"],
        prescriber=people["prescriber"],
        contact=people["contact"],
        member_id=(people["patient"] or {}).get("member_id"),
        patient_name_key=name_key((people["patient"] or {}).get("name")),
        dosing=dose_block.model_dump(mode="json", exclude_none=True) if dose_block is not None else None,
        submitter_org=principal.org,
        submitted_by=principal.token_id,
        idempotency_key=idempotency_key,
        request_sha256=fingerprint,
        created_at=now,
        updated_at=now,
        due_at=now + _settings(session).due_after(urgency),
    )
    try:
        _apply_determination(session, row, version, det, now)
        session.execute(insert(CoverageRequest), [{c.key: getattr(row, c.key) for c in COLUMNS}])
        append_events(
            session,
            [
                _event(principal, "create", row, now, _create_detail(urgency, valid, dose_block, people)),
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
    return snapshot(session, row)


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
    row = visible_row(session, principal, request_id, lock=True)
    _check_version(row, expected_version)
    if row.status != "pended":
        raise StateConflict(f"the request is {row.status}; information can be added only while it is pended")
    merged = {**row.facts, **facts}
    key = load_policy(row.policy_id).decided_on
    if key in facts and facts[key] != row.facts.get(key):
        # A corrected request date keeps to the window before the day the request was received.
        if facts[key] is None:
            merged.pop(key)
        window = _settings(session).request_date_window_days
        merged = received_facts(row.policy_id, merged, row.created_at.astimezone(dt.UTC).date(), window)
    version, valid, dose_block = _decide_inputs(row.policy_id, merged, row.dosing)
    det = determine(version, valid, dose_block)
    now = utc_now()
    row.facts = jsonable(valid)
    row.version += 1
    row.updated_at = now
    _apply_determination(session, row, version, det, now)
    append_events(
        session,
        [
            _event(principal, "information", row, now, {"facts": sorted(facts), "version": row.version}),
            _decision_event(row, det, now),
        ],
    )
    session.commit()
    return snapshot(session, row)


def policy_authorization(stored: StoredRequest, decided_on: dt.date) -> dict[str, Any]:
    """The authorization an approval of a stored request carries before any modification.

    The engine's period when it approved; otherwise the period of the version that decided
    the request (priorauth.core.authorization_for), from the request date, or from
    `decided_on` when the request has none. RequestError names the fact the policy needs
    and the request lacks.
    """
    if stored.determination.get("authorization"):
        return dict(stored.determination["authorization"])
    version = _decided(stored)
    valid = validate_facts(version, stored.facts)
    start = None if valid.get(version.decided_on) else decided_on
    return authorization_for(version, valid, start).to_dict()


def _decided(stored: StoredRequest) -> PolicyVersion:
    if stored.decided_under is None:
        raise RequestError("policy", "the policy version that decided this request is not available",
                           ErrorCode.NO_POLICY_VERSION)
    return stored.decided_under


def _approved_period(session: Session, row: CoverageRequest, change: dict[str, Any], today: dt.date) -> dict[str, Any]:
    stored = snapshot(session, row)
    try:
        base = policy_authorization(stored, today)
    except RequestError as exc:
        if "start" not in change or "end" not in change:
            raise RequestError(
                "modification",
                f"the policy's authorization period needs {exc.field.removeprefix('facts.')}, which the request "
                "lacks: approve with modification giving start and end",
            ) from None
        # The reviewer sets the period; the limits are the policy's (as for an initial request).
        version = _decided(stored)
        facts = {k: v for k, v in validate_facts(version, row.facts).items() if k != "request_type"}
        base = authorization_for(version, facts, parse_iso_date(change["start"])).to_dict()
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
    check_text("note", note)
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise RequestError("expected_version", "expected the version number the reviewer read")
    change: dict[str, Any] = {}
    if action == "approve_with_modification":
        if not isinstance(modification, dict):
            raise RequestError("modification", "required for approve_with_modification")
        try:
            change = AuthorizationModification.model_validate(modification).model_dump(exclude_none=True)
        except ValidationError as exc:
            raise _validation_field("modification", exc, modification) from None
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

    row = visible_row(session, principal, request_id, lock=True)
    _check_version(row, expected_version)
    if row.status not in OPEN_STATUSES:
        raise StateConflict(f"the request is already {row.status}")
    now = utc_now()
    if action == "deny":
        row.status, row.authorization = "denied", None
    else:
        row.status, row.authorization = "approved", _approved_period(session, row, change, now.date())
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
        # The note is free text (it may name the patient): it is stored with the request
        # (review_note), and the append-only trail keeps only its SHA-256, which proves what was written.
        detail={"action": action, "status": row.status, "note_sha256": text_digest(note), "modification": change,
                "version": row.version},
        at=now,
        row=row,
    )
    session.commit()
    return snapshot(session, row)


def backdate_request(
    session: Session, principal: Principal, request_id: str, request_date: Any, note: str, expected_version: int
) -> StoredRequest:
    """A reviewer sets an open request's decision date earlier than submitters may; it is decided again.

    Any day up to the day received (a later one is refused); the request is decided under the
    version in force on that day. The note (why) is stored with the request (`backdating`); the
    audit trail keeps the fact's name and the note's SHA-256, never the text. Committed.
    """
    principal.require("reviewer")
    if not isinstance(note, str) or not note.strip() or len(note) > 4000:
        raise RequestError("note", "a note of 1-4000 characters is required")
    check_text("note", note)
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise RequestError("expected_version", "expected the version number the reviewer read")
    try:
        day = parse_iso_date(request_date)
    except ValueError as exc:
        raise RequestError("request_date", str(exc)) from None
    row = visible_row(session, principal, request_id, lock=True)
    _check_version(row, expected_version)
    if row.status not in OPEN_STATUSES:
        raise StateConflict(f"the request is already {row.status}; only an open request can be back-dated")
    received = row.created_at.astimezone(dt.UTC).date()
    if day > received:
        raise RequestError("request_date", "is after the day the service received the request",
                           ErrorCode.REQUEST_DATE_OUT_OF_WINDOW)
    key = load_policy(row.policy_id).decided_on
    previous = row.facts.get(key)
    version, valid, dose_block = _decide_inputs(row.policy_id, {**row.facts, key: day.isoformat()}, row.dosing)
    det = determine(version, valid, dose_block)
    now = utc_now()
    row.facts = jsonable(valid)
    row.version += 1
    row.updated_at = now
    row.backdating = {"request_date": day.isoformat(), "previous": previous, "note": note,
                      "by": principal.token_id, "at": now.isoformat()}
    _apply_determination(session, row, version, det, now)
    append_events(
        session,
        [
            # The note is free text (it may name the patient): the trail keeps its SHA-256 only.
            _event(principal, "backdate", row, now,
                   {"facts": [key], "note_sha256": text_digest(note), "version": row.version}),
            _decision_event(row, det, now),
        ],
    )
    session.commit()
    return snapshot(session, row)
