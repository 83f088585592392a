"""What the store reads from the environment: the database URL and SQLite's durability."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class StoreSettings:
    """DATABASE_URL (default: the SQLite file), PRIORAUTH_SQLITE_SYNCHRONOUS (default FULL)."""

    database_url: str | None = None
    sqlite_synchronous: str | None = None

    @classmethod
    def from_env(cls) -> StoreSettings:
        return cls(os.environ.get("DATABASE_URL"), os.environ.get("PRIORAUTH_SQLITE_SYNCHRONOUS"))
