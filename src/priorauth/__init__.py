"""priorauth: medical drug coverage policies as executable, explainable decisions."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

del TYPE_CHECKING  # a public module holds only its public names

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # Every name is imported on first use, so `import priorauth` stays light: the claims audit
    # loads Polars, and the core loads only the modules of the names asked for.
    if name == "audit_claims":
        from priorauth.claims import audit_claims

        return audit_claims
    if name in __all__:
        import priorauth.core

        value = getattr(priorauth.core, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'priorauth' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
