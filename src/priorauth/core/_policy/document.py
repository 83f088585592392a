"""The document around the rules: metadata, parameters, authorizations, scope, references, code lists, MAC table."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, StrictStr, field_validator

from priorauth.core._policy.base import YEAR_MONTH, Cited, Strict, parse_iso_date
from priorauth.core._policy.dosing import Condition, CycleRange


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


class Parameter(Cited):
    """A plain value of this version (Sections I, II, V), with its citation."""

    value: Any


# A number of an authorization's terms: written in place, or the name of a parameter holding it.
Count = Annotated[StrictInt, Field(ge=0)] | StrictStr
Flag = StrictBool | StrictStr


class Course(Strict):
    """The course of treatment an authorization stays within (Section I): it starts on the date
    fact `start`, ends the day before the same date `months` later, and holds `cycles` cycles in
    all, of which the integer fact `given` says how many were already given."""

    start: str
    months: Count
    cycles: Count
    given: str


class AuthorizationTerms(Cited):
    """What an approval of one indication branch carries (Sections I and II).

    Chosen by `when` (a condition on facts: `{fact: [values]}`, or `all`/`any`/`not`); the
    first entry, in file order, whose condition holds. `cycles` are the treatment cycles of the
    course it covers (dose checks and claim lines take its unit limit for those cycles). An
    approval starts on the decision date and lasts `months`; with a `course`, it also ends no
    later than the course, covers no more cycles than the course has left, and is renewable only
    while cycles of the course remain after it.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    when: Condition | None = None
    cycles: CycleRange | None = None
    months: Count
    max_cycles: Count
    max_units: Count
    unit_window_days: Count
    renewable: Flag
    course: Course | None = None


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
    state_fact: str
    county_fact: str
    jurisdictions: list[Jurisdiction]


SHA256 = r"^[0-9a-f]{64}$"


class SourceIndication(Strict):
    """How the source document names one indication branch (its Section I, II and V headings may
    word it differently), and the condition on facts that selects the branch in this file."""

    names: list[str] = Field(min_length=1)
    when: Condition


class SourceDocument(Strict):
    """The document this version was made from: its file name, the SHA-256 of its canonical text,
    its approval date, its Sections III and IV as it words them, line by line, and its other prose
    (`priorauth policy diff` compares a document with these, since the criteria's text in this
    file is ours and the prose is in no item)."""

    file: str
    sha256: str = Field(pattern=SHA256)
    date_approved: dt.date
    criteria_text: dict[str, list[str]]
    # The document's other prose (notes, explanations) by section, as worded: what no item covers.
    notes_text: dict[str, list[str]] = Field(default_factory=dict)
    indications: list[SourceIndication] = Field(default_factory=list)

    @field_validator("date_approved", mode="before")
    @classmethod
    def _date(cls, raw: Any) -> dt.date:
        return parse_iso_date(raw)

    @field_validator("criteria_text")
    @classmethod
    def _sections(cls, raw: dict[str, list[str]]) -> dict[str, list[str]]:
        if set(raw) != {"III", "IV"}:
            raise ValueError("holds the lines of Sections III and IV, under the keys III and IV")
        return raw
