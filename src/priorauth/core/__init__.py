"""The core: policy language and files, per-version runtime, engine, determinations, dosing, codes.

Everything outside `priorauth.core` (the service, the doors, claims) uses what this
module exports and nothing else; the modules behind it are private (tests/core/test_layout.py).
"""

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
    ndc_matches,
    ndc_readings,
    normalize_county,
    normalize_hcpcs,
    normalize_icd10,
    normalize_ndc,
    normalize_state,
)
from priorauth.core._dates import age_on, months_after
from priorauth.core._determination import AuthorizationPeriod, Decision, Determination, Reason, Routing, TraceNode
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
from priorauth.core._errors import ErrorCode, PolicyError, PriorAuthError, RequestError, field_name, problem_text
from priorauth.core._facts import Facts, validate_facts, version_for
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
from priorauth.core._relevance import Condition, Relevance, holds
from priorauth.core._request import parse_request, parse_request_json

__all__ = [
    "POLICY_PATH_ENV",
    "US_STATES_AND_TERRITORIES",
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
    "Policy",
    "PolicyError",
    "PolicyRegistry",
    "PolicyVersion",
    "PriorAuthError",
    "Question",
    "Reason",
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
    "holds",
    "icd10_code_set",
    "icd10_exists",
    "load_policy",
    "load_policy_file",
    "load_policy_folder",
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
    "parse_policy_version",
    "parse_request",
    "parse_request_json",
    "plan_doses",
    "problem_text",
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
