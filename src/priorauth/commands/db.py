"""`priorauth db`: schema migrations (Alembic, shipped inside the package)."""

from __future__ import annotations

from typing import Annotated

import typer

URL_OPTION = typer.Option("--database-url", help="Default: DATABASE_URL, else sqlite:///priorauth.db.")


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
    app.add_typer(db_app, name="db")

    @db_app.command("upgrade")
    def upgrade(
        database_url: Annotated[str | None, URL_OPTION] = None,
        revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
    ) -> None:
        """Migrate the database to the latest schema (creates an SQLite file if needed)."""
        from priorauth.cli import fail
        from priorauth.store.db import current_revision, make_engine
        from priorauth.store.db import database_url as resolve
        from priorauth.store.db import upgrade as run

        url = resolve(database_url)
        try:
            engine = make_engine(url)
            run(url, engine, revision)
            typer.echo(f"database at revision {current_revision(engine)}")
        except Exception as exc:  # noqa: BLE001 - one line, no traceback
            fail(f"database: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'failed'}")

    @db_app.command("current")
    def current(database_url: Annotated[str | None, URL_OPTION] = None) -> None:
        """Print the database's schema revision and the latest one."""
        from priorauth.store.db import current_revision, head_revision, make_engine
        from priorauth.store.db import database_url as resolve

        engine = make_engine(resolve(database_url))
        typer.echo(f"current {current_revision(engine) or 'none'}; latest {head_revision()}")
