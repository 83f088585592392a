"""Reading coverage requests: one, by idempotency key, a filtered and sorted page, the audit trail."""

from __future__ import annotations

from typing import Any

from sqlalchemy import SQLColumnExpression, func, select
from sqlalchemy.orm import Session

from priorauth.core import RequestError
from priorauth.service.audit import append_event, request_events
from priorauth.service.errors import NotFound
from priorauth.service.principal import Principal
from priorauth.service.records import (
    MAX_OFFSET,
    MAX_PAGE,
    OPEN_STATUSES,
    SORTS,
    STATUSES,
    URGENCIES,
    Page,
    RequestFilters,
    RequestPage,
    StoredRequest,
    check_moment,
    check_text,
    name_key,
    snapshot,
    utc_now,
    visible_row,
)
from priorauth.store.models import ApiToken, CoverageRequest


def get_request(session: Session, principal: Principal, request_id: str) -> StoredRequest:
    """One request (submitters: their organisation's only); the read is audited and committed."""
    principal.require("submitter", "reviewer", "admin")
    row = visible_row(session, principal, request_id)
    append_event(
        session, principal, "read", request_id=row.id, policy_id=row.policy_id, policy_version=row.policy_version
    )
    session.commit()
    return snapshot(session, row)


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
    return snapshot(session, row)


def list_requests(
    session: Session, principal: Principal, filters: RequestFilters | None = None, page: Page | None = None
) -> RequestPage:
    """Requests matching `filters` in `page.sort` order, ties by id (submitters: own organisation's); audited."""
    principal.require("submitter", "reviewer", "admin")
    filters, page = filters or RequestFilters(), page or Page()
    if not 1 <= page.limit <= MAX_PAGE:
        raise RequestError("limit", f"expected 1-{MAX_PAGE}")
    if not 0 <= page.offset <= MAX_OFFSET:
        raise RequestError("offset", f"expected 0-{MAX_OFFSET}")
    check_text("policy", filters.policy)
    check_text("submitter", filters.submitter)
    due_before = check_moment("due_before", filters.due_before)
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
    if due_before is not None:
        conditions.append(CoverageRequest.due_at < due_before)
    # Patient search (PHI: the terms are neither logged nor audited). The member id is matched exactly
    # (index ix_request_member_due); a name by any part of it, in any case, while the sort's index orders.
    if filters.member_id is not None:
        check_text("member_id", filters.member_id)
        conditions.append(CoverageRequest.member_id == filters.member_id.strip())
    if filters.name is not None:
        check_text("name", filters.name)
        key = name_key(filters.name)
        if key is not None:
            conditions.append(CoverageRequest.patient_name_key.contains(key, autoescape=True))
    if filters.overdue is not None:
        open_ = CoverageRequest.status.in_(OPEN_STATUSES)
        late = open_ & (CoverageRequest.due_at < utc_now())
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
    items = [snapshot(session, r) for r in rows]
    append_event(session, principal, "list", detail={"requests": [r.id for r in items], "total": total})
    session.commit()
    return RequestPage(items, total, page.limit, page.offset)


def audit_events(session: Session, principal: Principal, request_id: str) -> list[dict[str, Any]]:
    """The audit trail of one request, oldest first (reviewers and admins)."""
    principal.require("reviewer", "admin")
    visible_row(session, principal, request_id)
    return request_events(session, request_id)


def people(session: Session, principal: Principal, token_ids: list[str]) -> dict[str, dict[str, str]]:
    """Token id -> the token's name (its label), role and organisation, for showing who acted.

    Reviewers and admins only (the audit timeline and the decided-by line of the case page).
    """
    principal.require("reviewer", "admin")
    wanted = sorted({t for t in token_ids if isinstance(t, str) and t.startswith("tok_")})
    if not wanted:
        return {}
    rows = session.execute(select(ApiToken).where(ApiToken.id.in_(wanted))).scalars()
    return {r.id: {"name": r.label, "role": r.role, "org": r.org} for r in rows}
