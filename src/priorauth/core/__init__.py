"""The core: policy language and files, per-version runtime, engine, determinations, dosing, codes.

Everything outside `priorauth.core` (the service, the doors, claims) uses what this
module exports and nothing else; the modules behind it are private (tests/core/test_layout.py).
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from priorauth.core._authorization import (
        BranchTerms,
        authorization_for,
        branch_terms,
        choose_terms,
        strictest_terms,
        unit_terms,
    )
    from priorauth.core._codes import (
        US_STATES_AND_TERRITORIES,
        NdcError,
        icd10_code_set,
        icd10_exists,
        match_ndc,
        ndc_matches,
        ndc_readings,
        normalize_county,
        normalize_hcpcs,
        normalize_icd10,
        normalize_ndc,
        normalize_state,
    )
    from priorauth.core._dates import age_on, months_after
    from priorauth.core._determination import AuthorizationPeriod, Decision, Determination, Routing, TraceNode
    from priorauth.core._dosing import (
        BodySurfaceArea,
        DoseCheck,
        DoseDay,
        DoseOutcome,
        DosePlan,
        DosingRequest,
        check_doses,
        dosing_model,
        parse_dosing,
        plan_doses,
    )
    from priorauth.core._engine import determine, evaluate, evaluate_facts
    from priorauth.core._errors import (
        ErrorCode,
        PolicyError,
        PriorAuthError,
        RequestError,
        field_name,
        problem_text,
        pydantic_problem,
        unknown_key,
    )
    from priorauth.core._facts import Facts, validate_facts, version_for
    from priorauth.core._json import MAX_DEPTH, json_depth_ok, load_json
    from priorauth.core._logic import Truth
    from priorauth.core._policy.base import parse_iso_date
    from priorauth.core._policy.criteria import Criterion, walk
    from priorauth.core._policy.loader import (
        canonical_json,
        content_digest,
        load_policy_file,
        load_policy_folder,
        parse_policy_version,
        version_from_content,
    )
    from priorauth.core._policy.policy import Policy
    from priorauth.core._policy.questions import Question
    from priorauth.core._policy.registry import (
        POLICY_PATH_ENV,
        PolicyRegistry,
        load_policy,
        policy_ids,
        policy_registry,
        use_policy_path,
        use_registry,
    )
    from priorauth.core._policy.version import PolicyVersion
    from priorauth.core._reasons import Alternative, OneOf, Reason, ReasonBranch, group_reasons, reason_lines
    from priorauth.core._relevance import Condition, Relevance, holds
    from priorauth.core._request import parse_request, parse_request_json

del TYPE_CHECKING  # a public module holds only its public names

# Each public name and the module that defines it: imported on first use (PEP 562), so a command
# that decides one request imports what deciding needs and nothing else.
_WHERE = {
    "BranchTerms": "priorauth.core._authorization",
    "authorization_for": "priorauth.core._authorization",
    "branch_terms": "priorauth.core._authorization",
    "choose_terms": "priorauth.core._authorization",
    "strictest_terms": "priorauth.core._authorization",
    "unit_terms": "priorauth.core._authorization",
    "US_STATES_AND_TERRITORIES": "priorauth.core._codes",
    "NdcError": "priorauth.core._codes",
    "icd10_code_set": "priorauth.core._codes",
    "icd10_exists": "priorauth.core._codes",
    "match_ndc": "priorauth.core._codes",
    "ndc_matches": "priorauth.core._codes",
    "ndc_readings": "priorauth.core._codes",
    "normalize_county": "priorauth.core._codes",
    "normalize_hcpcs": "priorauth.core._codes",
    "normalize_icd10": "priorauth.core._codes",
    "normalize_ndc": "priorauth.core._codes",
    "normalize_state": "priorauth.core._codes",
    "age_on": "priorauth.core._dates",
    "months_after": "priorauth.core._dates",
    "AuthorizationPeriod": "priorauth.core._determination",
    "Decision": "priorauth.core._determination",
    "Determination": "priorauth.core._determination",
    "Reason": "priorauth.core._reasons",
    "Alternative": "priorauth.core._reasons",
    "OneOf": "priorauth.core._reasons",
    "ReasonBranch": "priorauth.core._reasons",
    "group_reasons": "priorauth.core._reasons",
    "reason_lines": "priorauth.core._reasons",
    "Routing": "priorauth.core._determination",
    "TraceNode": "priorauth.core._determination",
    "BodySurfaceArea": "priorauth.core._dosing",
    "DoseCheck": "priorauth.core._dosing",
    "DoseDay": "priorauth.core._dosing",
    "DoseOutcome": "priorauth.core._dosing",
    "DosePlan": "priorauth.core._dosing",
    "DosingRequest": "priorauth.core._dosing",
    "check_doses": "priorauth.core._dosing",
    "dosing_model": "priorauth.core._dosing",
    "parse_dosing": "priorauth.core._dosing",
    "plan_doses": "priorauth.core._dosing",
    "determine": "priorauth.core._engine",
    "evaluate": "priorauth.core._engine",
    "evaluate_facts": "priorauth.core._engine",
    "ErrorCode": "priorauth.core._errors",
    "PolicyError": "priorauth.core._errors",
    "PriorAuthError": "priorauth.core._errors",
    "RequestError": "priorauth.core._errors",
    "field_name": "priorauth.core._errors",
    "problem_text": "priorauth.core._errors",
    "Facts": "priorauth.core._facts",
    "validate_facts": "priorauth.core._facts",
    "version_for": "priorauth.core._facts",
    "Truth": "priorauth.core._logic",
    "parse_iso_date": "priorauth.core._policy.base",
    "load_json": "priorauth.core._json",
    "pydantic_problem": "priorauth.core._errors",
    "unknown_key": "priorauth.core._errors",
    "json_depth_ok": "priorauth.core._json",
    "MAX_DEPTH": "priorauth.core._json",
    "Criterion": "priorauth.core._policy.criteria",
    "walk": "priorauth.core._policy.criteria",
    "canonical_json": "priorauth.core._policy.loader",
    "content_digest": "priorauth.core._policy.loader",
    "load_policy_file": "priorauth.core._policy.loader",
    "load_policy_folder": "priorauth.core._policy.loader",
    "parse_policy_version": "priorauth.core._policy.loader",
    "version_from_content": "priorauth.core._policy.loader",
    "Policy": "priorauth.core._policy.policy",
    "Question": "priorauth.core._policy.questions",
    "POLICY_PATH_ENV": "priorauth.core._policy.registry",
    "PolicyRegistry": "priorauth.core._policy.registry",
    "load_policy": "priorauth.core._policy.registry",
    "policy_ids": "priorauth.core._policy.registry",
    "policy_registry": "priorauth.core._policy.registry",
    "use_policy_path": "priorauth.core._policy.registry",
    "use_registry": "priorauth.core._policy.registry",
    "PolicyVersion": "priorauth.core._policy.version",
    "Condition": "priorauth.core._relevance",
    "Relevance": "priorauth.core._relevance",
    "holds": "priorauth.core._relevance",
    "parse_request": "priorauth.core._request",
    "parse_request_json": "priorauth.core._request",
}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'priorauth.core' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


__all__ = [
    "POLICY_PATH_ENV",
    "US_STATES_AND_TERRITORIES",
    "Alternative",
    "AuthorizationPeriod",
    "BodySurfaceArea",
    "BranchTerms",
    "Condition",
    "Criterion",
    "Decision",
    "Determination",
    "DoseCheck",
    "DoseDay",
    "DoseOutcome",
    "DosePlan",
    "DosingRequest",
    "ErrorCode",
    "Facts",
    "NdcError",
    "OneOf",
    "Policy",
    "PolicyError",
    "PolicyRegistry",
    "PolicyVersion",
    "PriorAuthError",
    "Question",
    "Reason",
    "ReasonBranch",
    "Relevance",
    "RequestError",
    "Routing",
    "TraceNode",
    "Truth",
    "age_on",
    "authorization_for",
    "branch_terms",
    "canonical_json",
    "check_doses",
    "choose_terms",
    "content_digest",
    "determine",
    "dosing_model",
    "evaluate",
    "evaluate_facts",
    "field_name",
    "group_reasons",
    "holds",
    "icd10_code_set",
    "icd10_exists",
    "load_policy",
    "load_policy_file",
    "load_policy_folder",
    "match_ndc",
    "months_after",
    "ndc_matches",
    "ndc_readings",
    "normalize_county",
    "normalize_hcpcs",
    "normalize_icd10",
    "normalize_ndc",
    "normalize_state",
    "parse_dosing",
    "parse_iso_date",
    "load_json",
    "pydantic_problem",
    "unknown_key",
    "json_depth_ok",
    "MAX_DEPTH",
    "parse_policy_version",
    "parse_request",
    "parse_request_json",
    "plan_doses",
    "problem_text",
    "reason_lines",
    "policy_ids",
    "policy_registry",
    "strictest_terms",
    "unit_terms",
    "use_policy_path",
    "use_registry",
    "validate_facts",
    "version_for",
    "version_from_content",
    "walk",
]
