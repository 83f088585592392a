"""Building blocks of the policy language: strict models, ISO dates, citations."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
YEAR_MONTH = re.compile(r"^\d{4}-\d{2}$")


# The years a date may name (request-contract.md, "Dates"): every fact, request and policy date.
# Wide enough for any birth date and policy period, narrow enough that the contract's month
# arithmetic (periods, ages, look-backs of up to a few hundred years) never leaves Python's
# calendar: 9999-12-31 plus six months is not a date, and was a 500.
MIN_YEAR, MAX_YEAR = 1800, 2999


def parse_iso_date(value: Any) -> dt.date:
    """Parse a strict YYYY-MM-DD date from MIN_YEAR to MAX_YEAR; raise ValueError naming the problem."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        day = value
    elif not isinstance(value, str) or not ISO_DATE.match(value):
        raise ValueError("expected a date written YYYY-MM-DD")
    else:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError("not a valid calendar date") from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"outside the years {MIN_YEAR}-{MAX_YEAR}")
    return day


class Strict(BaseModel):
    """Unknown keys are errors; a loaded policy never changes.

    Validators are built on first use (`defer_build`): a command that finds its policy
    validated in the loader's cache never builds them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Cited(Strict):
    """An item of the policy with the section of the source document it comes from."""

    section: str
    text: str
    reading: str | None = None
