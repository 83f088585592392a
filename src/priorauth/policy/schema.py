"""Typed model of a policy file; validation of its structure and cross-references."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
YEAR_MONTH = re.compile(r"^\d{4}-\d{2}$")

# Leaf operators of the criteria tree; implemented once in priorauth.criteria.
LEAF_OPERATORS = ("equals", "in", "age_at_least", "age_below", "codes_in", "within_months", "below_parameter")
COMPOSITE_OPERATORS = ("all", "any", "not")


def parse_iso_date(value: Any) -> dt.date:
    """Parse a strict YYYY-MM-DD date; raise ValueError naming the problem."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise ValueError("expected a date written YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a valid calendar date") from None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Question(Strict):
    id: str
    type: Literal["boolean", "choice", "date", "string", "integer", "code_list", "state"]
    text: str
    values: list[str] | None = None
    default: str | None = None
    code_system: str | None = None
    minimum: int | None = None
    phi: bool = False
    # For a question no criterion reads: asked only when another fact has one of these values.
    asked_when: dict[str, list[Any]] | None = None

    @model_validator(mode="after")
    def _choice_has_values(self) -> Question:
        if self.type == "choice" and not self.values:
            raise ValueError("a choice question needs `values`")
        if self.type != "choice" and self.values is not None:
            raise ValueError("only a choice question has `values`")
        if self.default is not None and self.values is not None and self.default not in self.values:
            raise ValueError(f"default {self.default!r} is not one of the values")
        return self


class DatedValues(Strict):
    """A parameter: one value per effective date, with its citation."""

    section: str
    text: str
    values: dict[dt.date, Any]

    @field_validator("values", mode="before")
    @classmethod
    def _dates(cls, raw: Any) -> Any:
        if not isinstance(raw, dict) or not raw:
            raise ValueError("expected a mapping of effective date -> value")
        out = {}
        for key, value in raw.items():
            try:
                out[parse_iso_date(key)] = value
            except ValueError as exc:
                raise ValueError(f"key {key!r}: {exc}") from None
        return out

    def at(self, day: dt.date) -> Any:
        """The value in force on `day` (the latest effective date not after it)."""
        best = None
        for effective, value in self.values.items():
            if effective <= day and (best is None or effective > best[0]):
                best = (effective, value)
        if best is None:
            raise LookupError(f"no value in force on {day.isoformat()}")
        return best[1]


