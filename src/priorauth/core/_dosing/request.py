"""The `dosing` block of a request: validated by pydantic, errors naming the field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, model_validator

from priorauth.core._errors import RequestError
from priorauth.core._policy.version import PolicyVersion

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestedDose(_Block):
    """One requested dose: a day of the cycle and an amount in mg or in HCPCS units."""

    day: StrictInt = Field(ge=1, le=366)
    mg: Annotated[Number, Field(gt=0, le=1000)] | None = None
    units: Annotated[StrictInt, Field(gt=0, le=10_000)] | None = None

    @model_validator(mode="after")
    def _one_amount(self) -> RequestedDose:
        if (self.mg is None) == (self.units is None):
            raise ValueError("give exactly one of mg or units")
        return self


class LabValues(_Block):
    """Findings for the response classification; counts in x10^9/L."""

    marrow_blasts_percent: Annotated[Number, Field(ge=0, le=100)]
    peripheral_blasts: StrictBool
    platelets: Annotated[Number, Field(ge=0, le=10_000)]
    anc: Annotated[Number, Field(ge=0, le=1_000)]
    extramedullary_resolved: StrictBool = True


class DosingRequest(_Block):
    """Patient measurements, cycle, response and the doses requested for the cycle."""

    height_cm: Number | None = None
    weight_kg: Number | None = None
    bsa_m2: Number | None = None
    bsa_method: Literal["mosteller", "dubois", "haycock"] | None = None
    bsa_cap_m2: Number | None = None
    cycle: Annotated[StrictInt, Field(ge=1, le=100)] | None = None
    response: Literal["CR", "CRi", "none"] | None = None
    labs: LabValues | None = None
    proceeding_to_hsct: StrictBool | None = None
    mrd_negative: StrictBool | None = None
    ndc: Annotated[StrictStr, Field(min_length=1, max_length=20)] | None = None
    hcpcs: Annotated[StrictStr, Field(min_length=1, max_length=10)] | None = None
    doses: Annotated[list[RequestedDose], Field(min_length=1, max_length=31)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DosingRequest:
        if self.doses is not None:
            days = [d.day for d in self.doses]
            if len(days) != len(set(days)):
                raise ValueError("doses: each day at most once")
            if self.cycle is None:
                raise ValueError("cycle: required when doses are given")
        return self


_PROBLEMS = {
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


def _field(loc: tuple[Any, ...]) -> str:
    out = "dosing"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def parse_dosing(policy: PolicyVersion, raw: Any) -> DosingRequest:
    """A validated `dosing` block; RequestError naming the first bad field (never its value)."""
    if not isinstance(raw, dict):
        raise RequestError("dosing", "expected an object")
    try:
        parsed = DosingRequest.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        kind = err["type"]
        if kind == "literal_error":
            problem = "not one of " + err["ctx"]["expected"].replace("'", "")
        elif kind == "value_error":
            text = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
            name, _, rest = text.partition(": ")
            if rest and name in DosingRequest.model_fields:
                loc, text = (*loc, name), rest
            problem = text
        else:
            problem = _PROBLEMS.get(kind, err["msg"].lower())
        raise RequestError(_field(loc), problem) from None
    if parsed.ndc is not None or parsed.hcpcs is not None:
        from priorauth.core._dosing.billing import hcpcs_matches, product_for_ndc

        if parsed.ndc is not None:
            product_for_ndc(parsed.ndc, policy.billing, "dosing.ndc")  # malformed -> RequestError
        if parsed.hcpcs is not None:
            hcpcs_matches(parsed.hcpcs, policy.billing, "dosing.hcpcs")
    return parsed
