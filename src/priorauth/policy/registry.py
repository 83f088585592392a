"""The bundled policies, loaded once and looked up by id."""

from __future__ import annotations

from functools import cache
from importlib import resources

from priorauth.errors import RequestError
from priorauth.policy.loader import parse_policy
from priorauth.policy.schema import Policy


def bundled_policy_ids() -> list[str]:
    folder = resources.files("priorauth") / "policies"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


@cache
def load_policy(policy_id: str) -> Policy:
    """The bundled policy `policy_id`, validated (cached)."""
    if policy_id not in bundled_policy_ids():
        raise RequestError("policy", f"unknown policy; known: {', '.join(bundled_policy_ids())}", "unknown_policy")
    resource = resources.files("priorauth") / "policies" / f"{policy_id}.yaml"
    return parse_policy(resource.read_text(encoding="utf-8"), f"{policy_id}.yaml")
