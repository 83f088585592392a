"""Engines, sessions and migrations.

`Database(url)` owns one SQLAlchemy engine and hands out sessions::

    db = Database.open()            # DATABASE_URL, else the SQLite file; migrated
    with db.session() as session:   # one unit of work; service functions commit
        ...

SQLite runs in WAL mode with every transaction `BEGIN IMMEDIATE` (writers queue
instead of failing on a lock upgrade) and one pooled connection per process, so
threads take turns rather than spin on the busy handler. `synchronous` is FULL by
default: a commit is on disk before it returns, so an acknowledged submission
survives a power cut as well as a killed process (PRIORAUTH_SQLITE_SYNCHRONOUS=NORMAL
trades the power-cut guarantee for speed; a killed process still loses nothing).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from priorauth.store.settings import StoreSettings

DEFAULT_URL = "sqlite:///priorauth.db"
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else DATABASE_URL, else the SQLite file priorauth.db."""
    url = url or os.environ.get("DATABASE_URL") or DEFAULT_URL
    # Hosted PostgreSQL URLs often say postgres:// or postgresql://; we use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, sqlite_synchronous: str | None = None) -> Engine:
    """An engine configured for the service (see the module docstring)."""
    url = database_url(url)
    if url.startswith("sqlite"):
        sync = (sqlite_synchronous or os.environ.get("PRIORAUTH_SQLITE_SYNCHRONOUS") or "NORMAL").upper()
        if sync not in SQLITE_SYNCHRONOUS:
            raise ValueError(f"PRIORAUTH_SQLITE_SYNCHRONOUS: not one of {', '.join(SQLITE_SYNCHRONOUS)}")
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            connect_args={"check_same_thread": False, "timeout": 30},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # SQLAlchemy, not pysqlite, opens transactions
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={sync}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
    )


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("priorauth.store") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, engine: Engine | None = None, revision: str = "head") -> None:
    """Migrate the database to `revision` (creates an SQLite file that does not exist yet)."""
    url = database_url(url)
    engine = engine or make_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config(DEFAULT_URL)).get_current_head()


class Database:
    """One engine and its session factory; `settings` travel with every session (session.info).

    `settings` is a StoreSettings or anything with its fields (the service's Settings extends it).
    """

    def __init__(self, url: str | None = None, settings: Any = None, *, migrate: bool = True) -> None:
        self.settings = settings or StoreSettings.from_env()
        self.url = database_url(url or self.settings.database_url)
        self.engine = make_engine(self.url, self.settings.sqlite_synchronous)
        if migrate:
            upgrade(self.url, self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, info={"settings": self.settings})

    @classmethod
    def open(cls, url: str | None = None, settings: Any = None) -> Database:
        """The configured database, migrated to the latest schema."""
        return cls(url, settings)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session; rolled back (if uncommitted) and closed on exit."""
        session = self._sessions()
        try:
            yield session
        finally:
            session.close()

    def ready(self) -> bool:
        """True when the database answers and is at the latest migration."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return current_revision(self.engine) == head_revision()
        except Exception:  # noqa: BLE001 - readiness reports, never raises
            return False

    def dispose(self) -> None:
        self.engine.dispose()
