"""Sections V and VI: body surface area, cycle plans, units, vials, waste, dose checks."""

from priorauth.core._dosing.billing import UnitWindow, VialUse, busiest_window, vial_use
from priorauth.core._dosing.bsa import BodySurfaceArea, body_surface_area
from priorauth.core._dosing.check import DoseCheck, DoseDayCheck, DoseFinding, DoseOutcome, check_doses
from priorauth.core._dosing.cycle import CycleEligibility, CycleRule, CycleSchedule, cycle_eligibility, cycle_schedule
from priorauth.core._dosing.plan import DoseDay, DosePlan, UnitLimit, plan_doses
from priorauth.core._dosing.request import DosingRequest, RequestedDose, parse_dosing
from priorauth.core._dosing.response import Labs, Response, ResponseAssessment, classify_response

__all__ = [
    "BodySurfaceArea",
    "CycleEligibility",
    "CycleRule",
    "CycleSchedule",
    "DoseCheck",
    "DoseDay",
    "DoseDayCheck",
    "DoseFinding",
    "DoseOutcome",
    "DosePlan",
    "DosingRequest",
    "Labs",
    "RequestedDose",
    "Response",
    "ResponseAssessment",
    "UnitLimit",
    "UnitWindow",
    "VialUse",
    "body_surface_area",
    "busiest_window",
    "check_doses",
    "classify_response",
    "cycle_eligibility",
    "cycle_schedule",
    "parse_dosing",
    "plan_doses",
    "vial_use",
]
