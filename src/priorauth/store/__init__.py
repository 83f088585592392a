"""Storage: SQLAlchemy 2 models and Alembic migrations (SQLite by default, PostgreSQL via DATABASE_URL)."""

from priorauth.store.db import Database, database_url, upgrade

__all__ = ["Database", "database_url", "upgrade"]
