"""The dose check of a request: requested doses against the label dose and the unit limit.

Outcomes follow the X12 278 review actions: approved (A1), approved with modification
(A6: the allowed amounts are given), denied (A3), pended (A4: inputs still needed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from typing import Any

from priorauth.core._dosing.billing import (
    UnitWindow,
    VialUse,
    busiest_window,
    hcpcs_matches,
    product_for_ndc,
    room_on,
    units_for_mg,
    units_per_vial,
    vial_use,
)
from priorauth.core._dosing.bsa import BodySurfaceArea, body_surface_area
from priorauth.core._dosing.cycle import CycleEligibility, cycle_eligibility, cycle_schedule
from priorauth.core._dosing.plan import UnitLimit, unit_limit, version_of
from priorauth.core._dosing.request import DosingRequest, parse_dosing
from priorauth.core._dosing.response import Labs, Response, ResponseAssessment, classify_response
from priorauth.core._errors import RequestError
from priorauth.core._logic import MET, NOT_MET, UNKNOWN, Truth
from priorauth.core._policy.policy import Policy
from priorauth.core._policy.version import PolicyVersion


class DoseOutcome(StrEnum):
    APPROVED = "approved"
    MODIFIED = "approved_with_modification"
    DENIED = "denied"
    PENDED = "pended"

    @property
    def x12_action(self) -> str:
        """X12 278 HCR01 action code."""
        return {"approved": "A1", "approved_with_modification": "A6", "denied": "A3", "pended": "A4"}[self.value]


@dataclass(frozen=True, slots=True)
class DoseFinding:
    """One reason of a dose check, with the policy section it comes from."""

    rule: str
    section: str
    status: Truth
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "section": self.section, "status": self.status.value, "text": self.text}


@dataclass(frozen=True, slots=True)
class DoseDayCheck:
    """A requested dose day: requested, label, highest acceptable and allowed amounts."""

    day: int
    requested_mg: Decimal
    requested_units: int
    label_mg: Decimal
    max_mg: Decimal
    allowed: VialUse
    status: str  # "approved" or "modified"

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "requested_mg": float(self.requested_mg),
            "requested_units": self.requested_units,
            "label_mg": float(self.label_mg),
            "max_mg": float(self.max_mg),
            "allowed_mg": float(self.allowed.mg),
            "allowed_units": self.allowed.units,
            "allowed_vials": self.allowed.vials,
            "discarded_units": self.allowed.discarded_units,
            "modifier": self.allowed.modifier,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class DoseCheck:
    """The outcome of checking a request's doses for one cycle."""

    outcome: DoseOutcome
    cycle: int
    response: Response | None
    response_assessment: ResponseAssessment | None
    bsa: BodySurfaceArea | None
    eligibility: CycleEligibility | None
    days: tuple[DoseDayCheck, ...]
    limit: UnitLimit
    window: UnitWindow | None
    reasons: tuple[DoseFinding, ...]
    missing: tuple[str, ...] = ()

    @property
    def x12_action(self) -> str:
        return self.outcome.x12_action

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "x12_action": self.x12_action,
            "cycle": self.cycle,
            "response": self.response.value if self.response else None,
            "response_assessment": self.response_assessment.to_dict() if self.response_assessment else None,
            "bsa": self.bsa.to_dict() if self.bsa else None,
            "may_be_given": self.eligibility.to_dict() if self.eligibility else None,
            "days": [d.to_dict() for d in self.days],
            "totals": {
                "requested_units": sum(d.requested_units for d in self.days),
                "allowed_units": sum(d.allowed.units for d in self.days),
                "allowed_billed_units": sum(d.allowed.billed_units for d in self.days),
            },
            "unit_limit": {**self.limit.to_dict(), "busiest_window": self.window.to_dict() if self.window else None},
            "reasons": [r.to_dict() for r in self.reasons],
            "missing": list(self.missing),
        }


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _response(request: DosingRequest, rules) -> tuple[Response | None, ResponseAssessment | None]:
    given = Response(request.response) if request.response is not None else None
    if request.labs is None:
        return given, None
    labs = request.labs
    assessment = classify_response(
        Labs(labs.marrow_blasts_percent, labs.peripheral_blasts, labs.platelets, labs.anc,
             labs.extramedullary_resolved),
        rules.response_definitions,
    )
    if given is not None and given is not assessment.response:
        raise RequestError("dosing.response", "contradicts the response classified from dosing.labs",
                           "inconsistent_facts")
    return assessment.response, assessment


