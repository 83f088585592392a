"""A cycle's dose plan: BSA, mg per dose day, units, vials, waste, and the unit limit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from priorauth.dosing.billing import UnitWindow, VialUse, busiest_window, vial_use
from priorauth.dosing.bsa import BodySurfaceArea, body_surface_area
from priorauth.dosing.cycle import CycleEligibility, CycleSchedule, cycle_eligibility, cycle_schedule
from priorauth.dosing.response import Response
from priorauth.errors import RequestError
from priorauth.policy.registry import load_policy
from priorauth.policy.schema import Policy


@dataclass(frozen=True, slots=True)
class DoseDay:
    """One dose day: label dose for the BSA and how it is billed."""

    day: int
    mg_per_m2: Decimal
    billing: VialUse

    @property
    def mg(self) -> Decimal:
        return self.billing.mg

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day, "mg_per_m2": float(self.mg_per_m2), **self.billing.to_dict()}


@dataclass(frozen=True, slots=True)
class UnitLimit:
    """Section II limit in force: units per window, and whether discarded units count."""

    max_units: int
    window_days: int
    waste_counts: bool
    section: str

    def to_dict(self) -> dict[str, Any]:
        return {"max_units": self.max_units, "window_days": self.window_days,
                "waste_counts_toward_limit": self.waste_counts, "section": self.section}


def unit_limit(policy: Policy, day: dt.date) -> UnitLimit:
    return UnitLimit(
        policy.parameter("max_units", day),
        policy.parameter("unit_window_days", day),
        policy.parameter("waste_counts_toward_limit", day),
        policy.parameters["max_units"].section,
    )


def version_day(policy: Policy, on: dt.date | None) -> dt.date:
    """The effective date of the version in force on `on` (the latest version when None)."""
    if on is None:
        return max(v.effective for v in policy.versions)
    version = policy.version_on(on)
    if version is None:
        raise RequestError("request_date", "before the first version of the policy", "no_policy_version")
    return version


@dataclass(frozen=True, slots=True)
class DosePlan:
    """The label doses of one cycle for one patient, billed, with the Section V rules."""

    policy: str
    policy_version: str
    cycle: int
    response: Response | None
    bsa: BodySurfaceArea
    schedule: CycleSchedule
    eligibility: CycleEligibility
    days: tuple[DoseDay, ...]
    limit: UnitLimit
    window: UnitWindow
    hcpcs: str
    ndc_pattern: str
    vial_mg: Decimal
    mg_per_unit: Decimal

    @property
    def total_mg(self) -> Decimal:
        return sum((d.mg for d in self.days), Decimal(0))

    @property
    def total_units(self) -> int:
        return sum(d.billing.units for d in self.days)

    @property
    def total_discarded_units(self) -> int:
        return sum(d.billing.discarded_units for d in self.days)

    @property
    def total_vials(self) -> int:
        return sum(d.billing.vials for d in self.days)

    @property
    def within_limit(self) -> bool:
        return self.window.within_limit

    def to_dict(self) -> dict[str, Any]:
        s = self.schedule
        return {
            "policy": self.policy,
            "policy_version": self.policy_version,
            "cycle": self.cycle,
            "response": self.response.value if self.response else None,
            "bsa": self.bsa.to_dict(),
            "schedule": {
                "section": s.section,
                "basis": s.basis,
                "length_days": s.length_days,
                "extended_length_days": s.extended_length_days,
                "extension_when": s.extension_when,
            },
            "may_be_given": self.eligibility.to_dict(),
            "hcpcs": self.hcpcs,
            "ndc_pattern": self.ndc_pattern,
            "vial_mg": float(self.vial_mg),
            "mg_per_unit": float(self.mg_per_unit),
            "days": [d.to_dict() for d in self.days],
            "totals": {
                "mg": float(self.total_mg),
                "units": self.total_units,
                "discarded_units": self.total_discarded_units,
                "billed_units": self.total_units + self.total_discarded_units,
                "vials": self.total_vials,
            },
            "unit_limit": {**self.limit.to_dict(), "busiest_window": self.window.to_dict()},
        }


def build_plan(
    policy: Policy,
    bsa: BodySurfaceArea,
    cycle: int,
    response: Response | None,
    eligibility: CycleEligibility,
    schedule: CycleSchedule,
    version: dt.date,
) -> DosePlan:
    billing = policy.billing
    product = billing.ndc[0]
    days = tuple(
        DoseDay(day, per_m2, vial_use(per_m2 * bsa.m2, billing, product))
        for day, per_m2 in sorted(schedule.doses_mg_per_m2.items())
    )
    limit = unit_limit(policy, version)
    window = busiest_window([(d.day, d.billing.limit_units(limit.waste_counts)) for d in days],
                            limit.window_days, limit.max_units)
    return DosePlan(policy.id, version.isoformat(), cycle, response, bsa, schedule, eligibility, days, limit,
                    window, billing.hcpcs.code, product.pattern, Decimal(str(product.vial_mg)),
                    Decimal(str(billing.hcpcs.mg_per_unit)))


def _response(value: Response | str | None) -> Response | None:
    if value is None or isinstance(value, Response):
        return value
    try:
        return Response(value)
    except ValueError:
        raise RequestError("response", "not one of " + ", ".join(r.value for r in Response)) from None


def plan_doses(
    policy: Policy | str = "besponsa",
    *,
    height_cm: float | None = None,
    weight_kg: float | None = None,
    bsa_m2: float | None = None,
    bsa_method: str | None = None,
    bsa_cap_m2: float | None = None,
    cycle: int = 1,
    response: Response | str | None = None,
    proceeding_to_hsct: bool | None = None,
    mrd_negative: bool | None = None,
    on: dt.date | None = None,
) -> DosePlan:
    """The dose plan of one cycle (Sections V, VI, II); RequestError naming a bad argument.

    `response` is the best response so far (`CR`, `CRi`, `none`); it is needed from
    cycle 2 on, where the dose depends on it. `on` picks the policy version (default:
    the latest).
    """
    if isinstance(policy, str):
        policy = load_policy(policy)
    if isinstance(cycle, bool) or not isinstance(cycle, int) or cycle < 1:
        raise RequestError("cycle", "expected a cycle number of 1 or more")
    chosen = _response(response)
    bsa = body_surface_area(policy.dosing, height_cm=height_cm, weight_kg=weight_kg, bsa_m2=bsa_m2,
                            method=bsa_method, cap_m2=bsa_cap_m2)
    schedule = cycle_schedule(policy.dosing, cycle, chosen)
    if schedule is None:
        raise RequestError("response", "required from cycle 2 on: the dose depends on whether CR or CRi was reached",
                           "missing_response")
    eligibility = cycle_eligibility(policy.dosing, cycle, chosen, proceeding_to_hsct, mrd_negative)
    return build_plan(policy, bsa, cycle, chosen, eligibility, schedule, version_day(policy, on))
