"""The dose check of a request: requested doses against the label dose and the unit limit.

Outcomes follow the X12 278 review actions: approved (A1), approved with modification
(A6: the allowed amounts are given), denied (A3), pended (A4: inputs still needed, or a dose day
outside the label's window to clarify).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any

from priorauth.core._dosing.billing import (
    UnitWindow,
    VialUse,
    busiest_window,
    hcpcs_matches,
    product_for_ndc,
    room_on,
    units_for,
    units_per_vial,
    vial_use,
)
from priorauth.core._dosing.bsa import Body, BodySurfaceArea, measure
from priorauth.core._dosing.conditions import cases, domains
from priorauth.core._dosing.cycle import CycleEligibility, choose_schedule, cycle_eligibility
from priorauth.core._dosing.plan import (
    UnitLimit,
    basis_text,
    day_list,
    field_of,
    fmt,
    input_values,
    label_doses,
    response_of,
    rules_of,
    unit_limit,
    version_of,
)
from priorauth.core._dosing.request import DosingRequest, parse_dosing
from priorauth.core._dosing.response import Response, ResponseAssessment
from priorauth.core._errors import RequestError
from priorauth.core._logic import MET, NOT_MET, UNKNOWN, Truth
from priorauth.core._policy.billing import MG_PER
from priorauth.core._policy.dosing import Dosing, Schedule
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
    """A requested dose day: requested, label, highest acceptable and allowed amounts (in `unit`)."""

    day: int
    requested: Decimal
    requested_units: int
    label: Decimal
    max: Decimal
    allowed: VialUse
    status: str  # "approved" or "modified"
    unit: str = "mg"
    scheduled_day: int | None = None  # the schedule's day it is checked as (None: `day` itself)

    @property
    def requested_mg(self) -> Decimal:
        return self.requested * MG_PER[self.unit]

    @property
    def label_mg(self) -> Decimal:
        return self.label * MG_PER[self.unit]

    @property
    def max_mg(self) -> Decimal:
        return self.max * MG_PER[self.unit]

    def to_dict(self) -> dict[str, Any]:
        u = self.unit
        return {
            "day": self.day,
            "scheduled_day": self.scheduled_day if self.scheduled_day is not None else self.day,
            f"requested_{u}": float(self.requested),
            "requested_units": self.requested_units,
            f"label_{u}": float(self.label),
            f"max_{u}": float(self.max),
            f"allowed_{u}": float(self.allowed.amount),
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
    unit: str = "mg"
    weight_kg: Decimal | None = None

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
            "weight_kg": float(self.weight_kg) if self.weight_kg is not None else None,
            "unit": self.unit,
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


@dataclass(frozen=True, slots=True)
class _Placement:
    """Requested doses on the schedule: the scheduled day of each placed day, what needs clarifying."""

    scheduled: dict[int, int]
    shifted: tuple[DoseFinding, ...]
    unclear: tuple[DoseFinding, ...]
    missing: tuple[str, ...]


def _place(rules: Dosing, schedule: Schedule, request: DosingRequest) -> _Placement:
    """Each requested day as a scheduled dose day, within the policy's `day_window`.

    A day outside every window, two doses counted as one scheduled day, or two doses closer
    than the window's minimum spacing are clarifications (the day is asked again), not denials.
    Without a window every day is on the schedule exactly (the caller denies any other).
    """
    assert request.doses is not None
    window = rules.day_window
    days = schedule.dose_days
    if window is None:
        return _Placement({d.day: d.day for d in request.doses}, (), (), ())
    index = {d.day: i for i, d in enumerate(request.doses)}

    def spans() -> str:
        return "; ".join(f"day {d}" if window.window_of(d) == (d, d) else
                         f"day {d} on days {window.window_of(d)[0]}-{window.window_of(d)[1]}" for d in days)

    scheduled: dict[int, int] = {}
    shifted: list[DoseFinding] = []
    unclear: list[DoseFinding] = []
    missing: dict[str, None] = {}
    taken: dict[int, int] = {}
    for day in sorted(index):
        on = window.scheduled_day(days, day)
        if on is None:
            unclear.append(DoseFinding(
                "dose_day_window", window.section, UNKNOWN,
                f"Day {day} is neither a dose day of the cycle nor within the label's window of one "
                f"({spans()}): the dose day needs clarification."))
            missing[f"dosing.doses[{index[day]}].day"] = None
            continue
        if on in taken:
            unclear.append(DoseFinding(
                "dose_day_window", window.section, UNKNOWN,
                f"Days {taken[on]} and {day} both count as day {on} ({spans()}): "
                f"the dose days need clarification."))
            missing.update(dict.fromkeys((f"dosing.doses[{index[taken[on]]}].day", f"dosing.doses[{index[day]}].day")))
            continue
        taken[on] = day
        scheduled[day] = on
        if on != day:
            first, last = window.window_of(on)
            shifted.append(DoseFinding(
                "dose_day_window", window.section, MET,
                f"Day {day} is checked as day {on}: within the label's window (days {first}-{last})."))
    placed = sorted(scheduled)
    for before, after in pairwise(placed):
        if after - before < window.min_days_between_doses:
            unclear.append(DoseFinding(
                "dose_day_window", window.section, UNKNOWN,
                f"Days {before} and {after} are {after - before} days apart; the label keeps at least "
                f"{window.min_days_between_doses} days between doses: the dose days need clarification."))
            missing.update(dict.fromkeys((f"dosing.doses[{index[before]}].day", f"dosing.doses[{index[after]}].day")))
    return _Placement(scheduled, tuple(shifted), tuple(unclear), tuple(missing))


def _check(
    version: PolicyVersion,
    request: DosingRequest,
    values: Mapping[str, Any],
    body: Body,
    assessment: ResponseAssessment | None,
    facts: Mapping[str, Any] | None = None,
) -> DoseCheck:
    """The check under known schedule inputs (`values`); `facts` also pick the unit limit."""
    rules = rules_of(version)
    billing = version.billing
    assert request.doses is not None
    cycle: int = request.value("cycle")
    limit = unit_limit(version, {**(facts or {}), **values}, cycle)
    eligibility = cycle_eligibility(rules, cycle, values, domains(rules, version))
    choice = choose_schedule(rules, cycle, values)
    response = response_of(rules, values)

    def result(outcome: DoseOutcome, reasons: Iterable[DoseFinding], days: Iterable[DoseDayCheck] = (),
               window: UnitWindow | None = None, missing: Iterable[str] = ()) -> DoseCheck:
        return DoseCheck(outcome, cycle, response, assessment, body.bsa, eligibility, tuple(days), limit, window,
                         tuple(reasons), tuple(missing), rules.unit, body.weight_kg)

    denials = _code_findings(version, request)
    denials += [DoseFinding(r.rule, r.section, NOT_MET, f"{r.text} ({r.why})")
                for r in eligibility.rules if r.status is NOT_MET and eligibility.status is NOT_MET]
    schedule = choice.schedule
    if schedule is None:
        denials.append(DoseFinding("dose_schedule", rules.section, NOT_MET,
                                   f"No dose schedule of this policy covers cycle {cycle}."))
    elif rules.day_window is None:
        for dose in request.doses:
            if dose.day not in schedule.dose_days:
                denials.append(DoseFinding(
                    "dose_schedule", schedule.section, NOT_MET,
                    f"Day {dose.day} is not a dose day of the cycle (days {day_list(schedule.dose_days)})."))
    if denials:
        return result(DoseOutcome.DENIED, denials)
    assert schedule is not None
    placed = _place(rules, schedule.schedule, request)
    scheduled = placed.scheduled
    labels, label_missing, label_why = label_doses(schedule.schedule, sorted(set(scheduled.values())), body)
    missing = (tuple(field_of(rules, m) for m in eligibility.missing) + tuple(f"dosing.{m}" for m in label_missing)
               + placed.missing)
    if eligibility.status is UNKNOWN or label_missing or placed.unclear:
        pending = [DoseFinding(r.rule, r.section, UNKNOWN, f"{r.text} ({r.why})")
                   for r in eligibility.rules if r.status is UNKNOWN]
        pending += [DoseFinding("dose_amount", rules.section, UNKNOWN, why) for why in label_why]
        pending += placed.unclear
        return result(DoseOutcome.PENDED, pending, missing=missing)

    u = rules.unit
    unit = billing.hcpcs.unit_amount
    vial = Decimal(str(billing.ndc[0].vial_amount))
    per_vial = units_per_vial(billing)
    tolerance_parameter = version.parameters.get("dose_rounding_tolerance")
    tolerance = _dec(tolerance_parameter.value) if tolerance_parameter is not None else Decimal(0)
    above = f"more than {fmt(tolerance * 100)}% above" if tolerance else "above"
    findings: list[DoseFinding] = []
    checked: list[DoseDayCheck] = []
    allocated: list[tuple[int, int]] = []
    for dose in sorted(request.doses, key=lambda d: d.day):
        on = scheduled[dose.day]
        label_dose = labels[on]
        name = f"Day {dose.day}" if on == dose.day else f"Day {dose.day} (as day {on})"
        label = label_dose.amount
        ceiling = label * (1 + tolerance)
        if dose.amount is not None:
            requested = _dec(dose.amount)
        else:
            assert dose.units is not None  # a requested dose has exactly one of an amount and units
            requested = dose.units * unit
        if dose.units is not None:
            # The label dose billed (rounded up to a whole unit) is always acceptable in units.
            ceiling = max(ceiling, units_for(label, billing) * unit)
        allowed = requested
        if requested > ceiling:
            whole_vials = (label / vial).to_integral_value(rounding=ROUND_CEILING) * vial
            allowed = whole_vials if whole_vials <= ceiling else label
            findings.append(DoseFinding(
                "dose_amount", schedule.section, NOT_MET,
                f"{name}: the requested dose is {above} the label dose "
                f"({label_dose.explain()}); allowed {fmt(allowed)} {u}.",
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
                f"{name}: at most {limit.max_units} units ({counted}) in any {limit.window_days} days; "
                f"allowed {fmt(allowed)} {u} ({use.units} units).",
            ))
        allocated.append((dose.day, use.limit_units(limit.waste_counts)))
        status = "approved" if allowed == requested else "modified"
        checked.append(DoseDayCheck(dose.day, requested, units_for(requested, billing), label, ceiling, use,
                                    status, u, on))
    window = busiest_window(allocated, limit.window_days, limit.max_units)
    if findings:
        return result(DoseOutcome.MODIFIED, [*findings, *placed.shifted], checked, window)
    basis = basis_text(labels.values(), body)
    tolerated = f" (up to {fmt(tolerance * 100)}% above it)" if tolerance else ""
    approved = DoseFinding(
        "dose_check", schedule.section, MET,
        f"Cycle {cycle}: the requested doses are within the label dose{f' for {basis}' if basis else ''}"
        f"{tolerated} and within {limit.max_units} units per {limit.window_days} days "
        f"(Section {limit.section}).",
    )
    return result(DoseOutcome.APPROVED, [approved, *placed.shifted], checked, window)


def _same(checks: list[DoseCheck]) -> bool:
    first = checks[0]
    return all(c.outcome is first.outcome and [d.allowed for d in c.days] == [d.allowed for d in first.days]
               for c in checks[1:])


def check_doses(
    policy: Policy | PolicyVersion | str,
    dosing: DosingRequest | dict[str, Any],
    on: dt.date | None = None,
    *,
    facts: Mapping[str, Any] | None = None,
) -> DoseCheck | None:
    """Check a request's `dosing` block; None when it asks for no doses.

    `facts` are the request's facts, read when a schedule or stop rule is chosen by one.
    When the schedule depends on inputs that are unknown, the check is made for each of
    their values: if the answers agree that is the answer, otherwise it is pended on them.
    """
    version = version_of(policy, on)
    rules = rules_of(version)
    request = parse_dosing(version, dosing)
    if request.doses is None:
        return None
    values, _, assessment = input_values(version, request, facts)
    body = measure_request(request, rules)
    cycle: int = request.value("cycle")
    choice = choose_schedule(rules, cycle, values)
    if choice.decided:
        return _check(version, request, values, body, assessment, facts)
    splits = cases(choice.unknown, domains(rules, version)) or []
    checks = [_check(version, request, {**values, **case}, body, None, facts) for case in splits]
    if checks and _same(checks):
        eligibility = cycle_eligibility(rules, cycle, values, domains(rules, version))
        reasons = checks[0].reasons
        if checks[0].outcome is DoseOutcome.DENIED:
            # Cite what fails whatever the unknown inputs are; if nothing is common, everything cited.
            common = set.intersection(*({r.rule for r in c.reasons} for c in checks))
            reasons = tuple(r for r in reasons if r.rule in common) or tuple(
                dict.fromkeys(r for c in checks for r in c.reasons))
        return replace(checks[0], response=None, eligibility=eligibility, reasons=reasons)
    limit = unit_limit(version, {**(facts or {}), **values}, cycle)
    fields = tuple(field_of(rules, n) for n in choice.unknown)
    missing = tuple(dict.fromkeys((*fields, *(m for c in checks for m in c.missing))))
    section = choice.possible[0].section if choice.possible else rules.section
    names = ", ".join(choice.unknown)
    finding = DoseFinding("dose_schedule", section, UNKNOWN,
                          f"The dose of cycle {cycle} depends on {names}, which is unknown.")
    return DoseCheck(DoseOutcome.PENDED, cycle, None, None, body.bsa, None, (), limit, None, (finding,), missing,
                     rules.unit, body.weight_kg)


def measure_request(request: DosingRequest, rules: Dosing) -> Body:
    """The request's measurements; a bad one is refused naming its `dosing.` field."""
    try:
        return measure(rules, request)
    except RequestError as exc:
        raise RequestError(f"dosing.{exc.field}", exc.problem, exc.code) from None
