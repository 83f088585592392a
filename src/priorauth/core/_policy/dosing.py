"""Section V as data: a small dose-rule language (docs/dosing.md).

- `inputs`: the fields a request's `dosing` block accepts, typed, with plausible ranges. A few
  names mean something to the engine (`cycle`, `day`, the body measurements, see RESERVED); the
  others are the policy's own (a response, a transplant plan...) and are read by conditions.
- `schedules`: amount x basis (flat, per kg, per m2) on listed days of an N-day cycle, chosen by
  cycle range and a condition (`when`) on dose inputs or facts, with a daily cap and a weight band
  per line. The first schedule (in file order) whose cycle range and condition hold applies.
- `stop_rules`: whether a cycle may be given: a largest cycle number, a requirement from a cycle
  on, each for a branch (`when`).
- `response_definitions`: findings on a lab-values input and the response values they give.
- `day_window`: how far a scheduled dose day may move (the label's leeway), with the least
  number of days between doses; absent, doses are on their scheduled days exactly.

Conditions are `{name: [values]}` (every key must hold), or `all`, `any`, `not` over conditions;
a name is a dose input of this section or, failing that, a fact (question) of the policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from functools import cached_property
from itertools import pairwise
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr, StrictBool, StrictFloat, StrictInt, StrictStr, model_validator

from priorauth.core._policy.base import Strict

if TYPE_CHECKING:
    from priorauth.core._policy.version import PolicyVersion

Positive = Annotated[Decimal, Field(gt=0)]
Scalar = StrictBool | StrictInt | StrictStr
AmountUnit = Literal["mg", "mcg"]
Basis = Literal["flat", "per_kg", "per_m2"]
BsaMethod = Literal["mosteller", "dubois", "haycock"]
InputType = Literal["number", "integer", "boolean", "choice", "object"]

# Input names the engine gives a meaning to, with the type they must be declared with.
RESERVED: dict[str, str] = {
    "cycle": "integer",  # the cycle the doses are for (1 = first)
    "day": "integer",  # one day of the cycle (a plan for that day)
    "height_cm": "number",
    "weight_kg": "number",  # also picks a weight band and multiplies a per-kg dose
    "bsa_m2": "number",
    "bsa_method": "choice",
    "bsa_cap_m2": "number",
}
# Fields of every `dosing` block, never declared: the requested doses and the product codes.
STRUCTURAL = ("doses", "ndc", "hcpcs")
BSA_METHODS = ("mosteller", "dubois", "haycock")


class _Aliased(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(_Aliased):
    """`{name: [values]}` (each key holds), or exactly one of `all`, `any`, `not`."""

    all_of: tuple[Condition, ...] | None = Field(default=None, alias="all")
    any_of: tuple[Condition, ...] | None = Field(default=None, alias="any")
    not_of: Condition | None = Field(default=None, alias="not")
    match: dict[str, tuple[Scalar, ...]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and not set(raw) & {"all", "any", "not", "match", "all_of", "any_of", "not_of"}:
            return {"match": raw}
        return raw

    @model_validator(mode="after")
    def _one(self) -> Condition:
        given = [x for x in (self.all_of, self.any_of, self.not_of, self.match) if x is not None]
        if len(given) != 1:
            raise ValueError("a condition is {name: [values]} or exactly one of all, any, not")
        if self.match is not None:
            if not self.match:
                raise ValueError("a condition names at least one input or fact")
            for name, values in self.match.items():
                if not values:
                    raise ValueError(f"{name}: list at least one value")
        for children in (self.all_of, self.any_of):
            if children is not None and not children:
                raise ValueError("all / any need at least one condition")
        return self

    def leaves(self) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """(name, values) of every leaf."""
        if self.match is not None:
            yield from self.match.items()
        for child in (*(self.all_of or ()), *(self.any_of or ()), *((self.not_of,) if self.not_of else ())):
            yield from child.leaves()


class CycleRange(_Aliased):
    """Cycles `from` .. `to` (no `to`: every later cycle)."""

    first: int = Field(alias="from", ge=1)
    last: int | None = Field(default=None, alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> CycleRange:
        if self.last is not None and self.last < self.first:
            raise ValueError("`to` is before `from`")
        return self

    def contains(self, cycle: int) -> bool:
        return self.first <= cycle and (self.last is None or cycle <= self.last)

    def __str__(self) -> str:
        if self.last is None:
            return f"cycles {self.first} on"
        return f"cycle {self.first}" if self.first == self.last else f"cycles {self.first}-{self.last}"


class DayRange(_Aliased):
    first: int = Field(alias="from", ge=1)
    last: int = Field(alias="to", ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> DayRange:
        if self.last < self.first:
            raise ValueError("`to` is before `from`")
        return self


class Range(Strict):
    min: Decimal
    max: Decimal

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min >= self.max:
            raise ValueError("min must be below max")
        return self


class DoseInput(Strict):
    """One field of a request's `dosing` block (or of an object input)."""

    type: InputType
    text: str
    unit: str | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    values: list[str] | None = None
    fields: dict[str, DoseInput] | None = None
    # Only for a field of an object input: the value when the field is absent.
    default: StrictBool | StrictInt | StrictFloat | StrictStr | None = None
    section: str | None = None
    reading: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DoseInput:
        if (self.type == "choice") != (self.values is not None) or (self.values is not None and not self.values):
            raise ValueError("a choice input, and only a choice input, lists `values`")
        if (self.type == "object") != (self.fields is not None) or (self.fields is not None and not self.fields):
            raise ValueError("an object input, and only an object input, lists `fields`")
        if (self.min is not None or self.max is not None) and self.type not in ("number", "integer"):
            raise ValueError("only a number or integer input has `min` or `max`")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError("min must be below max")
        if self.type == "object" and any(f.type == "object" for f in (self.fields or {}).values()):
            raise ValueError("an object input holds plain fields only")
        return self

    @property
    def domain(self) -> tuple[Any, ...] | None:
        """Every value a condition can see (boolean and choice inputs), else None."""
        if self.type == "boolean":
            return (True, False)
        if self.type == "choice":
            return tuple(self.values or ())
        return None


