"""The `dosing` block of a request: the fields its policy declares (Section V `inputs`), validated.

Every block may carry `doses` (each a day and an amount in the policy's dose unit, or in
HCPCS units), `ndc` and `hcpcs`; the other fields are the policy's dose inputs. Errors name
the field, never its value.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
    model_validator,
)

from priorauth.core._errors import ErrorCode, RequestError, field_name, problem_text
from priorauth.core._policy.dosing import DoseInput, Dosing
from priorauth.core._policy.version import PolicyVersion

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
# The largest amount one requested dose may name, per unit (1 g).
MAX_DOSE = {"mg": 1_000, "mcg": 1_000_000}
MAX_DOSE_DAYS = 366


class RequestedDose(BaseModel):
    """One requested dose: a day of the cycle and an amount in the dose unit (`mg`, `mcg`) or in HCPCS units.

    A policy's model uses the subclass of its dose unit, which refuses any other field.
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    amount_unit: ClassVar[str] = ""

    day: StrictInt = Field(ge=1, le=MAX_DOSE_DAYS)
    units: Annotated[StrictInt, Field(gt=0, le=1_000_000)] | None = None

    @property
    def amount(self) -> float | None:
        """The amount asked in the dose unit (None when asked in units)."""
        value = getattr(self, self.amount_unit, None) if self.amount_unit else None
        return float(value) if value is not None else None

    @model_validator(mode="after")
    def _one_amount(self) -> RequestedDose:
        if self.amount_unit and (self.amount is None) == (self.units is None):
            raise ValueError(f"give exactly one of {self.amount_unit} or units")
        return self


class DoseInMg(RequestedDose):
    model_config = ConfigDict(extra="forbid", frozen=True)
    amount_unit: ClassVar[str] = "mg"
    mg: Annotated[Number, Field(gt=0, le=MAX_DOSE["mg"])] | None = None


class DoseInMcg(RequestedDose):
    model_config = ConfigDict(extra="forbid", frozen=True)
    amount_unit: ClassVar[str] = "mcg"
    mcg: Annotated[Number, Field(gt=0, le=MAX_DOSE["mcg"])] | None = None


DOSE_MODELS: dict[str, type[RequestedDose]] = {"mg": DoseInMg, "mcg": DoseInMcg}


class DosingRequest(BaseModel):
    """A request's `dosing` block. Each policy version has its own model (`dosing_model`), a
    subclass that declares the policy's dose inputs and refuses any other field; this base
    describes what every block has."""

    model_config = ConfigDict(extra="allow", frozen=True)

    cycle: StrictInt | None = Field(default=None, ge=1)
    ndc: Annotated[StrictStr, Field(min_length=1, max_length=20)] | None = None
    hcpcs: Annotated[StrictStr, Field(min_length=1, max_length=10)] | None = None
    doses: Annotated[list[RequestedDose], Field(min_length=1)] | None = None

    def value(self, name: str) -> Any:
        """A dose input's value (None when absent: unknown)."""
        return getattr(self, name, None)

    @model_validator(mode="after")
    def _consistent(self) -> DosingRequest:
        if self.doses is not None:
            days = [d.day for d in self.doses]
            if len(days) != len(set(days)):
                raise ValueError("doses: each day at most once")
            if self.cycle is None:
                raise ValueError("cycle: required when doses are given")
        return self


class _PolicyDosing(DosingRequest):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace("-", "_").split("_"))


def _bounds(spec: DoseInput) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.min is not None:
        out["minimum"] = float(spec.min)
    if spec.max is not None:
        out["maximum"] = float(spec.max)
    if spec.unit:
        out["unit"] = spec.unit
    return out


def _field_type(name: str, spec: DoseInput, model_name: str) -> Any:
    if spec.type == "number":
        # The range is checked after parsing, as an implausible measurement (`check_ranges`).
        return Annotated[Number, Field(json_schema_extra=_bounds(spec) or None)]
    if spec.type == "integer":
        lo = int(spec.min) if spec.min is not None else None
        hi = int(spec.max) if spec.max is not None else None
        return Annotated[StrictInt, Field(ge=lo, le=hi)]
    if spec.type == "boolean":
        return StrictBool
    if spec.type == "choice":
        return Literal[tuple(spec.values or ())]
    fields: dict[str, Any] = {}
    for field, sub in (spec.fields or {}).items():
        kind = _field_type(field, sub, model_name)
        if sub.default is None:
            fields[field] = (kind, Field(description=sub.text))
        else:
            fields[field] = (kind, Field(default=sub.default, description=sub.text))
    return create_model(f"{model_name}{_camel(name)}", __config__=ConfigDict(extra="forbid", frozen=True), **fields)


