"""Stored requests in the batch input form, for re-deciding a history (`priorauth requests export`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from priorauth.service.audit import append_event
from priorauth.service.principal import Principal
from priorauth.store.models import CoverageRequest


def export_requests(session: Session, principal: Principal, policy: str | None = None) -> Iterator[dict[str, Any]]:
    """Every stored request (of `policy`, if given) as `{"id", "policy", "facts"[, "dosing"]}`, oldest first.

    Reviewers and admins only. The export is one audited event (how many, which policy),
    written and committed before the first request is given; no patient details are given.
    """
    principal.require("reviewer", "admin")
    conditions = [CoverageRequest.policy_id == policy] if policy is not None else []
    total = session.execute(select(func.count()).select_from(CoverageRequest).where(*conditions)).scalar_one()
    append_event(session, principal, "export", policy_id=policy, detail={"requests": total})
    session.commit()
    rows = session.execute(
        select(CoverageRequest.id, CoverageRequest.policy_id, CoverageRequest.facts, CoverageRequest.dosing)
        .where(*conditions)
        .order_by(CoverageRequest.created_at, CoverageRequest.id)
        .execution_options(yield_per=1000)
    )
    for request_id, policy_id, facts, dosing in rows:
        request: dict[str, Any] = {"id": request_id, "policy": policy_id, "facts": facts}
        if dosing is not None:
            request["dosing"] = dosing
        yield request
