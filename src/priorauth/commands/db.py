"""`priorauth db`: schema migrations (Alembic, shipped inside the package), backup and restore."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

URL_OPTION = typer.Option(
    "--database-url",
    help="Default: DATABASE_URL, else database_url in the settings file, else var/priorauth.db under PRIORAUTH_HOME "
    "(the working folder).",
)


def open_existing(database_url: str | None) -> Any:
    """The database a reading command uses: never created or migrated; one line on stderr when it cannot be used."""
    from priorauth.cli import user_errors
    from priorauth.store.db import Database

    with user_errors():
        return Database.existing(database_url)


def record_restore(db: Any, source: str) -> tuple[int, int]:
    """Check the audit chain as restored, then append a `restore` event; returns (events restored, its seq)."""
    from priorauth.cli import fail
    from priorauth.service import SYSTEM, verify_chain
    from priorauth.service.audit import append_event

    with db.session() as session:
        result = verify_chain(session)
        if not result.ok:
            fail(f"db restore: the restored audit trail is broken ({result.problems[0]}); no restore event recorded")
        event = append_event(session, SYSTEM, "restore", detail={"source": source, "events_restored": result.events})
        session.commit()
    return result.events, int(event["seq"])


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="The database: schema migrations, backup and restore.", no_args_is_help=True)
    app.add_typer(db_app, name="db")
    register_roles(db_app)

    @db_app.command("upgrade")
    def upgrade(
        database_url: Annotated[str | None, URL_OPTION] = None,
        revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
    ) -> None:
        """Migrate the database to the latest schema (creates an SQLite file if needed)."""
        from priorauth.cli import fail, user_errors
        from priorauth.store.db import current_revision, display_url, make_engine
        from priorauth.store.db import database_url as resolve
        from priorauth.store.db import upgrade as run

        url = resolve(database_url)
        with user_errors():
            engine = make_engine(url)
        try:
            run(url, engine, revision)
            typer.echo(f"{display_url(url)}: at revision {current_revision(engine)}")
        except Exception as exc:  # noqa: BLE001 - one line, no traceback
            fail(f"database: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'failed'}")

    @db_app.command("current")
    def current(database_url: Annotated[str | None, URL_OPTION] = None) -> None:
        """Print the database's schema revision and the latest one (never creates a database)."""
        from priorauth.cli import user_errors
        from priorauth.store.db import (
            DatabaseMissing,
            current_revision,
            display_url,
            head_revision,
            make_engine,
            sqlite_path,
        )
        from priorauth.store.db import database_url as resolve

        url = resolve(database_url)
        path = sqlite_path(url)
        with user_errors():
            if path is not None and not path.is_file():
                raise DatabaseMissing(f"database: {path} does not exist (nothing was created)")
            engine = make_engine(url)
        try:
            revision = current_revision(engine)
        finally:
            engine.dispose()
        typer.echo(f"{display_url(url)}: current {revision or 'none'}; latest {head_revision()}")

    @db_app.command("backup")
    def backup(
        target: Annotated[Path, typer.Argument(metavar="FILE", help="The backup file to write (must be new).")],
        database_url: Annotated[str | None, URL_OPTION] = None,
    ) -> None:
        """Copy the SQLite database to FILE while the service runs (SQLite's online backup API).

        PostgreSQL: use pg_dump (docs/operations.md).
        """
        from priorauth.cli import user_errors
        from priorauth.service import verify_chain
        from priorauth.store.db import backup_sqlite, open_backup
        from priorauth.store.db import database_url as resolve

        url = resolve(database_url)
        with user_errors():
            source = backup_sqlite(url, target)
            engine = open_backup(target)
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            result = verify_chain(session)
        engine.dispose()
        state = "intact" if result.ok else "BROKEN (run `priorauth audit verify`)"
        typer.echo(f"backed up {source} to {target}: audit trail {state}, {result.events} events")

    @db_app.command("restore")
    def restore(
        backup_file: Annotated[Path, typer.Argument(metavar="FILE", help="A backup written by `priorauth db backup`.")],
        database_url: Annotated[str | None, URL_OPTION] = None,
        record_only: Annotated[
            bool,
            typer.Option(
                "--record-only",
                help="Restore nothing: check the audit chain and record the restore (after pg_restore on PostgreSQL).",
            ),
        ] = False,
    ) -> None:
        """Replace the SQLite database with FILE (stop the service first); the trail records the restore.

        The backup's audit chain is checked before anything is replaced; the database it replaces is
        kept beside it (NAME.before-restore-TIME.db).
        """
        from sqlalchemy.orm import Session

        from priorauth.cli import fail, user_errors
        from priorauth.service import verify_chain
        from priorauth.store.db import current_revision, open_backup, restore_sqlite, sqlite_file, upgrade
        from priorauth.store.db import database_url as resolve

        url = resolve(database_url)
        if record_only:
            db = open_existing(url)
            try:
                events, seq = record_restore(db, backup_file.name)
            finally:
                db.dispose()
            typer.echo(f"audit trail intact up to event {events}; restore from {backup_file.name} recorded as "
                       f"event {seq}")
            return
        with user_errors():
            target = sqlite_file(url, "db restore")
            engine = open_backup(backup_file)
        try:
            revision = current_revision(engine)
            with Session(engine) as session:
                checked = verify_chain(session)
        except Exception:  # noqa: BLE001 - not a priorauth database
            revision, checked = None, None
        finally:
            engine.dispose()
        if revision is None or checked is None:
            fail(f"db restore: {backup_file} is not a priorauth database backup; nothing replaced")
        if not checked.ok:
            fail(f"db restore: the backup's audit trail is broken ({checked.problems[0]}); nothing replaced")
        keep = None
        if target.is_file():
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            keep = target.with_name(f"{target.stem}.before-restore-{stamp}{target.suffix}")
        with user_errors():
            restore_sqlite(url, backup_file, keep)
        try:
            upgrade(url)  # a backup from an older release is brought to the latest schema
        except Exception as exc:  # noqa: BLE001 - one line, no traceback
            fail(f"db restore: restored, but cannot migrate ({type(exc).__name__}); run `priorauth db upgrade`")
        db = open_existing(url)
        try:
            events, seq = record_restore(db, backup_file.name)
        finally:
            db.dispose()
        if events != checked.events:
            fail(f"db restore: the backup held {checked.events} audit events but {events} were restored")
        typer.echo(f"restored {backup_file} into {target}")
        if keep is not None:
            typer.echo(f"the database it replaced is kept as {keep}")
        typer.echo(f"audit trail intact up to event {events} (the backup's last); restore recorded as event {seq}")


