"""Sections V and VI: body surface area, cycle plans, units, vials, waste, dose checks."""

from priorauth.dosing.billing import UnitWindow, VialUse, busiest_window, vial_use
from priorauth.dosing.bsa import BodySurfaceArea, body_surface_area
from priorauth.dosing.check import DoseCheck, DoseDayCheck, DoseFinding, DoseOutcome, check_doses
from priorauth.dosing.cycle import CycleEligibility, CycleRule, CycleSchedule, cycle_eligibility, cycle_schedule
from priorauth.dosing.plan import DoseDay, DosePlan, UnitLimit, plan_doses
from priorauth.dosing.request import DosingRequest, RequestedDose, parse_dosing
from priorauth.dosing.response import Labs, Response, ResponseAssessment, classify_response

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
