"""Storage: SQLAlchemy 2 models and Alembic migrations (SQLite by default, PostgreSQL via DATABASE_URL).

`priorauth.store.settings` is light (no SQLAlchemy): the command line reads it at every start.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Database", "database_url", "upgrade"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from priorauth.store import db

        return getattr(db, name)
    raise AttributeError(f"module 'priorauth.store' has no attribute {name!r}")