# What the service's PostgreSQL role may do: everything it needs, nothing that rewrites the audit trail.
# audit_events: read and append only; audit_head: read and move forward (migration 0006's trigger).
# Not the tables' owner, so it cannot ALTER, DISABLE TRIGGER, DROP or TRUNCATE them.
APP_ROLE_PRIVILEGES = {"audit_events": "SELECT, INSERT", "audit_head": "SELECT, UPDATE", "alembic_version": "SELECT"}
APP_ROLE_DEFAULT = "SELECT, INSERT, UPDATE, DELETE"


def app_role_statements(role: str, database: str, tables: list[str]) -> list[str]:
    """The SQL that gives `role` the service's privileges on `tables` (idempotent: revokes everything first)."""
    quoted = '"' + role.replace('"', '""') + '"'
    statements = [
        f'GRANT CONNECT ON DATABASE "{database}" TO {quoted}',
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted}",
        f"REVOKE CREATE ON SCHEMA public FROM {quoted}",
    ]
    for table in tables:
        statements.append(f"GRANT {APP_ROLE_PRIVILEGES.get(table, APP_ROLE_DEFAULT)} ON {table} TO {quoted}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    return statements


def grant_app_role(url: str, role: str) -> list[str]:
    """Create `role` (LOGIN, no password) if missing and grant it the service's privileges; returns the SQL run.

    Run as the tables' owner after every `priorauth db upgrade`. Refuses a role that is a superuser
    or owns any of the tables: either could disable the audit trail's triggers.
    """
    from sqlalchemy import inspect, text

    from priorauth.store.db import make_engine
    from priorauth.store.errors import StoreError

    if not role or len(role) > 63 or not role.replace("_", "").isalnum() or role[0].isdigit():
        raise StoreError("role: expected a PostgreSQL role name (letters, digits and _, at most 63)")
    engine = make_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            raise StoreError("db grant-app-role: only for PostgreSQL (SQLite has no roles: protect the file)")
        with engine.begin() as conn:
            tables = sorted(inspect(conn).get_table_names(schema="public"))
            if "audit_events" not in tables:
                raise StoreError("db grant-app-role: the database is not migrated; run `priorauth db upgrade` first")
            found = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}).one_or_none()
            owned = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = :r"), {"r": role}
            ).scalars().all()
            if found is not None and found[0]:
                raise StoreError(f"role {role} is a superuser: it could disable the audit triggers; use another role")
            if owned:
                raise StoreError(f"role {role} owns {', '.join(sorted(owned))}: the service's role must own no table")
            create = f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'
            statements = [] if found is not None else [create]
            database = conn.execute(text("SELECT current_database()")).scalar_one()
            statements += app_role_statements(role, database, tables)
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()
    return statements


def register_roles(db_app: typer.Typer) -> None:
    @db_app.command("grant-app-role")
    def grant_app_role_command(
        role: Annotated[str, typer.Argument(help="The role `priorauth serve` connects as (created if missing).")],
        database_url: Annotated[str | None, URL_OPTION] = None,
        show: Annotated[bool, typer.Option("--show", help="Print the SQL it ran.")] = False,
    ) -> None:
        """PostgreSQL: let ROLE run the service without owning anything (run as the owner, after each upgrade).

        ROLE may read and write the requests, tokens and sessions, append to audit_events and move
        audit_head forward; it cannot UPDATE, DELETE or TRUNCATE audit events, ALTER a table or
        disable a trigger. Give it a password with ALTER ROLE ... PASSWORD when not on trust auth.
        """
        from priorauth.cli import fail, user_errors
        from priorauth.store.db import database_url as resolve
        from priorauth.store.db import display_url

        url = resolve(database_url)
        try:
            with user_errors():
                statements = grant_app_role(url, role)
        except typer.Exit:
            raise
        except Exception as exc:  # noqa: BLE001 - one line, no traceback
            fail(f"db grant-app-role: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'failed'}")
        if show:
            typer.echo(";\n".join(statements) + ";")
        typer.echo(f"{display_url(url)}: role {role} may run the service (it owns nothing; audit_events: "
                   "SELECT, INSERT only)")
