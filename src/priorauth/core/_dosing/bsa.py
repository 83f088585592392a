"""Body surface area (BSA): Mosteller by default, DuBois or Haycock on request.

The formulas are the published ones; the plausible ranges and the rounding come from
the policy file (`dosing.plausible_ranges`, `dosing.bsa`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from priorauth.core._errors import RequestError
from priorauth.core._policy.dosing import Dosing, Range

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


def _within(field: str, value: float, bounds: Range, unit: str) -> None:
    if not float(bounds.min) <= value <= float(bounds.max):
        raise RequestError(
            field, f"implausible: expected {bounds.min} to {bounds.max} {unit}", "implausible_measurement"
        )


def round_bsa(value: float, rules: Dosing) -> Decimal:
    """Round half up to the policy's BSA decimals."""
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

    No cap applies unless `cap_m2` is given (the policy has none).
    """
    ranges = rules.plausible_ranges
    if bsa_m2 is not None:
        if height_cm is not None or weight_kg is not None:
            raise RequestError("bsa_m2", "give either bsa_m2 or height_cm and weight_kg, not both")
        if method is not None:
            raise RequestError("bsa_method", "applies only when BSA is computed from height and weight")
        raw = _number("bsa_m2", bsa_m2)
        used = "given"
    else:
        if height_cm is None or weight_kg is None:
            missing = "height_cm" if height_cm is None else "weight_kg"
            raise RequestError(missing, "required, unless the BSA is given", "missing_measurement")
        height = _number("height_cm", height_cm)
        weight = _number("weight_kg", weight_kg)
        _within("height_cm", height, ranges.height_cm, "cm")
        _within("weight_kg", weight, ranges.weight_kg, "kg")
        bmi = weight / (height / 100) ** 2
        if not float(ranges.bmi_kg_per_m2.min) <= bmi <= float(ranges.bmi_kg_per_m2.max):
            raise RequestError(
                "weight_kg",
                f"implausible for the height (body mass index outside {ranges.bmi_kg_per_m2.min} to "
                f"{ranges.bmi_kg_per_m2.max} kg/m2)",
                "implausible_measurement",
            )
        used = method or rules.bsa.default_method
        if used not in FORMULAS:
            raise RequestError("bsa_method", "not one of " + ", ".join(FORMULAS))
        raw = FORMULAS[used](height, weight)
    _within("bsa_m2", raw, ranges.bsa_m2, "m2")
    m2 = round_bsa(raw, rules)
    if cap_m2 is None:
        return BodySurfaceArea(m2, used, raw)
    cap_value = _number("bsa_cap_m2", cap_m2)
    _within("bsa_cap_m2", cap_value, ranges.bsa_m2, "m2")
    cap = round_bsa(cap_value, rules)
    return BodySurfaceArea(min(m2, cap), used, raw, capped=m2 > cap, cap_m2=cap)
