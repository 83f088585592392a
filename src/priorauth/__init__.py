"""priorauth: a medical drug coverage policy as executable, explainable decisions."""

from priorauth.claims import audit_claims
from priorauth.determination import AuthorizationPeriod, Decision, Determination, Reason, Routing, TraceNode
from priorauth.dosing import DoseCheck, DoseDay, DoseOutcome, DosePlan, check_doses, plan_doses
from priorauth.engine import evaluate, evaluate_facts
from priorauth.errors import PolicyError, PriorAuthError, RequestError
from priorauth.logic import Truth
from priorauth.policy import Policy, bundled_policy_ids, load_policy, load_policy_file

__version__ = "0.1.0"

__all__ = [
    "AuthorizationPeriod",
    "Decision",
    "Determination",
    "DoseCheck",
    "DoseDay",
    "DoseOutcome",
    "DosePlan",
    "PolicyError",
    "Policy",
    "PriorAuthError",
    "Reason",
    "RequestError",
    "Routing",
    "TraceNode",
    "Truth",
    "audit_claims",
    "bundled_policy_ids",
    "check_doses",
    "evaluate",
    "evaluate_facts",
    "load_policy",
    "load_policy_file",
    "plan_doses",
]
