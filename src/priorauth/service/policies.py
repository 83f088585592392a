"""The bundled policies as the doors show them: summaries and question lists."""

from __future__ import annotations

from typing import Any

from priorauth.policy import bundled_policy_ids, load_policy
from priorauth.service.auth import Principal


def policy_summary(policy_id: str) -> dict[str, Any]:
    policy = load_policy(policy_id)
    m = policy.metadata
    return {
        "id": policy.id,
        "title": policy.title,
        "drug": policy.drug,
        "route": policy.route,
        "document_number": m.document_number,
        "date_approved": m.date_approved.isoformat(),
        "versions": [{"effective": v.effective.isoformat(), "note": v.note} for v in policy.versions],
        "hcpcs": policy.billing.hcpcs.code,
    }


def list_policies(principal: Principal) -> list[dict[str, Any]]:
    """Every bundled policy (any role)."""
    principal.require("submitter", "reviewer", "admin")
    return [policy_summary(p) for p in bundled_policy_ids()]


def get_policy(principal: Principal, policy_id: str) -> dict[str, Any]:
    principal.require("submitter", "reviewer", "admin")
    return policy_summary(policy_id)


def policy_questions(principal: Principal, policy_id: str) -> list[dict[str, Any]]:
    """The fact vocabulary: id, type, allowed values, question text, whether the answer is PHI."""
    principal.require("submitter", "reviewer", "admin")
    return [q.model_dump(exclude_none=True) for q in load_policy(policy_id).questions]
