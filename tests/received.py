"""Stored submissions are decided on the day the service receives them (docs/request-contract.md §1):
tests that store an example request move its dates so that its request date is today (UTC)."""

from __future__ import annotations

import calendar
import copy
import datetime as dt
import re
from typing import Any

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def dated_today(request: dict[str, Any], key: str = "request_date") -> dict[str, Any]:
    """A copy of `request` (or of its facts) with every date fact moved by the same number of days so that
    `key` is today: ages and periods between the dates stay as they were."""
    out = copy.deepcopy(request)
    facts = out["facts"] if "facts" in out else out
    if not isinstance(facts.get(key), str):
        return out
    shift = today() - dt.date.fromisoformat(facts[key])
    for name, value in facts.items():
        if isinstance(value, str) and _DATE.match(value):
            facts[name] = (dt.date.fromisoformat(value) + shift).isoformat()
    return out


def months_on(start: str, months: int) -> str:
    """The last day of a period of `months` calendar months from `start` (the day before the same day then)."""
    day = dt.date.fromisoformat(start)
    month = day.month + months
    year, month = day.year + (month - 1) // 12, (month - 1) % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return (dt.date(year, month, min(day.day, last)) - dt.timedelta(days=1)).isoformat()
