"""Section V cycle rules: the schedule of a cycle and whether it may be given at all."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from priorauth.core._dosing.response import Response
from priorauth.core._logic import MET, NOT_MET, UNKNOWN, Truth, all_of
from priorauth.core._policy.dosing import Dosing


@dataclass(frozen=True, slots=True)
class CycleRule:
    """One Section V rule applied to a cycle: its status and why."""

    rule: str
    section: str
    status: Truth
    text: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "section": self.section, "status": self.status.value, "text": self.text,
                "why": self.why}


@dataclass(frozen=True, slots=True)
class CycleEligibility:
    """Whether the cycle may be given (met / not met / unknown) and the inputs still needed."""

    status: Truth
    rules: tuple[CycleRule, ...]
    missing: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status.value, "rules": [r.to_dict() for r in self.rules],
                "missing": list(self.missing)}


@dataclass(frozen=True, slots=True)
class CycleSchedule:
    """Length and mg/m2 per dose day of one cycle."""

    cycle: int
    section: str
    length_days: int
    extended_length_days: int | None
    extension_when: str | None
    doses_mg_per_m2: dict[int, Decimal]
    basis: str


def cycle_schedule(rules: Dosing, cycle: int, response: Response | None) -> CycleSchedule | None:
    """The schedule of `cycle`; None when it depends on a response that is unknown."""
    if cycle == 1:
        c1 = rules.cycle_1
        return CycleSchedule(1, c1.section, c1.length_days, c1.extended_length_days, c1.extension_when,
                             dict(c1.doses_mg_per_m2), "cycle 1")
    later = rules.subsequent_cycles
    if response is None:
        return None
    chosen = later.cr_or_cri_achieved if response.achieved else later.cr_or_cri_not_achieved
    basis = "later cycle, CR or CRi achieved" if response.achieved else "later cycle, CR or CRi not achieved"
    return CycleSchedule(cycle, later.section, later.length_days, None, None, dict(chosen.doses_mg_per_m2), basis)


def _no_response_rule(rules: Dosing, cycle: int, response: Response | None) -> tuple[CycleRule, set[str]]:
    r = rules.stop_rules.no_response
    if cycle <= r.within_cycles:
        return CycleRule(r.id, r.section, MET, r.text, f"cycle {cycle} is within the first {r.within_cycles}"), set()
    if response is None:
        return CycleRule(r.id, r.section, UNKNOWN, r.text, "the response so far is unknown"), {"response"}
    if response.achieved:
        return CycleRule(r.id, r.section, MET, r.text, f"{response.value} reached"), set()
    return CycleRule(r.id, r.section, NOT_MET, r.text,
                     f"no CR or CRi within {r.within_cycles} cycles: treatment stops"), set()


def _hsct_course(rules: Dosing, cycle: int, response: Response | None, mrd_negative: bool | None):
    r = rules.stop_rules.hsct
    if cycle <= r.cycles:
        return CycleRule(r.id, r.section, MET, r.text, f"cycle {cycle} is within the {r.cycles} recommended"), set()
    if cycle > r.cycles + r.extra_cycles:
        return CycleRule(r.id, r.section, NOT_MET, r.text,
                         f"at most {r.cycles + r.extra_cycles} cycles before HSCT"), set()
    if response is Response.NONE or mrd_negative is False:
        return CycleRule(r.id, r.section, MET, r.text,
                         f"CR or CRi with MRD negativity not reached after {r.cycles} cycles"), set()
    if response is not None and response.achieved and mrd_negative is True:
        return CycleRule(r.id, r.section, NOT_MET, r.text,
                         f"{response.value} with MRD negativity reached after {r.cycles} cycles"), set()
    missing = ({"response"} if response is None else set()) | ({"mrd_negative"} if mrd_negative is None else set())
    return CycleRule(r.id, r.section, UNKNOWN, r.text, "response or MRD status unknown"), missing


def _no_hsct_course(rules: Dosing, cycle: int):
    r = rules.stop_rules.no_hsct
    if cycle <= r.max_cycles:
        return CycleRule(r.id, r.section, MET, r.text, f"cycle {cycle} of at most {r.max_cycles}"), set()
    return CycleRule(r.id, r.section, NOT_MET, r.text, f"beyond the maximum of {r.max_cycles} cycles"), set()


def cycle_eligibility(
    rules: Dosing,
    cycle: int,
    response: Response | None,
    proceeding_to_hsct: bool | None,
    mrd_negative: bool | None,
) -> CycleEligibility:
    """Whether `cycle` may be given under the Section V stop rules (three-valued)."""
    stop, stop_missing = _no_response_rule(rules, cycle, response)
    if proceeding_to_hsct is True:
        course, course_missing = _hsct_course(rules, cycle, response, mrd_negative)
        courses = [course]
    elif proceeding_to_hsct is False:
        course, course_missing = _no_hsct_course(rules, cycle)
        courses = [course]
    else:
        with_hsct, hsct_missing = _hsct_course(rules, cycle, response, mrd_negative)
        without, _ = _no_hsct_course(rules, cycle)
        courses = [with_hsct, without]
        if with_hsct.status is without.status:
            course_missing = set()
        else:
            course_missing = {"proceeding_to_hsct"} | hsct_missing
    course_status = courses[0].status if len({c.status for c in courses}) == 1 else UNKNOWN
    status = all_of([stop.status, course_status])
    missing: set[str] = set()
    if status is UNKNOWN:
        if stop.status is UNKNOWN:
            missing |= stop_missing
        if course_status is UNKNOWN:
            missing |= course_missing
    order = ("response", "proceeding_to_hsct", "mrd_negative")
    return CycleEligibility(status, (stop, *courses), tuple(m for m in order if m in missing))