def _bsa(policy: PolicyVersion, request: DosingRequest) -> tuple[BodySurfaceArea | None, tuple[str, ...]]:
    try:
        bsa = body_surface_area(policy.dosing, height_cm=request.height_cm, weight_kg=request.weight_kg,
                                bsa_m2=request.bsa_m2, method=request.bsa_method, cap_m2=request.bsa_cap_m2)
    except RequestError as exc:
        if exc.code == "missing_measurement":
            missing = tuple(f"dosing.{m}" for m in ("height_cm", "weight_kg") if getattr(request, m) is None)
            return None, missing
        raise RequestError(f"dosing.{exc.field}", exc.problem, exc.code) from None
    return bsa, ()


def _code_findings(policy: PolicyVersion, request: DosingRequest) -> list[DoseFinding]:
    billing = policy.billing
    out = []
    if request.ndc is not None and product_for_ndc(request.ndc, billing, "dosing.ndc") is None:
        patterns = ", ".join(p.pattern for p in billing.ndc)
        out.append(DoseFinding("ndc", billing.section, NOT_MET,
                               f"The NDC is not a product of this policy ({patterns})."))
    if request.hcpcs is not None and not hcpcs_matches(request.hcpcs, billing, "dosing.hcpcs"):
        out.append(DoseFinding("hcpcs", billing.section, NOT_MET,
                               f"The HCPCS code is not {billing.hcpcs.code}, the code of this drug."))
    return out