class WeightBand(Strict):
    """Weights `at_least` .. below `below` (kg); a bound left out is open."""

    at_least: Positive | None = None
    below: Positive | None = None

    @model_validator(mode="after")
    def _bounded(self) -> WeightBand:
        if self.at_least is None and self.below is None:
            raise ValueError("a weight band needs at_least, below or both")
        if self.at_least is not None and self.below is not None and self.at_least >= self.below:
            raise ValueError("at_least must be below `below`")
        return self

    def contains(self, weight_kg: Decimal) -> bool:
        return (self.at_least is None or weight_kg >= self.at_least) and (self.below is None or weight_kg < self.below)

    def __str__(self) -> str:
        if self.below is None:
            return f"{self.at_least:f} kg or more"
        if self.at_least is None:
            return f"under {self.below:f} kg"
        return f"{self.at_least:f} kg to under {self.below:f} kg"


class DoseLine(Strict):
    """`amount` `unit` x `basis` on each of `days`, at most `max_per_day`, for a weight band."""

    days: list[Annotated[int, Field(ge=1)]] | DayRange
    amount: Positive
    unit: AmountUnit
    basis: Basis
    max_per_day: Positive | None = None
    weight_kg: WeightBand | None = None
    text: str | None = None

    @cached_property
    def day_numbers(self) -> tuple[int, ...]:
        if isinstance(self.days, DayRange):
            return tuple(range(self.days.first, self.days.last + 1))
        return tuple(self.days)

    @model_validator(mode="after")
    def _days(self) -> DoseLine:
        if isinstance(self.days, list) and (not self.days or sorted(set(self.days)) != self.days):
            raise ValueError("days: expected increasing day numbers")
        if self.max_per_day is not None and self.basis == "flat":
            raise ValueError("max_per_day caps a per-kg or per-m2 dose; a flat dose is its own amount")
        return self


def _band_gaps(bands: list[WeightBand]) -> str | None:
    """A problem when the bands do not cover every weight exactly once."""
    ordered = sorted(bands, key=lambda b: b.at_least or Decimal(0))
    edge: Decimal | None = Decimal(0)
    for band in ordered:
        start = band.at_least or Decimal(0)
        if edge is None or start != edge:
            return "weight bands must cover every weight exactly once (each `at_least` the previous `below`)"
        edge = band.below
    return None if edge is None else "the last weight band needs no `below`"


