"""Building blocks of the policy language: strict models, ISO dates, citations."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
YEAR_MONTH = re.compile(r"^\d{4}-\d{2}$")


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
    """Unknown keys are errors; a loaded policy never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Cited(Strict):
    """An item of the policy with the section of the source document it comes from."""

    section: str
    text: str
    reading: str | None = None