def _check_for_response(
    policy: PolicyVersion,
    request: DosingRequest,
    bsa: BodySurfaceArea | None,
    bsa_missing: tuple[str, ...],
    response: Response | None,
    assessment: ResponseAssessment | None,
) -> DoseCheck:
    rules = policy.dosing
    billing = policy.billing
    assert request.cycle is not None and request.doses is not None
    cycle = request.cycle
    limit = unit_limit(policy)
    eligibility = cycle_eligibility(rules, cycle, response, request.proceeding_to_hsct, request.mrd_negative)
    schedule = cycle_schedule(rules, cycle, response)
    assert schedule is not None

    def result(outcome, reasons, days=(), window=None, missing=()):
        return DoseCheck(outcome, cycle, response, assessment, bsa, eligibility, tuple(days), limit, window,
                         tuple(reasons), tuple(missing))

    denials = _code_findings(policy, request)
    denials += [DoseFinding(r.rule, r.section, NOT_MET, f"{r.text} ({r.why})")
                for r in eligibility.rules if r.status is NOT_MET and eligibility.status is NOT_MET]
    dose_days = ", ".join(str(d) for d in rules.dose_days)
    for dose in request.doses:
        if dose.day not in schedule.doses_mg_per_m2:
            denials.append(DoseFinding("dose_schedule", schedule.section, NOT_MET,
                                       f"Day {dose.day} is not a dose day of the cycle (days {dose_days})."))
    if denials:
        return result(DoseOutcome.DENIED, denials)
    missing = tuple(f"dosing.{m}" for m in eligibility.missing) + bsa_missing
    if eligibility.status is UNKNOWN or bsa is None:
        pending = [DoseFinding(r.rule, r.section, UNKNOWN, f"{r.text} ({r.why})")
                   for r in eligibility.rules if r.status is UNKNOWN]
        if bsa is None:
            pending.append(DoseFinding("dose_amount", rules.section, UNKNOWN,
                                       "The label dose is per m2: height and weight (or BSA) are needed."))
        return result(DoseOutcome.PENDED, pending, missing=missing)

    unit = Decimal(str(billing.hcpcs.mg_per_unit))
    vial = Decimal(str(billing.ndc[0].vial_mg))
    per_vial = units_per_vial(billing)
    tolerance = _dec(policy.parameter("dose_rounding_tolerance"))
    findings: list[DoseFinding] = []
    checked: list[DoseDayCheck] = []
    allocated: list[tuple[int, int]] = []
    for dose in sorted(request.doses, key=lambda d: d.day):
        per_m2 = schedule.doses_mg_per_m2[dose.day]
        label = per_m2 * bsa.m2
        ceiling = label * (1 + tolerance)
        if dose.mg is not None:
            requested = _dec(dose.mg)
        else:
            assert dose.units is not None  # RequestedDose requires exactly one of mg and units
            requested = dose.units * unit
        if dose.units is not None:
            # The label dose billed (rounded up to a whole unit) is always acceptable in units.
            ceiling = max(ceiling, units_for_mg(label, billing) * unit)
        allowed = requested
        if requested > ceiling:
            whole_vials = (label / vial).to_integral_value(rounding=ROUND_CEILING) * vial
            allowed = whole_vials if whole_vials <= ceiling else label
            findings.append(DoseFinding(
                "dose_amount", schedule.section, NOT_MET,
                f"Day {dose.day}: the requested dose is more than {_fmt(tolerance * 100)}% above the label dose "
                f"({_fmt(per_m2)} mg/m2 x {_fmt(bsa.m2)} m2 = {_fmt(label)} mg); allowed {_fmt(allowed)} mg.",
            ))
        use = vial_use(allowed, billing)
        room = room_on(dose.day, allocated, limit.window_days, limit.max_units)
        if use.limit_units(limit.waste_counts) > room:
            cap_units = (room // per_vial) * per_vial if limit.waste_counts else room
            allowed = min(allowed, cap_units * unit)
            use = vial_use(allowed, billing)
            counted = "administered and discarded units" if limit.waste_counts else "administered units"
            findings.append(DoseFinding(
                "unit_limit", limit.section, NOT_MET,
                f"Day {dose.day}: at most {limit.max_units} units ({counted}) in any {limit.window_days} days; "
                f"allowed {_fmt(allowed)} mg ({use.units} units).",
            ))
        allocated.append((dose.day, use.limit_units(limit.waste_counts)))
        status = "approved" if allowed == requested else "modified"
        checked.append(DoseDayCheck(dose.day, requested, units_for_mg(requested, billing), label, ceiling, use,
                                    status))
    window = busiest_window(allocated, limit.window_days, limit.max_units)
    if findings:
        return result(DoseOutcome.MODIFIED, findings, checked, window)
    approved = DoseFinding(
        "dose_check", schedule.section, MET,
        f"Cycle {cycle}: the requested doses are within the label dose for {_fmt(bsa.m2)} m2 (up to "
        f"{_fmt(tolerance * 100)}% above it) and within {limit.max_units} units per {limit.window_days} days "
        f"(Section {limit.section}).",
    )
    return result(DoseOutcome.APPROVED, [approved], checked, window)


def _same(a: DoseCheck, b: DoseCheck) -> bool:
    return a.outcome is b.outcome and [d.allowed for d in a.days] == [d.allowed for d in b.days]


def check_doses(
    policy: Policy | PolicyVersion | str, dosing: DosingRequest | dict[str, Any], on: dt.date | None = None
) -> DoseCheck | None:
    """Check a request's `dosing` block; None when it asks for no doses.

    When the response is unknown from cycle 2 on, the check is made for both dose
    schedules: if they agree that is the answer, otherwise it is pended on the response.
    """
    policy = version_of(policy, on)
    request = dosing if isinstance(dosing, DosingRequest) else parse_dosing(policy, dosing)
    if request.doses is None:
        return None
    response, assessment = _response(request, policy.dosing)
    bsa, bsa_missing = _bsa(policy, request)
    assert request.cycle is not None
    if response is not None or request.cycle == 1:
        return _check_for_response(policy, request, bsa, bsa_missing, response, assessment)
    checks = [_check_for_response(policy, request, bsa, bsa_missing, r, None)
              for r in (Response.CR, Response.NONE)]
    if _same(*checks):
        eligibility = cycle_eligibility(policy.dosing, request.cycle, None, request.proceeding_to_hsct,
                                        request.mrd_negative)
        reasons = checks[0].reasons
        if checks[0].outcome is DoseOutcome.DENIED:
            # Cite what fails under either response; if they differ, both.
            common = {r.rule for r in checks[1].reasons}
            reasons = tuple(r for r in reasons if r.rule in common) or reasons + checks[1].reasons
        return replace(checks[0], response=None, eligibility=eligibility, reasons=reasons)
    limit = checks[0].limit
    missing = tuple(dict.fromkeys(("dosing.response", *checks[0].missing, *checks[1].missing)))
    finding = DoseFinding("dose_schedule", policy.dosing.subsequent_cycles.section, UNKNOWN,
                          "From cycle 2 on the dose depends on whether CR or CRi was reached; the response is unknown.")
    return DoseCheck(DoseOutcome.PENDED, request.cycle, None, None, bsa, None, (), limit, None, (finding,), missing)
