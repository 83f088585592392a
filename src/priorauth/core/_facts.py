"""Validation of request facts against a policy version's fact vocabulary."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired

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

from priorauth.core._codes import icd10_code_set, icd10_exists, normalize_icd10, normalize_state
from priorauth.core._errors import ErrorCode, RequestError, field_name, problem_text, pydantic_problem
from priorauth.core._policy.base import parse_iso_date
from priorauth.core._policy.questions import Question

if TYPE_CHECKING:
    from priorauth.core._policy.policy import Policy
    from priorauth.core._policy.version import PolicyVersion

Facts = dict[str, Any]
"""Validated facts: fact id -> value; unknown facts are absent."""

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


def _number(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number")
    return value


def _field_type(q: Question) -> Any:
    if q.type == "boolean":
        return StrictBool
    if q.type == "choice":
        return Literal[tuple(q.values or ())]
    if q.type == "date":
        return Annotated[dt.date, BeforeValidator(parse_iso_date)]
    if q.type == "integer":
        return Annotated[StrictInt, Field(ge=q.minimum if q.minimum is not None else -(2**31),
                                          le=q.maximum if q.maximum is not None else 10_000)]
    if q.type == "number":
        return Annotated[float | int, BeforeValidator(_number), Field(allow_inf_nan=False, ge=q.minimum, le=q.maximum)]
    if q.type == "code_list":
        return Annotated[
            list[Annotated[StrictStr, Field(max_length=16)]],
            Field(min_length=1, max_length=50),
            AfterValidator(_icd10_list),
        ]
    if q.type == "state":
        return Annotated[StrictStr, AfterValidator(normalize_state)]
    return Annotated[StrictStr, Field(min_length=1, max_length=200)]


def _type_name(policy_id: str) -> str:
    return "".join(part.capitalize() for part in policy_id.split("_")) + "Facts"


def build_facts_model(version: PolicyVersion) -> type[BaseModel]:
    """A pydantic model of the version's facts: every fact optional (None = unknown)."""
    fields = {q.id: (_field_type(q) | None, Field(default=None, description=q.text)) for q in version.questions}
    return create_model(_type_name(version.id), __config__=ConfigDict(extra="forbid"), **fields)  # type: ignore[call-overload]


def build_validator(version: PolicyVersion) -> TypeAdapter:
    """A TypedDict validator of the vocabulary (faster than the model; same field types)."""
    fields = {q.id: NotRequired[_field_type(q) | None] for q in version.questions}
    typed = TypedDict(_type_name(version.id), fields)  # type: ignore[misc]  # built at run time from the policy
    typed.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return TypeAdapter(typed)


def _problem(err: ErrorDetails, version: PolicyVersion, fact: str) -> str:
    kind = err["type"]
    if kind == "literal_error":
        return "not one of " + ", ".join(version.question(fact).values or [])
    if kind == "value_error":
        return str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
    return problem_text(kind, err["msg"], "unknown fact for this policy")


def validate_facts(version: PolicyVersion, raw: Any) -> Facts:
    """Validated facts (defaults applied); RequestError naming the first bad field."""
    if not isinstance(raw, dict):
        raise RequestError("facts", "expected an object of fact -> value")
    runtime = version.runtime
    try:
        facts = runtime.facts_validator.validate_python(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        if err["type"] == "extra_forbidden":  # never echo a key we do not know (it may be a name)
            raise pydantic_problem("facts", err, raw, "unknown fact for this policy") from None
        fact = str(loc[0]) if loc else "facts"
        raise RequestError(field_name("facts", loc), _problem(err, version, fact)) from None
    if None in facts.values():
        facts = {k: v for k, v in facts.items() if v is not None}
    for fact, default in runtime.defaults:
        if fact not in facts:
            facts[fact] = default
    for fact, bound in runtime.not_after:
        if fact in facts and bound in facts and facts[fact] > facts[bound]:
            raise RequestError(f"facts.{fact}", f"after {bound}", ErrorCode.INCONSISTENT_FACTS)
    return facts


def version_for(policy: Policy, raw_facts: Any) -> PolicyVersion:
    """The version a request's facts are decided under: the one in force on its decision date.

    The date is read (and checked) before the rest, since the vocabulary is the version's.
    """
    if not isinstance(raw_facts, dict):
        raise RequestError("facts", "expected an object of fact -> value")
    raw_day = raw_facts.get(policy.decided_on)
    if raw_day is None:
        return policy.in_force(None)
    try:
        day = _day(raw_day) if isinstance(raw_day, str) else parse_iso_date(raw_day)
    except ValueError as exc:
        raise RequestError(f"facts.{policy.decided_on}", str(exc)) from None
    return policy.in_force(day)


_day = lru_cache(maxsize=4096)(parse_iso_date)  # the same few dates recur across requests
