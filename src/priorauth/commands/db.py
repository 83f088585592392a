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