class Criterion(Strict):
    """A node of the criteria tree: exactly one operator, composite or leaf."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str
    section: str
    text: str
    reading: str | None = None
    evidence: list[str] = Field(default_factory=list)
    # A guard selects its branch: a branch that fails on its guard is not a denial reason.
    guard: bool = False
    all: list[Criterion] | None = None
    any: list[Criterion] | None = None
    not_: Criterion | None = Field(default=None, alias="not")
    equals: dict[str, Any] | None = None
    in_: dict[str, list[Any]] | None = Field(default=None, alias="in")
    age_at_least: int | None = None
    age_below: int | None = None
    codes_in: dict[str, str] | None = None
    within_months: dict[str, str] | None = None
    below_parameter: dict[str, str] | None = None

    @property
    def operator(self) -> str:
        for name in COMPOSITE_OPERATORS + LEAF_OPERATORS:
            if getattr(self, name if name not in ("not", "in") else name + "_") is not None:
                return name
        raise AssertionError("validated criterion without operator")

    @property
    def children(self) -> list[Criterion]:
        if self.all is not None:
            return self.all
        if self.any is not None:
            return self.any
        if self.not_ is not None:
            return [self.not_]
        return []

    @model_validator(mode="after")
    def _one_operator(self) -> Criterion:
        present = [
            name
            for name in COMPOSITE_OPERATORS + LEAF_OPERATORS
            if getattr(self, name if name not in ("not", "in") else name + "_") is not None
        ]
        if len(present) != 1:
            raise ValueError(
                f"criterion {self.id!r} needs exactly one operator of "
                f"{', '.join(COMPOSITE_OPERATORS + LEAF_OPERATORS)}; found {present or 'none'}"
            )
        op = present[0]
        if op in ("all", "any") and not getattr(self, op):
            raise ValueError(f"criterion {self.id!r}: `{op}` needs at least one child")
        if op in ("equals", "in", "codes_in") and len(getattr(self, op if op != "in" else "in_")) != 1:
            raise ValueError(f"criterion {self.id!r}: `{op}` takes exactly one fact")
        if op in ("within_months", "below_parameter"):
            spec = getattr(self, op)
            if set(spec) != {"fact", "parameter"}:
                raise ValueError(f"criterion {self.id!r}: `{op}` takes `fact` and `parameter`")
        return self


class Version(Strict):
    effective: dt.date
    note: str = ""

    @field_validator("effective", mode="before")
    @classmethod
    def _date(cls, raw: Any) -> dt.date:
        return parse_iso_date(raw)


class Metadata(Strict):
    document_number: str
    date_approved: dt.date
    date_of_origin: dt.date
    dates_reviewed: list[str]
    source: str

    @field_validator("date_approved", "date_of_origin", mode="before")
    @classmethod
    def _date(cls, raw: Any) -> dt.date:
        return parse_iso_date(raw)

    @field_validator("dates_reviewed")
    @classmethod
    def _months(cls, raw: list[str]) -> list[str]:
        for item in raw:
            if not YEAR_MONTH.match(item) or not 1 <= int(item[5:]) <= 12:
                raise ValueError(f"{item!r} is not a month written YYYY-MM")
        return raw


class Scope(Strict):
    section: str
    fact: str
    not_governed: list[str]
    text: str


class Reference(Strict):
    id: str
    section: str
    text: str


class CodeList(Strict):
    section: str
    system: str
    codes: dict[str, str]


class Jurisdiction(Strict):
    jurisdiction: str
    contractor: str
    states: list[str]
    legacy: list[str] = Field(default_factory=list)
    counties: dict[str, list[str]] = Field(default_factory=dict)
    reading: str | None = None


class MacJurisdictions(Strict):
    section: str
    text: str
    state_fact: str = "member_state"
    county_fact: str = "member_county"
    jurisdictions: list[Jurisdiction]


class Hcpcs(Strict):
    code: str
    description: str
    mg_per_unit: float


class NdcProduct(Strict):
    pattern: str
    labeler: str
    product: str
    description: str
    vial_mg: float
    single_dose: bool


class WasteModifiers(Strict):
    """HCPCS modifiers for discarded drug from a single-dose vial."""

    reading: str
    discarded: str
    none_discarded: str


class RxNormCode(Strict):
    """An RxNorm concept that identifies the drug on an order (CRD)."""

    code: str
    tty: str
    display: str
    reading: str | None = None


class Billing(Strict):
    section: str
    hcpcs: Hcpcs
    ndc: list[NdcProduct]
    rxnorm: list[RxNormCode] = Field(default_factory=list)
    modifiers: WasteModifiers

    @model_validator(mode="after")
    def _whole_units_per_vial(self) -> Billing:
        unit = Decimal(str(self.hcpcs.mg_per_unit))
        for i, product in enumerate(self.ndc):
            if unit <= 0 or Decimal(str(product.vial_mg)) % unit != 0:
                raise ValueError(f"ndc[{i}].vial_mg: not a whole number of {self.hcpcs.code} units")
        return self


# --- Section V: dosing -----------------------------------------------------------------

Positive = Annotated[Decimal, Field(gt=0)]
DosesPerM2 = dict[int, Positive]


class CycleOneDosing(Strict):
    section: str
    length_days: int = Field(gt=0)
    extended_length_days: int = Field(gt=0)
    extension_when: str
    doses_mg_per_m2: DosesPerM2


class DoseSchedule(Strict):
    doses_mg_per_m2: DosesPerM2


class LaterCyclesDosing(Strict):
    section: str
    length_days: int = Field(gt=0)
    cr_or_cri_achieved: DoseSchedule
    cr_or_cri_not_achieved: DoseSchedule


class SectionRule(Strict):
    """A Section V rule: its id, section, our text and the reading chosen, if any."""

    id: str
    section: str
    text: str
    reading: str | None = None


class NoResponseRule(SectionRule):
    within_cycles: int = Field(gt=0)


class HsctRule(SectionRule):
    cycles: int = Field(gt=0)
    extra_cycles: int = Field(ge=0)


class MaxCyclesRule(SectionRule):
    max_cycles: int = Field(gt=0)


class StopRules(Strict):
    no_response: NoResponseRule
    hsct: HsctRule
    no_hsct: MaxCyclesRule


class ResponseDefinitions(Strict):
    """CR and CRi thresholds; counts in `counts_unit`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    section: str
    marrow_blasts_below_percent: Positive
    platelets_recovered_at_least: Positive
    anc_recovered_at_least: Positive
    counts_unit: str
    cr: str = Field(alias="CR")
    cri: str = Field(alias="CRi")


