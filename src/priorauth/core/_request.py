"""A contract request: its policy, the version in force on its decision date, its facts and doses."""

from __future__ import annotations

from typing import Any

from priorauth.core._errors import ErrorCode, RequestError, unknown_key
from priorauth.core._facts import Facts, validate_facts, version_for
from priorauth.core._json import load_json
from priorauth.core._policy.policy import Policy
from priorauth.core._policy.registry import PolicyRegistry, policy_registry
from priorauth.core._policy.version import PolicyVersion

REQUEST_KEYS = ("policy", "facts", "dosing")


class RequestFacts(dict):
    """Validated facts that also carry the request's validated `dosing` block (None without one)."""

    dosing: Any = None


def parse_request(raw: Any, policies: PolicyRegistry | Policy | None = None) -> tuple[PolicyVersion, Facts]:
    """A request object -> (the version in force, validated facts with the dosing block attached).

    `policies` is a registry (default: the one in use) or a Policy to decide under.
    """
    if not isinstance(raw, dict):
        raise RequestError("request", "expected a JSON object with `policy` and `facts`")
    for key in raw:
        if key not in REQUEST_KEYS:
            raise unknown_key("request", raw, key, "unknown field; a request has `policy`, `facts` and `dosing`")
    policy_id = raw.get("policy")
    if not isinstance(policy_id, str):
        raise RequestError("policy", "required: the id of a policy on the policy path")
    if isinstance(policies, Policy):
        if policies.id != policy_id:
            raise RequestError("policy", f"this policy is {policies.id}", ErrorCode.UNKNOWN_POLICY)
        policy = policies
    else:
        policy = (policies or policy_registry()).get(policy_id)
    raw_facts = raw.get("facts", {})
    version = version_for(policy, raw_facts)
    facts = validate_facts(version, raw_facts)
    if raw.get("dosing") is None:
        return version, facts
    from priorauth.core._dosing.request import parse_dosing  # only requests with doses need Section V

    with_dosing = RequestFacts(facts)
    with_dosing.dosing = parse_dosing(version, raw["dosing"])
    return version, with_dosing


def parse_request_json(
    text: str | bytes, policies: PolicyRegistry | Policy | None = None
) -> tuple[PolicyVersion, Facts]:
    return parse_request(load_json(text), policies)
