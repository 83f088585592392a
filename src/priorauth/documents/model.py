"""What the template parser reads from a policy document: every machine-checkable item, with where it is."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

SECTIONS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "Appendix 1", "Appendix 2")


@dataclass(frozen=True, slots=True)
class Header:
    title: str
    brand: str
    drug: str
    route: str
    document_number: str
    date_approved: dt.date
    date_of_origin: dt.date
    dates_reviewed: tuple[str, ...]  # YYYY-MM
    where: dict[str, str]


@dataclass(frozen=True, slots=True)
class Authorization:
    """Section I for one indication (None: every indication)."""

    indication: str | None
    months: int
    cycles: int
    renewable: bool
    where: str
    phase_cycles: int | None = None  # the cycles of the phases listed (2 induction + 3 consolidation)
    renewal_months: int | None = None
    renewal_cycles: int | None = None
    continued_cycles: int | None = None
    total_cycles: int | None = None
    course_months: int | None = None


@dataclass(frozen=True, slots=True)
class UnitLimit:
    """A Section II limit: units every N days, for a cycle range of an indication."""

    indication: str | None
    first_cycle: int | None
    last_cycle: int | None
    units: int
    window_days: int
    max_cycles: int | None
    where: str


@dataclass(frozen=True, slots=True)
class Band:
    """A weight band: at least `at_least` kg and below `below` kg (None: open)."""

    at_least: Decimal | None
    below: Decimal | None

    def __str__(self) -> str:
        if self.below is None:
            return f"{self.at_least:f} kg or more"
        if self.at_least is None:
            return f"under {self.below:f} kg"
        return f"{self.at_least:f} kg to under {self.below:f} kg"


@dataclass(frozen=True, slots=True)
class Dose:
    """A Section V dose: `amount` `unit` (per m2 / per kg / flat) on each of `days` of the cycles given."""

    first_cycle: int
    last_cycle: int | None
    branch: str | None
    band: Band | None
    days: tuple[int, ...]
    amount: Decimal
    unit: str  # mg or mcg
    basis: str  # flat, per_m2, per_kg
    cap: Decimal | None
    where: str


@dataclass(frozen=True, slots=True)
class CycleTotal:
    """`1.8 mg/m2 total per cycle, administered as 3 divided doses`."""

    first_cycle: int
    last_cycle: int | None
    branch: str | None
    total: Decimal
    unit: str
    basis: str
    doses: int
    where: str


@dataclass(frozen=True, slots=True)
class CycleLength:
    first_cycle: int
    last_cycle: int | None
    days: int
    extended_days: int | None
    where: str
    infusion_days: int | None = None  # a continuous infusion: its days, then `gap_days` without
    gap_days: int | None = None


@dataclass(frozen=True, slots=True)
class CycleCount:
    """A number of cycles Section V gives: `at_most` N, response `within` N, `recommended` N, an Nth
    cycle `considered`, the response reviewed `after` N, or a `course` of N (its phases added up)."""

    kind: str
    cycles: int
    branch: str | None
    where: str


@dataclass
class DoseRow:
    """One indication's row of the Section V table."""

    indication: str
    where: str
    doses: list[Dose] = field(default_factory=list)
    totals: list[CycleTotal] = field(default_factory=list)
    lengths: list[CycleLength] = field(default_factory=list)
    counts: list[CycleCount] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)  # explanations inside the dose (compared as worded)
    text: str = ""


@dataclass(frozen=True, slots=True)
class Ndc:
    labeler_product: str  # 00008-0100
    pattern: str  # 00008-0100-xx
    vial_amount: Decimal
    vial_unit: str
    single_dose: bool
    description: str
    where: str


@dataclass(frozen=True, slots=True)
class BillingCodes:
    hcpcs: str
    description: str
    unit_amount: Decimal
    unit: str
    ndcs: tuple[Ndc, ...]
    where: str


@dataclass(frozen=True, slots=True)
class Reference:
    id: str  # VII.1, VIII.5e
    section: str
    text: str
    where: str


@dataclass(frozen=True, slots=True)
class DiagnosisCode:
    code: str
    description: str
    where: str


@dataclass(frozen=True, slots=True)
class JurisdictionRow:
    jurisdiction: str
    legacy: tuple[str, ...]
    states: tuple[str, ...]
    excluding: tuple[str, ...]  # states of which some counties are in another jurisdiction
    counties: dict[str, tuple[str, ...]]  # state -> counties and cities of another state's jurisdiction
    contractor: str
    where: str


@dataclass(frozen=True, slots=True)
class CriteriaLine:
    """A line of Section III or IV as the document words it (bullets keep `- ` and indentation)."""

    section: str
    text: str
    where: str


@dataclass(frozen=True, slots=True)
class Prose:
    """A line read as prose (a note, an explanation): compared as worded, not as items."""

    section: str
    text: str
    where: str


@dataclass
class PolicyDocument:
    """A policy document of the plan's template, read."""

    name: str
    sha256: str
    header: Header
    authorizations: list[Authorization]
    unit_limits: list[UnitLimit]
    dose_rows: list[DoseRow]
    billing: BillingCodes
    references: list[Reference]
    codes: list[DiagnosisCode]
    medicare_codes: str
    jurisdictions: list[JurisdictionRow]
    criteria: list[CriteriaLine]
    prose: list[Prose]
    section_lines: dict[str, str]  # section -> where its heading is

    def criteria_text(self, section: str) -> list[str]:
        return [c.text for c in self.criteria if c.section == section]

    def notes_text(self) -> dict[str, list[str]]:
        """The prose of each section that has some (not Sections III and IV, which are all text)."""
        out: dict[str, list[str]] = {}
        for p in self.prose:
            out.setdefault(p.section, []).append(p.text)
        return out
