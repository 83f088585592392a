"""Validation of request facts against a policy's fact vocabulary."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic_core import ErrorDetails
from typing_extensions import TypedDict

from priorauth.codes import icd10_code_set, icd10_exists, normalize_icd10, normalize_state
from priorauth.errors import RequestError
from priorauth.policy.registry import load_policy
from priorauth.policy.schema import Policy, Question, parse_iso_date

Facts = dict[str, Any]
"""Validated facts: fact id -> value; unknown facts are absent."""

REQUEST_KEYS = ("policy", "facts", "dosing")


class RequestFacts(dict):
    """Validated facts that also carry the request's validated `dosing` block (None without one)."""

    dosing: Any = None


_KNOWN_CODES: dict[str, str] = {}  # raw code -> normalised, for codes already checked


def _icd10_list(codes: list[str]) -> list[str]:
    """Normalised codes; ValueError naming the position of one malformed or not in ICD-10-CM."""
    out = []
    for i, code in enumerate(codes):
        normal = _KNOWN_CODES.get(code)
        if normal is None:
            try:
                normal = normalize_icd10(code)
            except ValueError as exc:
                raise ValueError(f"item {i}: {exc}") from None
            if not icd10_exists(normal):
                raise ValueError(f"item {i}: not a code of {icd10_code_set()}")
            if len(_KNOWN_CODES) < 100_000:
                _KNOWN_CODES[code] = normal
        out.append(normal)
    return out


def _field_type(q: Question) -> Any:
    if q.type == "boolean":
        return StrictBool
    if q.type == "choice":
        return Literal[tuple(q.values or ())]
    if q.type == "date":
        return Annotated[dt.date, BeforeValidator(parse_iso_date)]
    if q.type == "integer":
        return Annotated[StrictInt, Field(ge=q.minimum if q.minimum is not None else -(2**31), le=10_000)]
    if q.type == "code_list":
        return Annotated[
            list[Annotated[StrictStr, Field(max_length=16)]],
            Field(min_length=1, max_length=50),
            AfterValidator(_icd10_list),
        ]
    if q.type == "state":
        return Annotated[StrictStr, AfterValidator(normalize_state)]
    return Annotated[StrictStr, Field(min_length=1, max_length=200)]


@cache
def facts_model(policy_id: str) -> type[BaseModel]:
    """A pydantic model of the policy's facts: every fact optional (None = unknown)."""
    policy = load_policy(policy_id)
    fields = {q.id: (_field_type(q) | None, Field(default=None, description=q.text)) for q in policy.questions}
    name = "".join(part.capitalize() for part in policy_id.split("_")) + "Facts"
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)  # type: ignore[call-overload]


_PROBLEMS = {
    "bool_type": "expected true or false",
    "int_type": "expected a whole number",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "extra_forbidden": "unknown fact for this policy",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
    "string_too_long": "is too long",
    "too_long": "has too many items",
    "greater_than_equal": "is below the smallest allowed value",
    "less_than_equal": "is above the largest allowed value",
}


def _problem(err: ErrorDetails, policy: Policy, fact: str) -> str:
    kind = err["type"]
    if kind == "literal_error":
        return "not one of " + ", ".join(policy.question(fact).values or [])
    if kind == "value_error":
        return str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
    return _PROBLEMS.get(kind, err["msg"].lower())


def _field_name(loc: tuple[Any, ...]) -> str:
    out = "facts"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


@cache
def _facts_validator(policy_id: str) -> tuple[TypeAdapter, tuple[tuple[str, Any], ...]]:
    """A TypedDict validator of the vocabulary (faster than the model; same field types) and defaults."""
    policy = load_policy(policy_id)
    fields = {q.id: NotRequired[_field_type(q) | None] for q in policy.questions}
    typed = TypedDict(f"{policy_id}_facts", fields)  # type: ignore[misc]  # built at run time from the policy
    typed.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    defaults = tuple((q.id, q.default) for q in policy.questions if q.default is not None)
    return TypeAdapter(typed), defaults


def validate_facts(policy: Policy, raw: Any) -> Facts:
    """Validated facts (defaults applied); RequestError naming the first bad field."""
    if not isinstance(raw, dict):
        raise RequestError("facts", "expected an object of fact -> value")
    validator, defaults = _facts_validator(policy.id)
    try:
        facts = validator.validate_python(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        fact = str(loc[0]) if loc else "facts"
        raise RequestError(_field_name(loc), _problem(err, policy, fact)) from None
    if None in facts.values():
        facts = {k: v for k, v in facts.items() if v is not None}
    for fact, default in defaults:
        if fact not in facts:
            facts[fact] = default
    return facts


def parse_request(raw: Any) -> tuple[Policy, Facts]:
    """A request object -> (policy, validated facts)."""
    if not isinstance(raw, dict):
        raise RequestError("request", "expected a JSON object with `policy` and `facts`")
    for key in raw:
        if key not in REQUEST_KEYS:
            raise RequestError(str(key), "unknown field; a request has `policy`, `facts` and optionally `dosing`")
    policy_id = raw.get("policy")
    if not isinstance(policy_id, str):
        raise RequestError("policy", "required: the id of the policy (e.g. besponsa)")
    policy = load_policy(policy_id)
    facts = validate_facts(policy, raw.get("facts", {}))
    if raw.get("dosing") is None:
        return policy, facts
    from priorauth.dosing.request import parse_dosing

    with_dosing = RequestFacts(facts)
    with_dosing.dosing = parse_dosing(policy, raw["dosing"])
    return policy, with_dosing


def parse_request_json(text: str | bytes) -> tuple[Policy, Facts]:
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise RequestError("request", f"not valid JSON{where}", "invalid_json") from None
    return parse_request(raw)