class Schedule(Strict):
    """The doses of the cycles in `cycles` for which `when` holds."""

    id: str
    section: str
    text: str
    reading: str | None = None
    cycles: CycleRange
    when: Condition | None = None
    length_days: int = Field(gt=0)
    extended_length_days: int | None = Field(default=None, gt=0)
    extension_when: str | None = None
    doses: list[DoseLine] = Field(min_length=1)

    @cached_property
    def dose_days(self) -> tuple[int, ...]:
        return tuple(sorted({d for line in self.doses for d in line.day_numbers}))

    def lines_on(self, day: int) -> list[DoseLine]:
        return [line for line in self.doses if day in line.day_numbers]

    @model_validator(mode="after")
    def _consistent(self) -> Schedule:
        if self.dose_days[-1] > self.length_days:
            raise ValueError(f"doses: day {self.dose_days[-1]} is beyond the {self.length_days}-day cycle")
        if self.extended_length_days is not None and self.extended_length_days < self.length_days:
            raise ValueError("extended_length_days: the extension must not shorten the cycle")
        if (self.extended_length_days is None) != (self.extension_when is None):
            raise ValueError("extended_length_days and extension_when go together")
        for day in self.dose_days:
            lines = self.lines_on(day)
            banded = [line.weight_kg for line in lines if line.weight_kg is not None]
            if len(lines) > 1 and len(banded) != len(lines):
                raise ValueError(f"doses: day {day} has more than one dose line; give each a weight band")
            problem = _band_gaps(banded) if banded else None
            if problem:
                raise ValueError(f"doses: day {day}: {problem}")
        return self


class StopRule(Strict):
    """Whether a cycle may be given: not beyond `max_cycles`; from `from_cycle` on, only if `requires` holds.

    A rule with `when` governs only that branch (e.g. patients going on to transplant).
    """

    id: str
    section: str
    text: str
    reading: str | None = None
    when: Condition | None = None
    max_cycles: int | None = Field(default=None, gt=0)
    from_cycle: int | None = Field(default=None, ge=1)
    requires: Condition | None = None
    # Why, in our words, when `requires` holds / does not hold.
    met_text: str | None = None
    not_met_text: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> StopRule:
        if self.max_cycles is None and self.requires is None:
            raise ValueError("a stop rule needs max_cycles, requires or both")
        if self.requires is None and (self.from_cycle, self.met_text, self.not_met_text) != (None, None, None):
            raise ValueError("from_cycle, met_text and not_met_text go with `requires`")
        return self


class LabFinding(Strict):
    """A finding on one field of the lab-values input: `below`, `at_least` or `equals`."""

    id: str
    field: str
    below: Decimal | None = None
    at_least: Decimal | None = None
    equals: StrictBool | None = None
    met: str
    not_met: str

    @model_validator(mode="after")
    def _one_test(self) -> LabFinding:
        if sum(x is not None for x in (self.below, self.at_least, self.equals)) != 1:
            raise ValueError("a finding has exactly one of below, at_least, equals")
        return self


class ResponseClass(Strict):
    value: str
    text: str
    requires: list[str] = Field(min_length=1)


class ResponseDefinitions(Strict):
    """Labs (the object input `labs`) give a value of the choice input `input`: the first class
    whose findings all hold, else `otherwise`."""

    section: str
    input: str
    labs: str
    counts_unit: str | None = None
    findings: list[LabFinding] = Field(min_length=1)
    classes: list[ResponseClass] = Field(min_length=1)
    otherwise: str

    @model_validator(mode="after")
    def _consistent(self) -> ResponseDefinitions:
        ids = [f.id for f in self.findings]
        if len(set(ids)) != len(ids):
            raise ValueError("findings: each id once")
        for c in self.classes:
            unknown = [r for r in c.requires if r not in ids]
            if unknown:
                raise ValueError(f"classes: {c.value}: unknown finding(s) {', '.join(unknown)}")
        return self


class BsaRules(Strict):
    """How a BSA is computed and rounded (the document doses per m2 but may not say)."""

    section: str
    default_method: BsaMethod
    decimals: int = Field(ge=0, le=4)
    bmi_kg_per_m2: Range | None = None
    reading: str


