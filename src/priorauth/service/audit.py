"""The audit trail: append-only, hash-chained events of who did what, when, under which policy version.

Each event's hash is SHA-256 over the previous event's hash and the event's canonical
JSON, so changing, removing or reordering any stored event breaks the chain from that
point on (`verify_chain`, `priorauth audit verify`). Appends lock the one-row
`audit_head` table, so concurrent writers chain one after another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from priorauth.service.principal import Principal
from priorauth.store.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def text_digest(text: str) -> str:
    """SHA-256 of free text kept outside the trail: the event proves what was written without holding it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_hash(prev_hash: str, event: dict[str, Any]) -> str:
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + "\n" + canonical).encode("utf-8")).hexdigest()


def _hashed_fields(e: AuditEvent) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "actor_role": e.actor_role,
        "actor_org": e.actor_org,
        "action": e.action,
        "request_id": e.request_id,
        "policy_id": e.policy_id,
        "policy_version": e.policy_version,
        "detail": e.detail,
    }


def event_to_dict(e: AuditEvent) -> dict[str, Any]:
    return {**_hashed_fields(e), "prev_hash": e.prev_hash, "hash": e.hash}


def append_event(
    session: Session,
    principal: Principal,
    action: str,
    *,
    request_id: str | None = None,
    policy_id: str | None = None,
    policy_version: str | None = None,
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Add one event to the chain in the caller's transaction (the caller commits). No PHI in `detail`."""
    event = {
        "at": (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC),
        "actor": principal.token_id,
        "actor_role": principal.role,
        "actor_org": principal.org,
        "action": action,
        "request_id": request_id,
        "policy_id": policy_id,
        "policy_version": policy_version,
        "detail": detail or {},
    }
    return append_events(session, [event])[0]


def append_events(session: Session, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chain several events (dicts of AuditEvent columns but seq and hashes) under one lock of the head."""
    seq, prev = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()).one()
    rows = []
    for event in events:
        seq += 1
        row = {**event, "seq": seq, "prev_hash": prev}
        hashed = {**{k: row[k] for k in HASHED}, "at": row["at"].isoformat()}
        row["hash"] = prev = event_hash(row["prev_hash"], hashed)
        rows.append(row)
    session.execute(insert(AuditEvent), rows)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev))
    return rows


HASHED = (
    "seq",
    "at",
    "actor",
    "actor_role",
    "actor_org",
    "action",
    "request_id",
    "policy_id",
    "policy_version",
    "detail",
)


@dataclass
class ChainVerification:
    """The outcome of checking the whole chain."""

    events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(session: Session, limit_problems: int = 20) -> ChainVerification:
    """Recompute every hash in order; report the first problems found (sequence gaps, broken links, bad hashes)."""
    result = ChainVerification()
    prev_hash, expected_seq = GENESIS, 1
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=1000)).scalars()
    for e in rows:
        result.events += 1
        if e.seq != expected_seq:
            result.problems.append(f"event {e.seq}: expected sequence number {expected_seq} (events missing)")
        if e.prev_hash != prev_hash:
            result.problems.append(f"event {e.seq}: does not link to the event before it")
        if event_hash(e.prev_hash, _hashed_fields(e)) != e.hash:
            result.problems.append(f"event {e.seq}: contents do not match its hash (altered)")
        prev_hash, expected_seq = e.hash, e.seq + 1
        if len(result.problems) >= limit_problems:
            return result
    head = session.get(AuditHead, 1)
    if head is None or head.seq != expected_seq - 1 or head.hash != prev_hash:
        result.problems.append("the chain head does not match the last event (events removed at the end)")
    return result


def request_events(session: Session, request_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(AuditEvent).where(AuditEvent.request_id == request_id).order_by(AuditEvent.seq)
    ).scalars()
    return [event_to_dict(e) for e in rows]
