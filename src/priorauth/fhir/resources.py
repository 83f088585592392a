"""Parsing FHIR R4 JSON into models, and OperationOutcome for what does not parse.

fhir.resources 8 ships R5 at the top level and R4B in `fhir.resources.R4B`; there is
no R4 package. R4B keeps R4's Claim, ClaimResponse, Questionnaire(Response), Bundle,
Patient, Condition, Observation, Coverage and MedicationRequest, so R4B models are
used to check R4 input.
"""

from __future__ import annotations

import gc
import importlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from priorauth.core import ErrorCode, PriorAuthError, unknown_key

MAX_ISSUES = 5
_LOADED: set[str] = set()  # resource types whose model `model_class` has loaded


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem: where (a FHIRPath-like expression) and what; never the offending value."""

    expression: str
    diagnostics: str
    code: str = "invalid"
    severity: str = "error"

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": self.diagnostics,
            "expression": [self.expression],
        }


@dataclass
class FhirInputError(PriorAuthError):
    """FHIR input that cannot be used; answered with an OperationOutcome and `status`."""

    code = ErrorCode.FHIR_INPUT_INVALID

    issues: list[Issue] = field(default_factory=list)
    status: int = 400

    def __str__(self) -> str:
        return "; ".join(f"{i.expression}: {i.diagnostics}" for i in self.issues)

    def operation_outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


def invalid(expression: str, diagnostics: str, code: str = "invalid", status: int = 400) -> FhirInputError:
    return FhirInputError([Issue(expression, diagnostics, code)], status)


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.to_dict() for i in issues]}


@cache
def model_class(resource_type: str) -> type[BaseModel]:
    """The R4B model of a resource type; KeyError if there is none.

    Loading a model settles the heap (`settle_heap`): its validators live as long as the process.
    """
    model = _import_model(resource_type)
    settle_heap()
    _LOADED.add(resource_type)
    return model


def _import_model(resource_type: str) -> type[BaseModel]:
    if not resource_type.isalpha():
        raise KeyError(resource_type)
    try:
        module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
        return getattr(module, resource_type)
    except (ImportError, AttributeError):
        raise KeyError(resource_type) from None


def preload(resource_types: tuple[str, ...]) -> None:
    """Load the models of `resource_types` and settle the heap once (at start-up, so that the first
    request does not pay for importing them). Models already loaded cost nothing."""
    missing = [kind for kind in resource_types if kind not in _LOADED]
    if not missing:
        return
    for kind in missing:
        _import_model(kind)
    settle_heap()
    for kind in missing:
        model_class(kind)


def settle_heap() -> None:
    """Move every object alive now to the garbage collector's permanent generation (`gc.freeze`).

    What is alive when a model is loaded is, but for the request in flight, what lives as long as the
    process: modules, classes, and the models' pydantic validators, whose traversal makes a full
    collection of this heap take 100-250 ms. Frozen, they are never walked again, so full collections
    scan only what requests allocate (the CDS Hooks p99, docs/performance.md). Garbage is collected
    first, so none is frozen; that collection is the long one only the first time. Frozen objects
    are still freed by reference counting.
    """
    gc.collect()
    gc.freeze()


def _path(root: str, loc: tuple[Any, ...]) -> str:
    out = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and not part.startswith("function-"):
            out += f".{part}"
    return out


def _diagnostics(err: ErrorDetails, value: Any) -> str:
    message = str(err.get("msg", "invalid"))
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if isinstance(value, str | int | float) and str(value) and str(value) in message:
        message = message.replace(str(value), "…")  # never echo input (it may be PHI)
    return message


def _unknown_resource_type(node: Any, path: str, depth: int = 0) -> str | None:
    """The path of the first nested `resourceType` with no R4B model, if any."""
    if depth > 40:
        return None
    if isinstance(node, dict):
        kind = node.get("resourceType")
        if depth and kind is not None:
            try:
                model_class(str(kind))
            except KeyError:
                return f"{path}.resourceType"
        for key, value in node.items():
            found = _unknown_resource_type(value, f"{path}.{key}", depth + 1)
            if found:
                return found
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found = _unknown_resource_type(value, f"{path}[{i}]", depth + 1)
            if found:
                return found
    return None


def parse(raw: Any, expected: str | tuple[str, ...], root: str | None = None) -> Any:
    """A validated R4B model of `raw`, which must be a resource of type `expected`."""
    allowed = (expected,) if isinstance(expected, str) else expected
    where = root or allowed[0]
    if not isinstance(raw, dict):
        raise invalid(where, f"expected a FHIR {' or '.join(allowed)} resource (a JSON object)", "structure")
    kind = raw.get("resourceType")
    if kind not in allowed:
        raise invalid(f"{where}.resourceType", f"expected {' or '.join(allowed)}", "structure")
    try:
        return model_class(kind).model_validate(raw)
    except (KeyError, TypeError) as exc:  # raised by fhir_core for shapes it cannot map
        # Most often a nested resource of a type FHIR R4 does not have: name where (the walk is only
        # made for input that failed, so valid input does not pay for it).
        unknown = _unknown_resource_type(raw, where)
        if unknown:
            raise invalid(unknown, "not a FHIR R4 resource type", "structure") from None
        raise invalid(where, f"does not parse as FHIR R4 {kind} ({type(exc).__name__})") from None
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False)[:MAX_ISSUES]:
            loc = tuple(err["loc"])
            if err["type"] == "extra_forbidden" and loc:  # never echo an unknown key: it may be a patient's name
                known = unknown_key(_path(where, loc[:-1]), _at(raw, loc[:-1]), loc[-1], "unknown element")
                issues.append(Issue(known.field, known.problem))
                continue
            issues.append(Issue(_path(where, loc), _diagnostics(err, err.get("input"))))
        raise FhirInputError(issues) from None


def _at(raw: Any, loc: tuple[Any, ...]) -> Any:
    """The value at a pydantic location inside `raw` (None when the location does not resolve)."""
    for part in loc:
        if isinstance(part, str) and part.startswith("function-"):
            continue
        try:
            raw = raw[part]
        except (KeyError, IndexError, TypeError):
            return None
    return raw


def dump(model: BaseModel) -> dict[str, Any]:
    """JSON-ready dict of a model (FHIR JSON: no nulls)."""
    return model.model_dump(mode="json", exclude_none=True, by_alias=True)
