"""Sections V and VI: body surface area, cycle plans, units, vials, waste, dose checks."""

from priorauth.core._dosing.billing import UnitWindow, VialUse, busiest_window, vial_use
from priorauth.core._dosing.bsa import BodySurfaceArea, body_surface_area
from priorauth.core._dosing.check import DoseCheck, DoseDayCheck, DoseFinding, DoseOutcome, check_doses
from priorauth.core._dosing.cycle import (
    CycleEligibility,
    CycleRule,
    CycleSchedule,
    ScheduleChoice,
    choose_schedule,
    cycle_eligibility,
)
from priorauth.core._dosing.plan import DoseDay, DosePlan, LabelDose, UnitLimit, plan_doses
from priorauth.core._dosing.request import DosingRequest, RequestedDose, dosing_model, parse_dosing
from priorauth.core._dosing.response import Response, ResponseAssessment, classify_response

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
    "LabelDose",
    "RequestedDose",
    "Response",
    "ResponseAssessment",
    "ScheduleChoice",
    "UnitLimit",
    "UnitWindow",
    "VialUse",
    "body_surface_area",
    "busiest_window",
    "check_doses",
    "choose_schedule",
    "classify_response",
    "cycle_eligibility",
    "dosing_model",
    "parse_dosing",
    "plan_doses",
    "vial_use",
]
