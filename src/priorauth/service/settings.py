"""Service settings, from the environment (PRIORAUTH_*, DATABASE_URL) or given in code."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from priorauth.store.settings import StoreSettings


def _hours(name: str, default: float) -> dt.timedelta:
    raw = os.environ.get(name)
    if raw is None:
        return dt.timedelta(hours=default)
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}: expected a number of hours") from None
    if value < 0:
        raise ValueError(f"{name}: must not be negative")
    return dt.timedelta(hours=value)


def _minutes(name: str, default: float) -> dt.timedelta:
    """A positive duration in minutes (times 60 for a setting in hours)."""
    raw = os.environ.get(name)
    if raw is None:
        return dt.timedelta(minutes=default)
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}: expected a number") from None
    if not 0 < value <= 100_000:
        raise ValueError(f"{name}: must be more than 0 and at most 100000")
    return dt.timedelta(minutes=value)


def _days(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}: expected a whole number of days") from None
    if not 0 <= value <= 366:
        raise ValueError(f"{name}: expected 0-366 days")
    return value


def _items(name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


@dataclass(frozen=True)
class Settings(StoreSettings):
    """What an operator can configure: the store's settings and the service's own."""

    due_expedited: dt.timedelta = dt.timedelta(hours=72)
    due_standard: dt.timedelta = dt.timedelta(days=7)
    max_body_bytes: int = 64 * 1024
    disabled_doors: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    demo: bool = False
    # A stored submission's own request date may be this many days before the day received, no more.
    request_date_window_days: int = 3
    web_session_idle: dt.timedelta = dt.timedelta(minutes=30)
    web_session_lifetime: dt.timedelta = dt.timedelta(hours=8)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """DATABASE_URL, PRIORAUTH_DUE_EXPEDITED_HOURS (72), PRIORAUTH_DUE_STANDARD_HOURS (168),
        PRIORAUTH_MAX_BODY_BYTES (65536), PRIORAUTH_SQLITE_SYNCHRONOUS (NORMAL),
        PRIORAUTH_DISABLED_DOORS (comma-separated: fhir, web; default none), PRIORAUTH_CORS_ORIGINS
        (comma-separated origins; default none), PRIORAUTH_DEMO (set by `priorauth serve --demo`),
        PRIORAUTH_WEB_SESSION_IDLE_MINUTES (30), PRIORAUTH_WEB_SESSION_HOURS (8)."""
        values: dict[str, object] = {
            "database_url": os.environ.get("DATABASE_URL"),
            "due_expedited": _hours("PRIORAUTH_DUE_EXPEDITED_HOURS", 72),
            "due_standard": _hours("PRIORAUTH_DUE_STANDARD_HOURS", 168),
            "max_body_bytes": int(os.environ.get("PRIORAUTH_MAX_BODY_BYTES", 64 * 1024)),
            "sqlite_synchronous": os.environ.get("PRIORAUTH_SQLITE_SYNCHRONOUS"),
            "disabled_doors": tuple(d for d in os.environ.get("PRIORAUTH_DISABLED_DOORS", "").split(",") if d),
            "cors_origins": _items("PRIORAUTH_CORS_ORIGINS"),
            "demo": os.environ.get("PRIORAUTH_DEMO", "") not in ("", "0"),
            "web_session_idle": _minutes("PRIORAUTH_WEB_SESSION_IDLE_MINUTES", 30),
            "web_session_lifetime": _minutes("PRIORAUTH_WEB_SESSION_HOURS", 8) * 60,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def due_after(self, urgency: str) -> dt.timedelta:
        return self.due_expedited if urgency == "expedited" else self.due_standard