class DayWindow(Strict):
    """A scheduled dose day may be given `days_early` before to `days_late` after it, with at least
    `min_days_between_doses` between any two doses. Day 1 is the cycle's start and never moves:
    a late day 1 starts the cycle late and the cycle's days count from it."""

    section: str
    days_early: StrictInt = Field(ge=0)
    days_late: StrictInt = Field(ge=0)
    min_days_between_doses: StrictInt = Field(ge=1)
    source: str
    reading: str

    def window_of(self, day: int) -> tuple[int, int]:
        """The first and last day a scheduled `day` may be given on."""
        return (1, 1) if day == 1 else (day - self.days_early, day + self.days_late)

    def scheduled_day(self, dose_days: Iterable[int], day: int) -> int | None:
        """The scheduled dose day that `day` counts as: itself, else the one whose window holds it."""
        days = tuple(dose_days)
        if day in days:
            return day
        return next((d for d in days if self.window_of(d)[0] <= day <= self.window_of(d)[1]), None)

    def problems(self, schedule: Schedule) -> Iterator[str]:
        """Why the window cannot apply to `schedule`: windows that overlap, or scheduled days too close."""
        days = schedule.dose_days
        for before, after in pairwise(days):
            if after - before < self.min_days_between_doses:
                yield (f"day_window: schedule {schedule.id}: days {before} and {after} are fewer than "
                       f"{self.min_days_between_doses} days apart")
            elif self.window_of(before)[1] >= self.window_of(after)[0]:
                yield f"day_window: schedule {schedule.id}: the windows of days {before} and {after} overlap"
        if days[-1] != 1 and self.window_of(days[-1])[1] > schedule.length_days:
            yield f"day_window: schedule {schedule.id}: day {days[-1]} + {self.days_late} is beyond the cycle"


