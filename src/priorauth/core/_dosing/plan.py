"""A cycle's dose plan: BSA, mg per dose day, units, vials, waste, and the unit limit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from priorauth.core._dosing.billing import UnitWindow, VialUse, busiest_window, vial_use
from priorauth.core._dosing.bsa import BodySurfaceArea, body_surface_area
from priorauth.core._dosing.cycle import CycleEligibility, CycleSchedule, cycle_eligibility, cycle_schedule
from priorauth.core._dosing.response import Response
from priorauth.core._errors import RequestError
from priorauth.core._policy.policy import Policy
from priorauth.core._policy.registry import load_policy
from priorauth.core._policy.version import PolicyVersion


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


def unit_limit(version: PolicyVersion) -> UnitLimit:
    return UnitLimit(
        version.parameter("max_units"),
        version.parameter("unit_window_days"),
        version.parameter("waste_counts_toward_limit"),
        version.parameters["max_units"].section,
    )


def version_of(policy: Policy | PolicyVersion | str, on: dt.date | None) -> PolicyVersion:
    """The version to dose under: the one given, or the one in force on `on` (the latest when None)."""
    if isinstance(policy, str):
        policy = load_policy(policy)
    if isinstance(policy, PolicyVersion):
        return policy
    return policy.in_force(on)


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
    policy: PolicyVersion,
    bsa: BodySurfaceArea,
    cycle: int,
    response: Response | None,
    eligibility: CycleEligibility,
    schedule: CycleSchedule,
) -> DosePlan:
    billing = policy.billing
    product = billing.ndc[0]
    days = tuple(
        DoseDay(day, per_m2, vial_use(per_m2 * bsa.m2, billing, product))
        for day, per_m2 in sorted(schedule.doses_mg_per_m2.items())
    )
    limit = unit_limit(policy)
    window = busiest_window([(d.day, d.billing.limit_units(limit.waste_counts)) for d in days],
                            limit.window_days, limit.max_units)
    return DosePlan(policy.id, policy.version, cycle, response, bsa, schedule, eligibility, days, limit,
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
    policy: Policy | PolicyVersion | str,
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
    version = version_of(policy, on)
    if version.dosing is None:
        raise RequestError("policy", f"policy {version.id} has no dosing rules")
    if isinstance(cycle, bool) or not isinstance(cycle, int) or cycle < 1:
        raise RequestError("cycle", "expected a cycle number of 1 or more")
    chosen = _response(response)
    bsa = body_surface_area(version.dosing, height_cm=height_cm, weight_kg=weight_kg, bsa_m2=bsa_m2,
                            method=bsa_method, cap_m2=bsa_cap_m2)
    schedule = cycle_schedule(version.dosing, cycle, chosen)
    if schedule is None:
        raise RequestError("response", "required from cycle 2 on: the dose depends on whether CR or CRi was reached",
                           "missing_response")
    eligibility = cycle_eligibility(version.dosing, cycle, chosen, proceeding_to_hsct, mrd_negative)
    return build_plan(version, bsa, cycle, chosen, eligibility, schedule)
