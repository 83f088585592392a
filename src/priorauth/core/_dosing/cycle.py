"""Section V for one cycle: which schedule applies, and whether the cycle may be given at all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from priorauth.core._dosing.conditions import Values, cases, holds, ordered
from priorauth.core._logic import MET, NOT_MET, UNKNOWN, Truth, all_of
from priorauth.core._policy.dosing import Dosing, Schedule, StopRule


@dataclass(frozen=True, slots=True)
class CycleRule:
    """One stop rule applied to a cycle: its status and why."""

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
    """The schedule that applies to one cycle."""

    cycle: int
    schedule: Schedule

    @property
    def id(self) -> str:
        return self.schedule.id

    @property
    def section(self) -> str:
        return self.schedule.section

    @property
    def text(self) -> str:
        return self.schedule.text

    @property
    def length_days(self) -> int:
        return self.schedule.length_days

    @property
    def extended_length_days(self) -> int | None:
        return self.schedule.extended_length_days

    @property
    def extension_when(self) -> str | None:
        return self.schedule.extension_when

    @property
    def dose_days(self) -> tuple[int, ...]:
        return self.schedule.dose_days

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "section": self.section, "text": self.text, "length_days": self.length_days,
                "extended_length_days": self.extended_length_days, "extension_when": self.extension_when,
                "dose_days": list(self.dose_days)}


@dataclass(frozen=True, slots=True)
class ScheduleChoice:
    """The schedule of a cycle; or none covers it; or it depends on `unknown` names."""

    schedule: CycleSchedule | None
    unknown: tuple[str, ...] = ()
    # The schedules still possible while `unknown` is not known (first one first).
    possible: tuple[Schedule, ...] = ()

    @property
    def decided(self) -> bool:
        return not self.unknown


def choose_schedule(rules: Dosing, cycle: int, values: Values) -> ScheduleChoice:
    """The first schedule (file order) whose cycle range and `when` hold for `cycle`."""
    pending: list[Schedule] = []
    unknown: set[str] = set()
    for schedule in rules.schedules:
        if not schedule.cycles.contains(cycle):
            continue
        status, names = holds(schedule.when, values) if schedule.when is not None else (MET, frozenset())
        if status is MET:
            if not pending:
                return ScheduleChoice(CycleSchedule(cycle, schedule))
            return ScheduleChoice(None, ordered(unknown, rules), (*pending, schedule))
        if status is UNKNOWN:
            pending.append(schedule)
            unknown |= names
    if pending:
        return ScheduleChoice(None, ordered(unknown, rules), tuple(pending))
    return ScheduleChoice(None)


def _rule(r: StopRule, cycle: int, values: Values) -> tuple[CycleRule, frozenset[str]]:
    def out(status: Truth, why: str, missing: frozenset[str] = frozenset()) -> tuple[CycleRule, frozenset[str]]:
        return CycleRule(r.id, r.section, status, r.text, why), missing

    if r.max_cycles is not None and cycle > r.max_cycles:
        return out(NOT_MET, f"beyond the maximum of {r.max_cycles} cycles")
    if r.requires is not None and (r.from_cycle is None or cycle >= r.from_cycle):
        status, unknown = holds(r.requires, values)
        if status is MET:
            return out(MET, r.met_text or "the requirement holds")
        if status is NOT_MET:
            return out(NOT_MET, r.not_met_text or "the requirement does not hold")
        return out(UNKNOWN, "unknown: " + ", ".join(sorted(unknown)), unknown)
    if r.requires is not None and r.from_cycle is not None:
        return out(MET, f"cycle {cycle} is within the first {r.from_cycle - 1}")
    return out(MET, f"cycle {cycle} of at most {r.max_cycles}")


def _applying(rules: Dosing, values: Values) -> list[StopRule]:
    """Stop rules whose branch is not excluded; a rule whose branch is unknown counts as applying."""
    return [r for r in rules.stop_rules if r.when is None or holds(r.when, values)[0] is not NOT_MET]


def _evaluate(rules: Dosing, cycle: int, values: Values) -> tuple[Truth, frozenset[str], tuple[CycleRule, ...]]:
    listed: list[CycleRule] = []
    missing: frozenset[str] = frozenset()
    for r in _applying(rules, values):
        rule, unknown = _rule(r, cycle, values)
        listed.append(rule)
        missing |= unknown
    status = all_of(rule.status for rule in listed)
    return status, (missing if status is UNKNOWN else frozenset()), tuple(listed)


def cycle_eligibility(
    rules: Dosing, cycle: int, values: Values, domain: Mapping[str, tuple[Any, ...]] | None = None
) -> CycleEligibility:
    """Whether `cycle` may be given under the stop rules (three-valued).

    When a rule's branch (`when`) is unknown, the rules are applied for every value of what
    it reads: if the answers agree that is the answer, otherwise it is unknown and the
    branch is among the inputs still needed. `domain` gives the values of facts the
    branches read (dose inputs are known from the rules).
    """
    branch = {n for r in rules.stop_rules if r.when is not None for n in holds(r.when, values)[1]}
    status, missing, listed = _evaluate(rules, cycle, values)
    # Met with every branch counted as applying is met in each branch (fewer rules, none less known).
    if branch and status is not MET:
        known = {name: spec.domain for name, spec in rules.inputs.items() if spec.domain is not None}
        splits = cases(ordered(branch, rules), {**known, **(domain or {})})
        if splits is not None:
            results = [_evaluate(rules, cycle, {**values, **case}) for case in splits]
            statuses = {r[0] for r in results}
            status = results[0][0] if len(statuses) == 1 else UNKNOWN
            missing = frozenset().union(*(r[1] for r in results))
            if len(statuses) > 1:
                missing |= branch
            if status is not UNKNOWN:
                missing = frozenset()
        else:  # too many combinations: only rules outside the unknown branches can decide
            fixed = [rule.status for r, rule in zip(_applying(rules, values), listed, strict=True)
                     if r.when is None or holds(r.when, values)[0] is MET]
            status = NOT_MET if all_of(fixed) is NOT_MET else UNKNOWN
            missing = frozenset() if status is NOT_MET else missing | branch
    return CycleEligibility(status, listed, ordered(missing, rules))
