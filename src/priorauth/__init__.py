"""priorauth: medical drug coverage policies as executable, explainable decisions."""

from priorauth.core import (
    AuthorizationPeriod,
    Decision,
    Determination,
    DoseCheck,
    DoseDay,
    DoseOutcome,
    DosePlan,
    ErrorCode,
    Policy,
    PolicyError,
    PolicyRegistry,
    PolicyVersion,
    PriorAuthError,
    Reason,
    RequestError,
    Routing,
    TraceNode,
    Truth,
    check_doses,
    evaluate,
    evaluate_facts,
    load_policy,
    load_policy_file,
    plan_doses,
    policy_ids,
    policy_registry,
    use_policy_path,
)

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The claims audit loads Polars: imported on first use, so `import priorauth` stays light.
    if name == "audit_claims":
        from priorauth.claims import audit_claims

        return audit_claims
    raise AttributeError(f"module 'priorauth' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "audit_claims"])


__all__ = [
    "AuthorizationPeriod",
    "Decision",
    "Determination",
    "DoseCheck",
    "DoseDay",
    "DoseOutcome",
    "DosePlan",
    "ErrorCode",
    "Policy",
    "PolicyError",
    "PolicyRegistry",
    "PolicyVersion",
    "PriorAuthError",
    "Reason",
    "RequestError",
    "Routing",
    "TraceNode",
    "Truth",
    "audit_claims",
    "check_doses",
    "evaluate",
    "evaluate_facts",
    "load_policy",
    "load_policy_file",
    "plan_doses",
    "policy_ids",
    "policy_registry",
    "use_policy_path",
]
