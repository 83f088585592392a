"""Errors a user of priorauth can get: one catalogue of stable codes, one base class.

An integrator matches on `code` (documented in docs/request-contract.md), never on the
message, which may change. Every exception priorauth raises on purpose is a
`PriorAuthError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Every error code priorauth gives, in one place."""

    PRIORAUTH_ERROR = "priorauth_error"
    # policies
    POLICY_INVALID = "policy_invalid"
    UNKNOWN_POLICY = "unknown_policy"
    NO_POLICY_VERSION = "no_policy_version"
    # requests
    REQUEST_INVALID = "request_invalid"
    INVALID_JSON = "invalid_json"
    INCONSISTENT_FACTS = "inconsistent_facts"
    MISSING_MEASUREMENT = "missing_measurement"
    IMPLAUSIBLE_MEASUREMENT = "implausible_measurement"
    MISSING_RESPONSE = "missing_response"
    REQUEST_DATE_OUT_OF_WINDOW = "request_date_out_of_window"
    # claims
    CLAIMS_INPUT_INVALID = "claims_input_invalid"
    # policy documents (the plan's text a version file is made from)
    DOCUMENT_INVALID = "document_invalid"
    # the service
    SERVICE_ERROR = "service_error"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    VERSION_CONFLICT = "version_conflict"
    STATE_CONFLICT = "state_conflict"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    BODY_TOO_LARGE = "body_too_large"
    # the doors' own input (FHIR resources, CDS Hooks calls, web sessions)
    FHIR_INPUT_INVALID = "fhir_input_invalid"
    HOOK_INPUT_INVALID = "hook_input_invalid"
    SIGN_IN_REQUIRED = "sign_in_required"


class PriorAuthError(Exception):
    """Base class; `code` is stable, the message may change."""

    code: str = ErrorCode.PRIORAUTH_ERROR


class PolicyError(PriorAuthError):
    """A policy file is malformed; the message names the file, the path in it and the problem."""

    code = ErrorCode.POLICY_INVALID


class RequestError(PriorAuthError):
    """A request cannot be decided as given; names the field and the problem, never its value."""

    def __init__(self, field: str, problem: str, code: str = ErrorCode.REQUEST_INVALID) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.code = ErrorCode(code)

    def to_dict(self) -> dict[str, str]:
        return {"code": str(self.code), "field": self.field, "problem": self.problem}


# pydantic error types -> our wording of the problem (never the value, which may be PHI).
PROBLEMS = {
    "bool_type": "expected true or false",
    "int_type": "expected a whole number",
    "float_type": "expected a number",
    "finite_number": "expected a finite number",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "extra_forbidden": "unknown field",
    "missing": "required",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
    "string_too_long": "is too long",
    "too_long": "has too many items",
    "greater_than": "is too small",
    "greater_than_equal": "is below the smallest allowed value",
    "less_than_equal": "is above the largest allowed value",
}


def problem_text(kind: str, message: str, unknown: str = "unknown field") -> str:
    """Our wording of a pydantic error of type `kind` (its own message, lower case, otherwise)."""
    if kind == "extra_forbidden":
        return unknown
    return PROBLEMS.get(kind, message.lower())


def field_name(prefix: str, loc: Sequence[Any]) -> str:
    """A pydantic error location as a field name: ("doses", 0, "mg") -> `dosing.doses[0].mg`.

    Pydantic's internal steps (`function-after[...]`) are left out.
    """
    out = prefix
    for part in loc:
        if isinstance(part, str) and part.startswith("function-"):
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def unknown_key(prefix: str, container: Any, key: Any, what: str = "unknown field") -> RequestError:
    """An unknown key, named by its position in its object and never echoed: a key can be a patient's name.

    `{"facts": {"Jane Doe": true}}` -> field `facts`, "key 1: unknown fact for this policy". Known
    fields are still named by name (`facts.birth_date`); only keys we do not know are positional.
    """
    keys = list(container) if isinstance(container, dict) else []
    position = next((i for i, k in enumerate(keys, 1) if k == key), 0)
    where = f"key {position}" if position else "a key"
    return RequestError(prefix or "request", f"{where}: {what}")


def pydantic_problem(prefix: str, err: Any, raw: Any, unknown: str = "unknown field") -> RequestError:
    """A pydantic error (`ValidationError.errors()[i]`) as a RequestError naming the field (unknown_key for extras)."""
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    if err["type"] != "extra_forbidden" or not loc:
        return RequestError(field_name(prefix, loc), problem_text(err["type"], err["msg"], unknown))
    container = raw
    for part in loc[:-1]:
        try:
            container = container[part]
        except (KeyError, IndexError, TypeError):
            container = None
            break
    return unknown_key(field_name(prefix, loc[:-1]), container, loc[-1], unknown)

