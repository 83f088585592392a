"""Policy files: schema, loader and the registry of bundled policies."""

from priorauth.policy.loader import load_policy_file, parse_policy
from priorauth.policy.registry import bundled_policy_ids, load_policy
from priorauth.policy.schema import Criterion, Policy, Question

__all__ = ["Criterion", "Policy", "Question", "bundled_policy_ids", "load_policy", "load_policy_file", "parse_policy"]
