"""Body surface area (BSA): Mosteller by default, DuBois or Haycock on request.

The formulas are the published ones; the plausible ranges and the rounding come from
the policy file (the ranges of `dosing.inputs`, and `dosing.bsa`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from priorauth.core._errors import ErrorCode, RequestError
from priorauth.core._policy.dosing import DoseInput, Dosing

BsaMethod = Literal["mosteller", "dubois", "haycock"]


def _mosteller(height_cm: float, weight_kg: float) -> float:
    # Mosteller RD. N Engl J Med 1987;317:1098.
    return math.sqrt(height_cm * weight_kg / 3600)


def _dubois(height_cm: float, weight_kg: float) -> float:
    # Du Bois D, Du Bois EF. Arch Intern Med 1916;17:863-71.
    return 0.007184 * weight_kg**0.425 * height_cm**0.725


def _haycock(height_cm: float, weight_kg: float) -> float:
    # Haycock GB et al. J Pediatr 1978;93:62-6.
    return 0.024265 * weight_kg**0.5378 * height_cm**0.3964


FORMULAS: dict[str, Callable[[float, float], float]] = {
    "mosteller": _mosteller,
    "dubois": _dubois,
    "haycock": _haycock,
}


@dataclass(frozen=True, slots=True)
class BodySurfaceArea:
    """The BSA a dose is computed from (`m2`, rounded) and how it was found."""

    m2: Decimal
    method: str  # a formula name, or "given" when the caller supplied the BSA
    unrounded: float
    capped: bool = False
    cap_m2: Decimal | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "m2": float(self.m2),
            "method": self.method,
            "unrounded": round(self.unrounded, 6),
            "capped": self.capped,
            "cap_m2": float(self.cap_m2) if self.cap_m2 is not None else None,
        }


def _number(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise RequestError(field, "expected a number")
    number = float(value)
    if not math.isfinite(number):
        raise RequestError(field, "expected a finite number")
    return number


def within(field: str, value: float, spec: DoseInput | None) -> None:
    """RequestError (implausible_measurement) when `value` is outside the input's declared range."""
    if spec is None or spec.min is None or spec.max is None:
        return
    if not float(spec.min) <= value <= float(spec.max):
        unit = f" {spec.unit}" if spec.unit else ""
        raise RequestError(field, f"implausible: expected {spec.min} to {spec.max}{unit}",
                           ErrorCode.IMPLAUSIBLE_MEASUREMENT)


def weight_of(rules: Dosing, weight_kg: Any) -> Decimal:
    """A given weight, checked against the declared range, as an exact decimal."""
    weight = _number("weight_kg", weight_kg)
    within("weight_kg", weight, rules.inputs.get("weight_kg"))
    return Decimal(repr(weight))


def round_bsa(value: float, rules: Dosing) -> Decimal:
    """Round half up to the policy's BSA decimals."""
    assert rules.bsa is not None
    step = Decimal(1).scaleb(-rules.bsa.decimals)
    return Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP)


def body_surface_area(
    rules: Dosing,
    *,
    height_cm: float | None = None,
    weight_kg: float | None = None,
    bsa_m2: float | None = None,
    method: str | None = None,
    cap_m2: float | None = None,
) -> BodySurfaceArea:
    """BSA from height and weight (or a given BSA), rounded; RequestError naming the bad field.

    No cap applies unless `cap_m2` is given. A weight given with the BSA is accepted only
    when the policy reads the weight itself (a weight band, a per-kg dose).
    """
    if rules.bsa is None:
        raise RequestError("bsa_m2", "this policy doses nothing per m2")
    inputs = rules.inputs
    if bsa_m2 is not None:
        if height_cm is not None or (weight_kg is not None and not rules.reads_weight):
            both = "height_cm and weight_kg" if not rules.reads_weight else "height_cm"
            raise RequestError("bsa_m2", f"give either bsa_m2 or {both}, not both")
        if method is not None:
            raise RequestError("bsa_method", "applies only when BSA is computed from height and weight")
        if weight_kg is not None:
            weight_of(rules, weight_kg)
        raw = _number("bsa_m2", bsa_m2)
        used = "given"
    else:
        if height_cm is None or weight_kg is None:
            missing = "height_cm" if height_cm is None else "weight_kg"
            raise RequestError(missing, "required, unless the BSA is given", ErrorCode.MISSING_MEASUREMENT)
        height = _number("height_cm", height_cm)
        weight = _number("weight_kg", weight_kg)
        within("height_cm", height, inputs.get("height_cm"))
        within("weight_kg", weight, inputs.get("weight_kg"))
        bmi = weight / (height / 100) ** 2
        bounds = rules.bsa.bmi_kg_per_m2
        if bounds is not None and not float(bounds.min) <= bmi <= float(bounds.max):
            raise RequestError(
                "weight_kg",
                f"implausible for the height (body mass index outside {bounds.min} to {bounds.max} kg/m2)",
                ErrorCode.IMPLAUSIBLE_MEASUREMENT,
            )
        used = method or rules.bsa.default_method
        if used not in FORMULAS:
            raise RequestError("bsa_method", "not one of " + ", ".join(FORMULAS))
        raw = FORMULAS[used](height, weight)
    within("bsa_m2", raw, inputs.get("bsa_m2"))
    m2 = round_bsa(raw, rules)
    if cap_m2 is None:
        return BodySurfaceArea(m2, used, raw)
    cap_value = _number("bsa_cap_m2", cap_m2)
    within("bsa_cap_m2", cap_value, inputs.get("bsa_cap_m2") or inputs.get("bsa_m2"))
    cap = round_bsa(cap_value, rules)
    return BodySurfaceArea(min(m2, cap), used, raw, capped=m2 > cap, cap_m2=cap)


@dataclass(frozen=True, slots=True)
class Body:
    """What the doses may rest on: the weight, the BSA, and the fields still needed for a BSA."""

    weight_kg: Decimal | None
    bsa: BodySurfaceArea | None
    bsa_missing: tuple[str, ...] = ()


def measure(rules: Dosing, request: Any) -> Body:
    """The request's measurements, checked (RequestError names a bad one); what is absent stays absent."""
    def given(name: str) -> Any:
        return getattr(request, name, None)

    weight = weight_of(rules, given("weight_kg")) if given("weight_kg") is not None else None
    if rules.bsa is None:
        return Body(weight, None)
    try:
        bsa = body_surface_area(rules, height_cm=given("height_cm"), weight_kg=given("weight_kg"),
                                bsa_m2=given("bsa_m2"), method=given("bsa_method"), cap_m2=given("bsa_cap_m2"))
    except RequestError as exc:
        if exc.code != ErrorCode.MISSING_MEASUREMENT:
            raise
        if {"height_cm", "weight_kg"} <= set(rules.inputs):
            missing = tuple(m for m in ("height_cm", "weight_kg") if given(m) is None)
        else:
            missing = ("bsa_m2",)
        return Body(weight, None, missing)
    return Body(weight, bsa)
