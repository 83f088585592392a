"""Section VI arithmetic: an amount (mg or mcg) -> HCPCS billable units, single-dose vials, discarded drug.

Administered drug rounds up to a whole unit; discarded drug is reported in whole units
rounded down (JW), or JZ when no whole unit is discarded. So administered units plus
discarded units always equal the units in the vials opened. All sizes come from the
policy file (`billing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from priorauth.core._codes import NdcError, match_ndc, ndc_matches, normalize_hcpcs
from priorauth.core._errors import RequestError
from priorauth.core._policy.billing import MG_PER, Billing, NdcProduct


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def units_for(amount: Decimal, billing: Billing) -> int:
    """Billable units for an administered amount (in the HCPCS amount unit): rounded up to a whole unit."""
    return _ceil(amount / billing.hcpcs.unit_amount)


def units_per_vial(billing: Billing, product: NdcProduct | None = None) -> int:
    product = product or billing.ndc[0]
    return int(product.vial / billing.hcpcs.unit_amount)


@dataclass(frozen=True, slots=True)
class VialUse:
    """One dose as billed: amount administered (in `unit`), units, vials opened, drug discarded."""

    amount: Decimal
    unit: str
    units: int
    vials: int
    discarded_amount: Decimal
    discarded_units: int
    modifier: str

    @property
    def mg(self) -> Decimal:
        return self.amount * MG_PER[self.unit]

    @property
    def discarded_mg(self) -> Decimal:
        return self.discarded_amount * MG_PER[self.unit]

    @property
    def billed_units(self) -> int:
        """Administered plus discarded units: every unit on the claim."""
        return self.units + self.discarded_units

    def limit_units(self, waste_counts: bool) -> int:
        """Units counted toward the Section II limit."""
        return self.billed_units if waste_counts else self.units

    def to_dict(self) -> dict[str, Any]:
        return {
            self.unit: float(self.amount),
            "units": self.units,
            "vials": self.vials,
            f"discarded_{self.unit}": float(self.discarded_amount),
            "discarded_units": self.discarded_units,
            "modifier": self.modifier,
            "billed_units": self.billed_units,
        }


def vial_use(amount: Decimal, billing: Billing, product: NdcProduct | None = None) -> VialUse:
    """Units, vials and waste for administering `amount` (HCPCS amount unit) from single-dose vials."""
    if amount < 0:
        raise ValueError("a dose cannot be negative")
    product = product or billing.ndc[0]
    unit = billing.hcpcs.unit_amount
    vial = product.vial
    vials = _ceil(amount / vial)
    discarded = vials * vial - amount
    discarded_units = _floor(discarded / unit)
    modifier = billing.modifiers.discarded if discarded_units > 0 else billing.modifiers.none_discarded
    return VialUse(amount, billing.hcpcs.amount_unit, units_for(amount, billing), vials, discarded,
                   discarded_units, modifier)


@dataclass(frozen=True, slots=True)
class UnitWindow:
    """The busiest window of `days` days and its units against the limit (Section II)."""

    first_day: int
    last_day: int
    units: int
    limit: int

    @property
    def within_limit(self) -> bool:
        return self.units <= self.limit

    def to_dict(self) -> dict[str, Any]:
        return {
            "first_day": self.first_day,
            "last_day": self.last_day,
            "units": self.units,
            "limit": self.limit,
            "within_limit": self.within_limit,
        }


def busiest_window(day_units: list[tuple[int, int]], window_days: int, limit: int) -> UnitWindow:
    """The window of `window_days` days (starting on a dose day) with the most units.

    Any window's doses are also inside the window that starts on its first dose day,
    so those windows are enough.
    """
    best = UnitWindow(1, window_days, 0, limit)
    for start, _ in sorted(day_units):
        end = start + window_days - 1
        total = sum(units for day, units in day_units if start <= day <= end)
        if total > best.units:
            best = UnitWindow(start, end, total, limit)
    return best


def room_on(day: int, allocated: list[tuple[int, int]], window_days: int, limit: int) -> int:
    """Units that can still go on `day` without any window exceeding the limit."""
    room = limit
    for start, _ in allocated:
        if start <= day <= start + window_days - 1:
            used = sum(units for d, units in allocated if start <= d <= day)
            room = min(room, limit - used)
    return max(room, 0)


def product_for_ndc(value: str, billing: Billing, field: str = "ndc") -> NdcProduct | None:
    """The policy's product an NDC denotes, or None when it is another product.

    Ten digits without hyphens are accepted when exactly one reading is a policy product.
    """
    try:
        reading = match_ndc(value, (p.pattern for p in billing.ndc))  # the claim edit's reading too
    except NdcError as exc:
        raise RequestError(field, str(exc)) from None
    return next((p for p in billing.ndc if reading is not None and ndc_matches(reading, p.pattern)), None)


def hcpcs_matches(value: str, billing: Billing, field: str = "hcpcs") -> bool:
    try:
        return normalize_hcpcs(value) == billing.hcpcs.code
    except ValueError as exc:
        raise RequestError(field, str(exc)) from None
