"""The dose plan of one cycle: the label dose of each dose day, billed (Sections V, VI and II)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from priorauth.core._dosing.billing import UnitWindow, VialUse, busiest_window, vial_use
from priorauth.core._dosing.bsa import Body, BodySurfaceArea, measure
from priorauth.core._dosing.conditions import domains
from priorauth.core._dosing.cycle import CycleEligibility, CycleSchedule, choose_schedule, cycle_eligibility
from priorauth.core._dosing.request import DosingRequest, validate_block
from priorauth.core._dosing.response import Response, ResponseAssessment, classify_response
from priorauth.core._errors import ErrorCode, RequestError
from priorauth.core._policy.billing import MG_PER
from priorauth.core._policy.dosing import DoseLine, Dosing, Schedule
from priorauth.core._policy.policy import Policy
from priorauth.core._policy.registry import load_policy
from priorauth.core._policy.version import PolicyVersion

BASIS_TEXT = {"flat": "{unit}/day", "per_kg": "{unit}/kg", "per_m2": "{unit}/m2"}


def fmt(value: Decimal) -> str:
    return f"{value.normalize():f}"


def day_list(days: Iterable[int]) -> str:
    """Day numbers for a message: `1, 8, 15`; runs of three or more as `1-28`."""
    days = sorted(days)
    parts: list[str] = []
    i = 0
    while i < len(days):
        j = i
        while j + 1 < len(days) and days[j + 1] == days[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{days[i]}-{days[j]}")
        else:
            parts.extend(str(d) for d in days[i:j + 1])
        i = j + 1
    return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class LabelDose:
    """The label dose of one day: `rate` x basis (weight or BSA), capped at `cap` per day."""

    line: DoseLine
    uncapped: Decimal
    amount: Decimal
    weight_kg: Decimal | None
    bsa_m2: Decimal | None

    @property
    def rate(self) -> Decimal:
        return self.line.amount

    @property
    def unit(self) -> str:
        return self.line.unit

    @property
    def capped(self) -> bool:
        return self.amount < self.uncapped

    def explain(self) -> str:
        """How the amount is found, e.g. `0.5 mg/m2 x 1.82 m2 = 0.91 mg`."""
        u = self.unit
        if self.line.basis == "flat":
            text = f"{fmt(self.uncapped)} {u}"
        elif self.line.basis == "per_kg":
            assert self.weight_kg is not None
            text = f"{fmt(self.rate)} {u}/kg x {fmt(self.weight_kg)} kg = {fmt(self.uncapped)} {u}"
        else:
            assert self.bsa_m2 is not None
            text = f"{fmt(self.rate)} {u}/m2 x {fmt(self.bsa_m2)} m2 = {fmt(self.uncapped)} {u}"
        if self.line.weight_kg is not None:
            text += f", for {self.line.weight_kg}"
        if self.capped:
            text += f", capped at {fmt(self.amount)} {u} a day"
        return text


def label_doses(
    schedule: Schedule, days: Iterable[int], body: Body
) -> tuple[dict[int, LabelDose], tuple[str, ...], tuple[str, ...]]:
    """Label doses of `days`; else the measurements still needed and why, in words."""
    out: dict[int, LabelDose] = {}
    missing: dict[str, None] = {}
    why: dict[str, None] = {}
    for day in days:
        lines = schedule.lines_on(day)
        if len(lines) == 1 and lines[0].weight_kg is None:
            line = lines[0]
        elif body.weight_kg is None:
            missing["weight_kg"] = None
            why["The label dose depends on the weight band: the weight is needed."] = None
            continue
        else:
            weight = body.weight_kg
            line = next(li for li in lines if li.weight_kg is not None and li.weight_kg.contains(weight))
        if line.basis == "per_m2" and body.bsa is None:
            missing.update(dict.fromkeys(body.bsa_missing))
            why["The label dose is per m2: height and weight (or BSA) are needed."] = None
            continue
        if line.basis == "per_kg" and body.weight_kg is None:
            missing["weight_kg"] = None
            why["The label dose is per kg: the weight is needed."] = None
            continue
        if line.basis == "per_m2":
            assert body.bsa is not None
            uncapped = line.amount * body.bsa.m2
        elif line.basis == "per_kg":
            assert body.weight_kg is not None
            uncapped = line.amount * body.weight_kg
        else:
            uncapped = line.amount
        amount = min(uncapped, line.max_per_day) if line.max_per_day is not None else uncapped
        out[day] = LabelDose(line, uncapped, amount, body.weight_kg, body.bsa.m2 if body.bsa else None)
    return out, tuple(missing), tuple(why)


def basis_text(labels: Iterable[LabelDose], body: Body) -> str:
    """What the label doses rest on, e.g. `1.82 m2`, `70 kg`, or '' for fixed doses."""
    parts: list[str] = []
    labels = list(labels)
    if any(d.line.basis == "per_m2" for d in labels) and body.bsa is not None:
        parts.append(f"{fmt(body.bsa.m2)} m2")
    if any(d.line.basis == "per_kg" or d.line.weight_kg is not None for d in labels) and body.weight_kg is not None:
        parts.append(f"{fmt(body.weight_kg)} kg")
    return " and ".join(parts)


@dataclass(frozen=True, slots=True)
class DoseDay:
    """One dose day: the label dose and how it is billed."""

    day: int
    label: LabelDose
    billing: VialUse

    @property
    def amount(self) -> Decimal:
        return self.billing.amount

    @property
    def unit(self) -> str:
        return self.billing.unit

    @property
    def rate(self) -> Decimal:
        return self.label.rate

    @property
    def basis(self) -> str:
        return self.label.line.basis

    @property
    def mg(self) -> Decimal:
        return self.billing.mg

    @property
    def mg_per_m2(self) -> Decimal | None:
        """The rate in mg per m2 (None for a dose that is not per m2)."""
        return self.rate * MG_PER[self.unit] if self.basis == "per_m2" else None

    def to_dict(self) -> dict[str, Any]:
        rate_key = BASIS_TEXT[self.basis].format(unit=self.unit).replace("/", "_per_")
        out: dict[str, Any] = {
            "day": self.day,
            "rate": float(self.rate),
            "basis": self.basis,
            rate_key: float(self.rate),
            "capped": self.label.capped,
            **self.billing.to_dict(),
        }
        if self.label.line.weight_kg is not None:
            out["weight_band"] = str(self.label.line.weight_kg)
        return out


@dataclass(frozen=True, slots=True)
class UnitLimit:
    """Section II limit in force: units per window, and whether discarded units count.

    `branch` names the policy's authorization terms the limit comes from, when its limits
    differ by indication branch (None: the version's parameters).
    """

    max_units: int
    window_days: int
    waste_counts: bool
    section: str
    branch: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"max_units": self.max_units, "window_days": self.window_days,
                               "waste_counts_toward_limit": self.waste_counts, "section": self.section}
        if self.branch is not None:
            out["branch"] = self.branch
        return out


def unit_limit(version: PolicyVersion, values: Mapping[str, Any] | None = None, cycle: int | None = None) -> UnitLimit:
    """Section II: the limit of the authorization terms covering `cycle` under what is known
    (`values`: dose inputs and facts), for a policy whose limits differ by branch
    (priorauth.core._authorization.unit_terms); else from the parameters. Discarded units
    count unless `waste_counts_toward_limit` says not.
    """
    from priorauth.core._authorization import unit_terms

    waste = version.parameters.get("waste_counts_toward_limit")
    counts = True if waste is None else bool(waste.value)
    terms = unit_terms(version, values or {}, cycle)
    if terms is not None:
        return UnitLimit(terms.max_units, terms.unit_window_days, counts, terms.section, terms.id)
    return UnitLimit(
        version.parameter("max_units"),
        version.parameter("unit_window_days"),
        counts,
        version.parameters["max_units"].section,
    )


def version_of(policy: Policy | PolicyVersion | str, on: dt.date | None) -> PolicyVersion:
    """The version to dose under: the one given, or the one in force on `on` (the latest when None)."""
    if isinstance(policy, str):
        policy = load_policy(policy)
    if isinstance(policy, PolicyVersion):
        return policy
    return policy.in_force(on)


def rules_of(version: PolicyVersion) -> Dosing:
    if version.dosing is None:
        raise RequestError("policy", f"policy {version.id} has no dosing rules")
    return version.dosing


def field_of(rules: Dosing, name: str, prefix: str = "dosing") -> str:
    """The request field a name is read from: a dose input (`dosing.x`), else a fact (its name)."""
    if name in rules.inputs:
        return f"{prefix}.{name}" if prefix else name
    return name if prefix else f"facts.{name}"


def input_values(
    version: PolicyVersion, request: DosingRequest, facts: Mapping[str, Any] | None, prefix: str = "dosing"
) -> tuple[dict[str, Any], Response | None, ResponseAssessment | None]:
    """What the conditions read (dose inputs and facts), with the response classified from labs."""
    rules = rules_of(version)
    values: dict[str, Any] = {name: request.value(name) for name in rules.inputs}
    for name in rules.fact_names:
        values[name] = (facts or {}).get(name)
    defs = rules.response_definitions
    assessment = None
    if defs is not None and values.get(defs.labs) is not None:
        assessment = classify_response(values[defs.labs], defs)
        stated = values.get(defs.input)
        if stated is not None and stated != assessment.response.value:
            where = f"{prefix}." if prefix else ""
            raise RequestError(f"{where}{defs.input}", f"contradicts the response classified from {where}{defs.labs}",
                               ErrorCode.INCONSISTENT_FACTS)
        values[defs.input] = assessment.response.value
    return values, response_of(rules, values), assessment


def response_of(rules: Dosing, values: Mapping[str, Any]) -> Response | None:
    defs = rules.response_definitions
    if defs is None or values.get(defs.input) is None:
        return None
    return Response(str(values[defs.input]), defs.input)


@dataclass(frozen=True, slots=True)
class DosePlan:
    """The label doses of one cycle for one patient, billed, with the Section V rules."""

    policy: str
    policy_version: str
    cycle: int
    response: Response | None
    bsa: BodySurfaceArea | None
    weight_kg: Decimal | None
    schedule: CycleSchedule
    eligibility: CycleEligibility
    days: tuple[DoseDay, ...]
    limit: UnitLimit
    window: UnitWindow
    hcpcs: str
    ndc_pattern: str
    unit: str
    vial_amount: Decimal
    amount_per_unit: Decimal
    inputs: Mapping[str, Any]

    @property
    def vial_mg(self) -> Decimal:
        return self.vial_amount * MG_PER[self.unit]

    @property
    def mg_per_unit(self) -> Decimal:
        return self.amount_per_unit * MG_PER[self.unit]

    @property
    def total_amount(self) -> Decimal:
        return sum((d.amount for d in self.days), Decimal(0))

    @property
    def total_mg(self) -> Decimal:
        return self.total_amount * MG_PER[self.unit]

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
        u = self.unit
        return {
            "policy": self.policy,
            "policy_version": self.policy_version,
            "cycle": self.cycle,
            "response": self.response.value if self.response else None,
            "inputs": {k: v for k, v in self.inputs.items() if v is not None and not hasattr(v, "model_dump")},
            "bsa": self.bsa.to_dict() if self.bsa else None,
            "weight_kg": float(self.weight_kg) if self.weight_kg is not None else None,
            "schedule": self.schedule.to_dict(),
            "may_be_given": self.eligibility.to_dict(),
            "hcpcs": self.hcpcs,
            "ndc_pattern": self.ndc_pattern,
            "unit": u,
            f"vial_{u}": float(self.vial_amount),
            f"{u}_per_unit": float(self.amount_per_unit),
            "days": [d.to_dict() for d in self.days],
            "totals": {
                u: float(self.total_amount),
                "units": self.total_units,
                "discarded_units": self.total_discarded_units,
                "billed_units": self.total_units + self.total_discarded_units,
                "vials": self.total_vials,
            },
            "unit_limit": {**self.limit.to_dict(), "busiest_window": self.window.to_dict()},
        }


MISSING_PROBLEM = {
    "weight_kg": ("required: the dose depends on the weight", ErrorCode.MISSING_MEASUREMENT),
    "height_cm": ("required, unless the BSA is given", ErrorCode.MISSING_MEASUREMENT),
    "bsa_m2": ("required: the dose is per m2", ErrorCode.MISSING_MEASUREMENT),
}


def plan_doses(
    policy: Policy | PolicyVersion | str,
    *,
    facts: Mapping[str, Any] | None = None,
    on: dt.date | None = None,
    **inputs: Any,
) -> DosePlan:
    """The dose plan of one cycle (Sections V, VI, II); RequestError naming a bad argument.

    `inputs` are the policy's dose inputs (`cycle` defaults to 1; a `day` the policy declares
    keeps that day only); `facts` the request's facts, when a schedule is chosen by one. `on`
    picks the policy version (default: the latest).
    """
    version = version_of(policy, on)
    rules = rules_of(version)
    raw = {k: (v.value if isinstance(v, Response) else v) for k, v in inputs.items() if v is not None}
    raw.setdefault("cycle", 1)
    request = validate_block(version, raw, prefix="")
    values, response, _ = input_values(version, request, facts, prefix="")
    body = measure(rules, request)
    cycle = request.value("cycle")
    choice = choose_schedule(rules, cycle, values)
    if choice.unknown:
        name = choice.unknown[0]
        first = min(s.cycles.first for s in choice.possible)
        when = f" from cycle {first} on" if first > 1 else ""
        code = ErrorCode.MISSING_RESPONSE if name == getattr(rules.response_definitions, "input", None) \
            else ErrorCode.REQUEST_INVALID
        raise RequestError(field_of(rules, name, ""), f"required{when}: the dose depends on it", code)
    if choice.schedule is None:
        raise RequestError("cycle", f"no dose schedule of policy {version.id} covers cycle {cycle}")
    schedule = choice.schedule
    days = schedule.dose_days
    day = request.value("day")
    if day is not None:
        if day not in days:
            raise RequestError("day", f"not a dose day of cycle {cycle} (days {day_list(days)})")
        days = (day,)
    labels, missing, _ = label_doses(schedule.schedule, days, body)
    if missing:
        problem, code = MISSING_PROBLEM.get(missing[0], ("required", ErrorCode.MISSING_MEASUREMENT))
        raise RequestError(missing[0], problem, code)
    eligibility = cycle_eligibility(rules, cycle, values, domains(rules, version))
    return build_plan(version, body, cycle, response, eligibility, schedule, labels, values, facts)


def build_plan(
    version: PolicyVersion,
    body: Body,
    cycle: int,
    response: Response | None,
    eligibility: CycleEligibility,
    schedule: CycleSchedule,
    labels: Mapping[int, LabelDose],
    values: Mapping[str, Any],
    facts: Mapping[str, Any] | None = None,
) -> DosePlan:
    billing = version.billing
    product = billing.ndc[0]
    days = tuple(DoseDay(day, label, vial_use(label.amount, billing, product)) for day, label in sorted(labels.items()))
    limit = unit_limit(version, {**(facts or {}), **values}, cycle)
    window = busiest_window([(d.day, d.billing.limit_units(limit.waste_counts)) for d in days],
                            limit.window_days, limit.max_units)
    return DosePlan(version.id, version.version, cycle, response, body.bsa, body.weight_kg, schedule, eligibility,
                    days, limit, window, billing.hcpcs.code, product.pattern, billing.hcpcs.amount_unit,
                    Decimal(str(product.vial_amount)), billing.hcpcs.unit_amount, dict(values))
