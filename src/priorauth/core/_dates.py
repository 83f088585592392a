"""The contract's date rules (request-contract.md section 4): ages and periods of months."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from dateutil.relativedelta import relativedelta

ONE_DAY = dt.timedelta(days=1)


@lru_cache(maxsize=4096)
def months_after(start: dt.date, months: int) -> dt.date:
    """The same day of the month `months` later; where that month has no such day, the first
    day of the month after it.

    Both rules of the contract follow from it: an age of N months is reached on
    `months_after(birth, N)` (29 February + 12 months: 1 March), and a period of N months
    from `start` ends the day before `months_after(start, N)` (31 August + 6 months: ends
    28 or 29 February).
    """
    same_day = start + relativedelta(months=+months)  # dateutil clips to the month's end
    return same_day if same_day.day == start.day else same_day + ONE_DAY


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years; a birthday is reached on its date (29 February: on 1 March in common years)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def months_reached(birth: dt.date, day: dt.date, months: int) -> bool:
    """Whether an age of `months` months is reached on `day`."""
    return months_after(birth, months) <= day
