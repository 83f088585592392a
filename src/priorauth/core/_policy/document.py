"""The document around the rules: metadata, parameters, scope, references, code lists, MAC table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field, field_validator

from priorauth.core._policy.base import YEAR_MONTH, Cited, Strict, parse_iso_date


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