class BsaRules(Strict):
    section: str
    default_method: Literal["mosteller", "dubois", "haycock"]
    decimals: int = Field(ge=0, le=4)
    reading: str


class Range(Strict):
    min: Positive
    max: Positive

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min >= self.max:
            raise ValueError("min must be below max")
        return self


class PlausibleRanges(Strict):
    reading: str
    height_cm: Range
    weight_kg: Range
    bmi_kg_per_m2: Range
    bsa_m2: Range


class Dosing(Strict):
    """Section V: dose schedule per cycle, stop rules, response definitions."""

    section: str
    indication: str
    dose_days: list[int] = Field(min_length=1)
    cycle_1: CycleOneDosing
    subsequent_cycles: LaterCyclesDosing
    stop_rules: StopRules
    response_definitions: ResponseDefinitions
    bsa: BsaRules
    plausible_ranges: PlausibleRanges

    @model_validator(mode="after")
    def _schedules_use_dose_days(self) -> Dosing:
        if sorted(set(self.dose_days)) != self.dose_days or self.dose_days[0] < 1:
            raise ValueError("dose_days: expected increasing day numbers from 1")
        schedules = {
            "cycle_1": self.cycle_1.doses_mg_per_m2,
            "subsequent_cycles.cr_or_cri_achieved": self.subsequent_cycles.cr_or_cri_achieved.doses_mg_per_m2,
            "subsequent_cycles.cr_or_cri_not_achieved": self.subsequent_cycles.cr_or_cri_not_achieved.doses_mg_per_m2,
        }
        for name, doses in schedules.items():
            if sorted(doses) != self.dose_days:
                raise ValueError(f"{name}.doses_mg_per_m2: days must be exactly dose_days")
        c1 = self.cycle_1
        if self.dose_days[-1] > c1.length_days or c1.extended_length_days < c1.length_days:
            raise ValueError("cycle_1: dose days must fall within the cycle, and the extension must not shorten it")
        return self


class Policy(Strict):
    """A whole policy file, validated."""

    id: str
    title: str
    drug: str
    route: str
    metadata: Metadata
    versions: list[Version]
    questions: list[Question]
    parameters: dict[str, DatedValues]
    scope: Scope | None = None
    criteria: Criterion
    dosing: Dosing
    billing: Billing
    references: list[Reference]
    code_lists: dict[str, CodeList]
    mac_jurisdictions: MacJurisdictions | None = None

    @model_validator(mode="after")
    def _cross_references(self) -> Policy:
        problems = list(cross_reference_problems(self))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def question(self, fact: str) -> Question:
        for q in self.questions:
            if q.id == fact:
                return q
        raise KeyError(fact)

    def version_on(self, day: dt.date) -> dt.date | None:
        """Effective date of the version in force on `day`, None before the first."""
        in_force = [v.effective for v in self.versions if v.effective <= day]
        return max(in_force) if in_force else None

    def parameter(self, name: str, day: dt.date) -> Any:
        return self.parameters[name].at(day)


