"""OpenAPI descriptions of request bodies, generated from the policies' fact vocabulary.

Bodies are parsed by the service layer (so errors use the contract's wording); these
models only describe them, under components/schemas.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, create_model

from priorauth.core import PolicyVersion, dosing_model, load_policy, policy_ids
from priorauth.service import (
    AuthorizationModification,
    ContactDetails,
    PatientDetails,
    PrescriberDetails,
    ReviewAction,
)

# Named so that create_model's field tuples hold a type alias, which type checkers read as a type form.
Urgency = Literal["standard", "expedited"]
Role = Literal["submitter", "reviewer", "admin"]


def _current_versions() -> list[PolicyVersion]:
    """The version of each loaded policy in force today: what a new request is asked."""
    return [load_policy(p).current() for p in policy_ids()]


def _union(models: list[Any]) -> Any:
    out: Any = models[0]
    for m in models[1:]:
        out = out | m
    return out


def _facts_type() -> Any:
    return _union([v.runtime.facts_model for v in _current_versions()])


def _dosing_type() -> Any:
    """The dose inputs each policy declares (`dosing.inputs`), or nothing for a policy without Section V."""
    return _union([dosing_model(v) for v in _current_versions() if v.dosing is not None] + [type(None)])


def body_models() -> dict[str, type[BaseModel]]:
    policy_type: Any = Literal[tuple(policy_ids())]
    facts_type = _facts_type()
    dosing_type = _dosing_type()
    strict = ConfigDict(extra="forbid")
    evaluate = create_model(
        "EvaluationRequest",
        __config__=strict,
        __doc__="A contract request: the policy and the facts (absent or null = unknown), and optionally doses.",
        policy=(policy_type, ...),
        facts=(facts_type, Field(default_factory=dict)),
        dosing=(dosing_type, None),
    )
    submit = create_model(
        "CoverageRequestSubmission",
        __config__=strict,
        __doc__="A request to store and decide, on the day received (a `request_date` in the facts may be at "
        "most 3 days earlier, by default); `patient`, `prescriber` and `contact` are not used in decisions and "
        "are never logged.",
        policy=(policy_type, ...),
        facts=(facts_type, Field(default_factory=dict)),
        urgency=(Urgency, "standard"),
        patient=(PatientDetails | None, None),
        prescriber=(PrescriberDetails | None, None),
        contact=(ContactDetails | None, None),
        dosing=(dosing_type, None),
    )
    information = create_model(
        "AdditionalInformation",
        __config__=strict,
        __doc__="Facts to add to (or correct on) a pended request; it is decided again.",
        facts=(facts_type, ...),
        expected_version=(StrictInt | None, Field(default=None, ge=1)),
    )
    review = create_model(
        "ReviewDecision",
        __config__=strict,
        __doc__="A clinical reviewer's final decision; `expected_version` is the version the reviewer read.",
        action=(ReviewAction, ...),
        note=(StrictStr, Field(min_length=1, max_length=4000)),
        expected_version=(StrictInt, Field(ge=1)),
        modification=(AuthorizationModification | None, None),
    )
    request_date = create_model(
        "RequestDateChange",
        __config__=strict,
        __doc__="A reviewer's back-dating of an open request: the new request date, why (stored, never audited "
        "as text), and the version the reviewer read.",
        request_date=(StrictStr, Field(description="YYYY-MM-DD, not after the day received")),
        note=(StrictStr, Field(min_length=1, max_length=4000)),
        expected_version=(StrictInt, Field(ge=1)),
    )
    token = create_model(
        "TokenRequest",
        __config__=strict,
        __doc__="A new bearer token for an organisation.",
        role=(Role, ...),
        org=(StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")),
        label=(StrictStr, Field(default="", max_length=200)),
        expires_in=(StrictStr | None, Field(default=None, pattern=r"^\s*[0-9]{1,7}[dhm]\s*$",
                                            description="Valid for this long (90d, 12h, 30m); else until revoked")),
    )
    return {m.__name__: m for m in (evaluate, submit, information, review, request_date, token)}


def components() -> dict[str, Any]:
    """JSON schemas of the body models and everything they refer to."""
    out: dict[str, Any] = {}
    for name, model in body_models().items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[name] = schema
    return out


def body(name: str, description: str = "") -> dict[str, Any]:
    """`openapi_extra` for an operation whose JSON body is component `name`."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    }
