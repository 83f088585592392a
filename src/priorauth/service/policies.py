"""The loaded policies as the doors show them: summaries, versions and question lists."""

from __future__ import annotations

from typing import Any

from priorauth.core import ErrorCode, Policy, RequestError, load_policy, policy_ids
from priorauth.service.errors import NotFound
from priorauth.service.principal import Principal


def _policy(policy_id: str) -> Policy:
    try:
        return load_policy(policy_id)
    except RequestError as exc:
        if exc.code is ErrorCode.UNKNOWN_POLICY:
            raise NotFound("no such policy", "policy_id") from None
        raise


def policy_summary(policy: Policy) -> dict[str, Any]:
    current = policy.current()
    m = current.metadata
    return {
        "id": policy.id,
        "title": current.title,
        "drug": current.drug,
        "route": current.route,
        "document_number": m.document_number,
        "date_approved": m.date_approved.isoformat(),
        "current_version": current.version,
        "versions": [
            {"effective": v.version, "digest": v.digest, "note": v.note, "source": v.source} for v in policy.versions
        ],
        "hcpcs": current.billing.hcpcs.code,
    }


def list_policies(principal: Principal) -> list[dict[str, Any]]:
    """Every loaded policy (any role)."""
    principal.require("submitter", "reviewer", "admin")
    return [policy_summary(load_policy(p)) for p in policy_ids()]


def get_policy(principal: Principal, policy_id: str) -> dict[str, Any]:
    """One policy; NotFound for an id not loaded."""
    principal.require("submitter", "reviewer", "admin")
    return policy_summary(_policy(policy_id))


def policy_questions(principal: Principal, policy_id: str) -> list[dict[str, Any]]:
    """The fact vocabulary of the version in force today: id, type, allowed values, text, whether PHI."""
    principal.require("submitter", "reviewer", "admin")
    return [q.model_dump(exclude_none=True) for q in _policy(policy_id).current().questions]