def walk(node: Criterion, path: str = "criteria"):
    """Yield (path, criterion) for every node, depth first."""
    yield path, node
    op = node.operator
    for i, child in enumerate(node.children):
        yield from walk(child, f"{path}.{op}[{i}]" if op != "not" else f"{path}.not")


def criterion_facts(node: Criterion) -> list[str]:
    """Facts a leaf reads."""
    op = node.operator
    if op in ("equals", "in", "codes_in"):
        return list(getattr(node, op if op != "in" else "in_"))
    if op in ("age_at_least", "age_below"):
        return ["birth_date", "request_date"]
    if op in ("within_months", "below_parameter"):
        facts = [getattr(node, op)["fact"]]
        return facts + (["request_date"] if op == "within_months" else [])
    return []


def cross_reference_problems(policy: Policy):
    declared = {q.id: q for q in policy.questions}
    seen_questions: set[str] = set()
    for i, q in enumerate(policy.questions):
        if q.id in seen_questions:
            yield f"questions[{i}]: question {q.id!r} declared twice"
        seen_questions.add(q.id)
    version_dates = {v.effective for v in policy.versions}
    if not version_dates:
        yield "versions: at least one version is needed"
    for name, param in policy.parameters.items():
        for day in param.values:
            if day not in version_dates:
                yield f"parameters.{name}.values.{day.isoformat()}: not a date listed under `versions`"
    reference_ids = {r.id for r in policy.references}
    seen_ids: dict[str, str] = {}
    for path, node in walk(policy.criteria):
        if node.id in seen_ids:
            yield f"{path}: criterion id {node.id!r} is also used at {seen_ids[node.id]}"
        seen_ids[node.id] = path
        for ref in node.evidence:
            if ref not in reference_ids:
                yield f"{path}.evidence: unknown reference {ref!r}"
        for fact in criterion_facts(node):
            if fact not in declared:
                yield f"{path}: reads fact {fact!r}, which is not declared under `questions`"
        op = node.operator
        if op in ("equals", "in"):
            fact, expected = next(iter(getattr(node, op if op != "in" else "in_").items()))
            question = declared.get(fact)
            values = expected if op == "in" else [expected]
            if question is not None and question.type == "choice":
                for v in values:
                    if v not in (question.values or []):
                        yield f"{path}: value {v!r} is not one of the values of {fact!r}"
            if question is not None and question.type == "boolean":
                for v in values:
                    if not isinstance(v, bool):
                        yield f"{path}: {fact!r} is boolean; {v!r} is not true or false"
        if op == "codes_in":
            fact, list_name = next(iter(node.codes_in.items()))
            if list_name not in policy.code_lists:
                yield f"{path}: unknown code list {list_name!r}"
            if fact in declared and declared[fact].type != "code_list":
                yield f"{path}: {fact!r} is not a code_list question"
        if op in ("within_months", "below_parameter"):
            param = getattr(node, op)["parameter"]
            if param not in policy.parameters:
                yield f"{path}: unknown parameter {param!r}"
    for i, q in enumerate(policy.questions):
        for fact, values in (q.asked_when or {}).items():
            if fact not in declared:
                yield f"questions[{i}].asked_when: fact {fact!r} is not declared under `questions`"
            elif declared[fact].type == "choice":
                for v in values:
                    if v not in (declared[fact].values or []):
                        yield f"questions[{i}].asked_when: value {v!r} is not one of the values of {fact!r}"
    if policy.mac_jurisdictions is not None:
        for fact in (policy.mac_jurisdictions.state_fact, policy.mac_jurisdictions.county_fact):
            if fact not in declared:
                yield f"mac_jurisdictions: fact {fact!r} is not declared under `questions`"
    if policy.scope is not None and policy.scope.fact not in declared:
        yield f"scope.fact: {policy.scope.fact!r} is not declared under `questions`"
