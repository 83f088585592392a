"""`priorauth audit`: verify the hash-chained audit trail; show a request's events."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from priorauth.commands.db import URL_OPTION, open_existing


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(help="The append-only audit trail.", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")

    @audit_app.command("verify")
    def verify(database_url: Annotated[str | None, URL_OPTION] = None) -> None:
        """Recompute the hash chain; exit 1 and name each broken event when it was tampered with.

        Restores (`priorauth db restore`) are events of the chain: each is listed with the number of
        events that came from the backup.
        """
        from sqlalchemy import select

        from priorauth.service import verify_chain
        from priorauth.store.models import AuditEvent

        db = open_existing(database_url)
        with db.session() as session:
            result = verify_chain(session)
            restores = session.execute(
                select(AuditEvent.seq, AuditEvent.at, AuditEvent.detail)
                .where(AuditEvent.action == "restore")
                .order_by(AuditEvent.seq)
            ).all()
        db.dispose()
        if result.ok:
            typer.echo(f"audit trail intact: {result.events} events")
            for seq, at, detail in restores:
                typer.echo(
                    f"  event {seq}: restored from {detail.get('source', '?')} on {at:%Y-%m-%d %H:%M} UTC "
                    f"(events 1-{detail.get('events_restored', seq - 1)} came from the backup)"
                )
            return
        for problem in result.problems:
            typer.echo(f"tampered: {problem}", err=True)
        raise typer.Exit(1)

    @audit_app.command("show")
    def show(request_id: str, database_url: Annotated[str | None, URL_OPTION] = None) -> None:
        """Print one request's audit events as JSON."""
        from priorauth.service.audit import request_events

        db = open_existing(database_url)
        with db.session() as session:
            typer.echo(json.dumps(request_events(session, request_id), indent=2))
        db.dispose()