def build_dosing_model(version: PolicyVersion) -> type[DosingRequest]:
    """The pydantic model of a `dosing` block under `version` (every input optional: None = unknown)."""
    rules = version.dosing
    assert rules is not None
    name = f"{_camel(version.id)}Dosing"
    fields: dict[str, Any] = {
        n: (_field_type(n, spec, name) | None, Field(default=None, description=spec.text))
        for n, spec in rules.inputs.items()
    }
    most_days = max(31, *(len(s.dose_days) for s in rules.schedules))
    dose = DOSE_MODELS[rules.unit]
    fields["doses"] = (Annotated[list[dose], Field(min_length=1, max_length=most_days)] | None, None)  # type: ignore[valid-type]
    model: type[DosingRequest] = create_model(name, __base__=_PolicyDosing, **fields)
    return model


def dosing_model(version: PolicyVersion) -> type[DosingRequest]:
    """The version's `dosing` block model (built once per version); RequestError without Section V rules."""
    rules = version.dosing
    if rules is None:
        raise RequestError("dosing", f"policy {version.id} has no dosing rules")
    if rules._request_model is None:
        rules._request_model = build_dosing_model(version)
    model: type[DosingRequest] = rules._request_model
    return model


def _numbers(rules: Dosing, parsed: DosingRequest) -> Iterator[tuple[str, float, DoseInput]]:
    for name, spec in rules.inputs.items():
        value = parsed.value(name)
        if value is None:
            continue
        if spec.type == "number":
            yield name, value, spec
        for field, sub in (spec.fields or {}).items():
            inner = getattr(value, field, None)
            if sub.type == "number" and inner is not None:
                yield f"{name}.{field}", inner, sub


def check_ranges(rules: Dosing, parsed: DosingRequest, prefix: str) -> None:
    """RequestError (implausible_measurement) for a number outside its declared range."""
    for name, value, spec in _numbers(rules, parsed):
        if spec.min is None or spec.max is None:
            continue
        if not (math.isfinite(value) and Decimal(repr(value)) >= spec.min and Decimal(repr(value)) <= spec.max):
            unit = f" {spec.unit}" if spec.unit else ""
            raise RequestError(field_name(prefix, name.split(".")), f"implausible: expected {spec.min} to "
                               f"{spec.max}{unit}", ErrorCode.IMPLAUSIBLE_MEASUREMENT)


def validate_block(version: PolicyVersion, raw: Any, prefix: str = "dosing") -> DosingRequest:
    """A validated block; RequestError naming the first bad field under `prefix`."""
    model = dosing_model(version)
    if not isinstance(raw, dict):
        raise RequestError(prefix or "dosing", "expected an object")
    try:
        parsed = model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        kind = err["type"]
        if kind == "literal_error":
            problem = "not one of " + err["ctx"]["expected"].replace("'", "")
        elif kind == "value_error":
            text = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
            name, _, rest = text.partition(": ")
            if rest and name in model.model_fields:
                loc, text = (*loc, name), rest
            problem = text
        else:
            problem = problem_text(kind, err["msg"])
        raise RequestError(field_name(prefix, loc) if loc else (prefix or "dosing"), problem) from None
    assert version.dosing is not None
    check_ranges(version.dosing, parsed, prefix)
    return parsed


def parse_dosing(policy: PolicyVersion, raw: Any) -> DosingRequest:
    """A validated `dosing` block; RequestError naming the first bad field (never its value)."""
    if isinstance(raw, DosingRequest):
        return raw
    parsed = validate_block(policy, raw)
    if parsed.ndc is not None or parsed.hcpcs is not None:
        from priorauth.core._dosing.billing import hcpcs_matches, product_for_ndc

        if parsed.ndc is not None:
            product_for_ndc(parsed.ndc, policy.billing, "dosing.ndc")  # malformed -> RequestError
        if parsed.hcpcs is not None:
            hcpcs_matches(parsed.hcpcs, policy.billing, "dosing.hcpcs")
    return parsed
