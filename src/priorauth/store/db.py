"""Engines, sessions and migrations.

`Database(url)` owns one SQLAlchemy engine and hands out sessions::

    db = Database.open()            # DATABASE_URL, else var/priorauth.db; created and migrated
    db = Database.existing()        # the same, but never created or migrated (commands that read)
    with db.session() as session:   # one unit of work; service functions commit
        ...

SQLite runs in WAL mode with every transaction `BEGIN IMMEDIATE` (writers queue
instead of failing on a lock upgrade) and one pooled connection per process, so
threads take turns rather than spin on the busy handler. `synchronous` is NORMAL by
default: a killed process loses no acknowledged commit; PRIORAUTH_SQLITE_SYNCHRONOUS=FULL
makes each commit durable against a power cut too, at some cost in throughput.

`backup_sqlite` and `restore_sqlite` copy a live SQLite database page by page with
SQLite's online backup API (PostgreSQL: pg_dump and pg_restore, docs/operations.md).
"""

from __future__ import annotations

import os
import sqlite3
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
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from priorauth.store.errors import DatabaseMissing, StoreError
from priorauth.store.settings import StoreSettings, default_database_url

SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
# Only for finding the migration scripts; no database is opened with it.
_SCRIPTS_URL = "sqlite://"


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else DATABASE_URL, else the SQLite file var/priorauth.db (PRIORAUTH_HOME)."""
    url = url or os.environ.get("DATABASE_URL") or default_database_url()
    # Hosted PostgreSQL URLs often say postgres:// or postgresql://; we use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL; None for other databases and for an in-memory SQLite database."""
    url = database_url(url)
    if not url.startswith("sqlite"):
        return None
    name = make_url(url).database
    return Path(name) if name and name != ":memory:" and not name.startswith("file:") else None


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(database_url(url)).render_as_string(hide_password=True)


def make_engine(url: str, sqlite_synchronous: str | None = None) -> Engine:
    """An engine configured for the service (see the module docstring)."""
    url = database_url(url)
    if url.startswith("postgresql"):
        _require_driver()
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


def _require_driver() -> None:
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        raise StoreError(
            "database: PostgreSQL needs the postgres extra: pip install 'priorauth[postgres]'"
        ) from None


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
    return ScriptDirectory.from_config(alembic_config(_SCRIPTS_URL)).get_current_head()


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
        """The configured database, migrated to the latest schema (an SQLite file is created if missing)."""
        return cls(url, settings)

    @classmethod
    def existing(cls, url: str | None = None, settings: Any = None) -> Database:
        """The configured database as it is: never created, never migrated.

        Raises DatabaseMissing, one line naming the database and what to do, when the SQLite file
        does not exist, the database does not answer, or its schema is not the latest.
        """
        settings = settings or StoreSettings.from_env()
        url = database_url(url or settings.database_url)
        path = sqlite_path(url)
        if path is not None and not path.is_file():
            raise DatabaseMissing(
                f"database: {path} does not exist (nothing was created). Start the service first "
                "(`make run` or `priorauth serve`) or name the service's database with --database-url or "
                "DATABASE_URL (PRIORAUTH_HOME sets the folder of the default var/priorauth.db)"
            )
        db = cls(url, settings, migrate=False)
        try:
            current = current_revision(db.engine)
        except DatabaseMissing:
            db.dispose()
            raise
        except Exception as exc:  # noqa: BLE001 - one line, no traceback
            db.dispose()
            raise DatabaseMissing(f"database: cannot open {display_url(url)} ({_first_line(exc)})") from None
        latest = head_revision()
        if current != latest:
            db.dispose()
            raise DatabaseMissing(
                f"database: {display_url(url)} is at schema revision {current or 'none'}, not the latest "
                f"({latest}): run `priorauth db upgrade`"
            )
        return db

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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy one SQLite database into another with the online backup API (consistent while in use)."""
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst, pages=1024)
            dst.execute("PRAGMA journal_mode=DELETE")  # a backup is one self-contained file
        finally:
            dst.close()
    finally:
        src.close()


POSTGRES_BACKUP = {
    "db backup": "PostgreSQL is backed up with pg_dump (docs/operations.md)",
    "db restore": "restore PostgreSQL with pg_restore, then record it with `priorauth db restore --record-only FILE` "
    "(docs/operations.md)",
}


def sqlite_file(url: str, command: str) -> Path:
    """The SQLite file of `url`; for any other database a StoreError saying what to use instead."""
    path = sqlite_path(url)
    if path is None:
        raise StoreError(f"{command}: {display_url(url)} is not an SQLite file; {POSTGRES_BACKUP[command]}")
    return path


def backup_sqlite(url: str, target: Path) -> Path:
    """Copy the live SQLite database of `url` to the new file `target` (online backup API); return the source."""
    source = sqlite_file(url, "db backup")
    if not source.is_file():
        raise DatabaseMissing(f"db backup: {source} does not exist")
    if target.exists():
        raise StoreError(f"db backup: {target} exists already; choose a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _sqlite_copy(source, target)
        check = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
        try:
            ok = check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            check.close()
    except sqlite3.Error as exc:
        target.unlink(missing_ok=True)
        raise StoreError(f"db backup: {_first_line(exc)}") from None
    if not ok:
        target.unlink(missing_ok=True)
        raise StoreError(f"db backup: the copy of {source} failed its integrity check; nothing kept")
    return source


def open_backup(path: Path) -> Engine:
    """A read-only engine on a backup file (no pragmas that would change it)."""
    if not path.is_file():
        raise DatabaseMissing(f"db restore: {path} does not exist")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as probe:
            probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        raise StoreError(f"db restore: {path} is not an SQLite database") from None
    return create_engine(
        f"sqlite:///file:{path}?mode=ro&uri=true", json_deserializer=orjson.loads, json_serializer=_json_dumps
    )


def restore_sqlite(url: str, backup: Path, keep: Path | None) -> Path:
    """Replace the SQLite database of `url` with `backup`; the replaced database is first copied to `keep`."""
    target = sqlite_file(url, "db restore")
    if target.resolve() == backup.resolve():
        raise StoreError("db restore: the backup is the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if keep is not None and target.is_file():
            _sqlite_copy(target, keep)
        # Into the live file through SQLite (its WAL and locks respected), not a file copy.
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(target, timeout=30)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise StoreError(f"db restore: {_first_line(exc)}") from None
    return target
