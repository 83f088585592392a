"""Published prior-authorization metrics over all stored requests."""

from __future__ import annotations

import statistics
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from priorauth.service.principal import ENGINE, Principal
from priorauth.service.records import STATUSES, URGENCIES, utc_now
from priorauth.store.models import CoverageRequest


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
    now = utc_now()
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