class Dosing(Strict):
    """Section V: dose inputs, schedules, stop rules, response definitions, the dose-day window."""

    section: str
    indication: str
    reading: str | None = None
    inputs: dict[str, DoseInput]
    bsa: BsaRules | None = None
    schedules: list[Schedule] = Field(min_length=1)
    stop_rules: list[StopRule] = Field(default_factory=list)
    response_definitions: ResponseDefinitions | None = None
    day_window: DayWindow | None = None

    # The pydantic model of a `dosing` block under this section (priorauth.core._dosing.request).
    _request_model: Any = PrivateAttr(default=None)
    # The values of the names conditions read (priorauth.core._dosing.conditions.domains).
    _domains: dict[str, tuple[Any, ...]] | None = PrivateAttr(default=None)

    @cached_property
    def unit(self) -> str:
        """The amount unit of every dose (mg or mcg)."""
        return self.schedules[0].doses[0].unit

    @cached_property
    def reads_weight(self) -> bool:
        """Some dose depends on the weight itself (a weight band or a per-kg dose), not only via the BSA."""
        return any(line.weight_kg is not None or line.basis == "per_kg" for s in self.schedules for line in s.doses)

    @cached_property
    def conditions(self) -> tuple[Condition, ...]:
        whens = [s.when for s in self.schedules] + [r.when for r in self.stop_rules]
        return tuple(c for c in [*whens, *(r.requires for r in self.stop_rules)] if c is not None)

    @cached_property
    def condition_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for c in self.conditions for name, _ in c.leaves()))

    @cached_property
    def fact_names(self) -> tuple[str, ...]:
        """Facts (questions) the conditions read: the names that are not dose inputs."""
        return tuple(n for n in self.condition_names if n not in self.inputs)

    @model_validator(mode="after")
    def _consistent(self) -> Dosing:
        problems = list(_section_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _section_problems(d: Dosing) -> Iterator[str]:
    for name, declared in d.inputs.items():
        if name in STRUCTURAL:
            yield f"inputs.{name}: `{name}` is part of every dosing block; it is not declared"
        if name in RESERVED and declared.type != RESERVED[name]:
            yield f"inputs.{name}: must be of type {RESERVED[name]}"
        if declared.default is not None:
            yield f"inputs.{name}: only a field of an object input has a default"
        for field, sub in (declared.fields or {}).items():
            if sub.default is not None and sub.type in ("boolean", "choice"):
                ok = isinstance(sub.default, bool) if sub.type == "boolean" else sub.default in (sub.values or ())
                if not ok:
                    yield f"inputs.{name}.fields.{field}: the default is not a value of the field"
    if "cycle" not in d.inputs:
        yield "inputs: `cycle` must be declared (an integer, with its range)"
    if "bsa_method" in d.inputs and not set(d.inputs["bsa_method"].values or ()) <= set(BSA_METHODS):
        yield f"inputs.bsa_method: values must be among {', '.join(BSA_METHODS)}"
    units = {line.unit for s in d.schedules for line in s.doses}
    if len(units) > 1:
        yield "schedules: every dose must be in the same unit"
    bases = {line.basis for s in d.schedules for line in s.doses}
    if "per_m2" in bases:
        if d.bsa is None:
            yield "bsa: a per-m2 dose needs the BSA rules"
        if "bsa_m2" not in d.inputs and not {"height_cm", "weight_kg"} <= set(d.inputs):
            yield "inputs: a per-m2 dose needs bsa_m2, or height_cm and weight_kg"
    if d.reads_weight and "weight_kg" not in d.inputs:
        yield "inputs: a weight band or a per-kg dose needs weight_kg"
    for kind, items in (("schedules", d.schedules), ("stop_rules", d.stop_rules)):
        ids = [item.id for item in items]
        if len(set(ids)) != len(ids):
            yield f"{kind}: each id once"
    for c in d.conditions:
        for name, values in c.leaves():
            spec = d.inputs.get(name)
            if spec is None:
                continue  # a fact: checked against the questions (dosing_problems)
            if spec.domain is None:
                yield f"condition on {name!r}: only boolean and choice inputs can be tested"
            elif any(v not in spec.domain or isinstance(v, bool) != (spec.type == "boolean") for v in values):
                yield f"condition on {name!r}: a value is not one of the input's values"
    if d.day_window is not None:
        for schedule in d.schedules:
            yield from d.day_window.problems(schedule)
    r = d.response_definitions
    if r is not None:
        target, labs = d.inputs.get(r.input), d.inputs.get(r.labs)
        if target is None or target.type != "choice":
            yield f"response_definitions.input: {r.input!r} is not a choice input"
        elif any(v not in (target.values or ()) for v in [*(c.value for c in r.classes), r.otherwise]):
            yield f"response_definitions: a class is not a value of {r.input!r}"
        if labs is None or labs.type != "object":
            yield f"response_definitions.labs: {r.labs!r} is not an object input"
        else:
            fields = labs.fields or {}
            for f in r.findings:
                lab = fields.get(f.field)
                wanted = "boolean" if f.equals is not None else "number"
                if lab is None or lab.type != wanted:
                    yield f"response_definitions.findings: {f.id}: {f.field!r} is not a {wanted} field of {r.labs!r}"


def dosing_problems(version: PolicyVersion) -> Iterator[str]:
    """Cross-references of Section V with the rest of the version (questions, billing)."""
    d = version.dosing
    if d is None:
        return
    declared = version.questions_by_id
    for name in d.fact_names:
        q = declared.get(name)
        if q is None:
            yield f"dosing: a condition reads {name!r}, which is neither a dose input nor a question"
        elif q.type not in ("boolean", "choice"):
            yield f"dosing: a condition reads fact {name!r}; only boolean and choice facts can be tested"
        else:
            domain: tuple[Any, ...] = (True, False) if q.type == "boolean" else tuple(q.values or ())
            for c in d.conditions:
                for leaf, values in c.leaves():
                    if leaf == name and any(v not in domain or isinstance(v, bool) != (q.type == "boolean")
                                            for v in values):
                        yield f"dosing: condition on fact {name!r}: a value is not one of its values"
    for name in d.inputs:
        if name in declared:
            yield f"dosing.inputs.{name}: also a question; a name is a fact or a dose input, not both"
    if d.unit != version.billing.hcpcs.amount_unit:
        yield f"dosing: doses are in {d.unit} but {version.billing.hcpcs.code} units are counted in " \
              f"{version.billing.hcpcs.amount_unit}"
