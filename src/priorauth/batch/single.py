"""One request decided the per-request way: the reference every batch row must equal.

A batch row that the column-wise path cannot take as it is (a value of the wrong type, a
value outside the vocabulary, a `dosing` block, a structural problem) is decided here,
exactly as `priorauth.evaluate` would decide it, or refused with its RequestError.
"""

from __future__ import annotations

from typing import Any

from priorauth.core import (
    Determination,
    ErrorCode,
    Policy,
    PolicyRegistry,
    PolicyVersion,
    RequestError,
    determine,
    parse_dosing,
    parse_request,
    validate_facts,
)

REQUEST_KEYS = ("policy", "facts", "dosing")


def decide_one(raw: Any, policies: PolicyRegistry, forced: PolicyVersion | None = None) -> Determination:
    """The determination of one contract request (no `id`), or RequestError naming the field.

    `forced` decides it under that version whatever its date (the batch's `--version`);
    otherwise under the version in force on its decision date, as `priorauth.evaluate` does.
    """
    if forced is None:
        version, facts = parse_request(raw, policies)
        return determine(version, facts)
    if not isinstance(raw, dict):
        raise RequestError("request", "expected a JSON object with `policy` and `facts`")
    for key in raw:
        if key not in REQUEST_KEYS:
            raise RequestError(str(key), "unknown field; a request has `policy`, `facts` and optionally `dosing`")
    policy_id = raw.get("policy")
    if not isinstance(policy_id, str):
        raise RequestError("policy", "required: the id of a policy on the policy path")
    if policy_id != forced.id:
        raise RequestError("policy", f"this policy is {forced.id}", ErrorCode.UNKNOWN_POLICY)
    facts = validate_facts(forced, raw.get("facts", {}))
    dosing = parse_dosing(forced, raw["dosing"]) if raw.get("dosing") is not None else None
    return determine(forced, facts, dosing)


def policy_of(policies: PolicyRegistry, policy_id: str) -> Policy | None:
    return policies.get(policy_id) if policy_id in policies else None
