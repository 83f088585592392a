"""`priorauth audit`: verify the keyed, hash-chained audit trail; write signed checkpoints; show a request's events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from priorauth.commands.db import URL_OPTION, open_existing


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(help="The append-only audit trail.", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")

    @audit_app.command("verify")
    def verify(
        database_url: Annotated[str | None, URL_OPTION] = None,
        checkpoints: Annotated[
            Path | None,
            typer.Option(
                "--checkpoints",
                help="A folder of checkpoints (`priorauth audit checkpoint`): each must be signed with the audit key "
                "and still match the chain.",
            ),
        ] = None,
    ) -> None:
        """Recompute the chain (HMACs under the audit key), check each request row and checkpoint.

        Exit 1 naming the first broken events, rows or checkpoints; exit 2 when the trail is keyed and no
        key is set (PRIORAUTH_AUDIT_KEY or PRIORAUTH_AUDIT_KEY_FILE). Restores (`priorauth db restore`)
        are events of the chain: each is listed with the number of events that came from the backup.
        """
        from sqlalchemy import select
        from sqlalchemy.exc import SQLAlchemyError

        from priorauth.cli import fail, user_errors
        from priorauth.service.audit import current_key, read_checkpoints, verify_chain
        from priorauth.store.models import AuditEvent

        with user_errors():
            key = current_key()
        found, checkpoint_problems = read_checkpoints(checkpoints, key) if checkpoints is not None else ([], [])
        db = open_existing(database_url)
        try:
            with db.session() as session:
                result = verify_chain(session, key=key, checkpoints=found)
                restores = (
                    session.execute(
                        select(AuditEvent.seq, AuditEvent.at, AuditEvent.detail)
                        .where(AuditEvent.action == "restore")
                        .order_by(AuditEvent.seq)
                    ).all()
                    if result.ok
                    else []
                )
        except SQLAlchemyError as exc:
            fail(f"audit verify: the database cannot be read ({type(exc).__name__}); is it migrated?")
        finally:
            db.dispose()
        problems = checkpoint_problems + result.problems
        if result.key_missing and not checkpoint_problems and len(result.problems) == 1:
            fail(result.problems[0])
        if not problems:
            keyed = f"{result.keyed_events} keyed" if key is not None else "no audit key set: unkeyed"
            typer.echo(
                f"audit trail intact: {result.events} events ({keyed}); "
                f"{result.requests_checked} request rows match their last event"
            )
            if result.requests_unproven:
                typer.echo(f"  {result.requests_unproven} request rows were last changed before row hashes were kept")
            if result.keyed_events < result.events and key is not None:
                typer.echo(
                    f"  events 1-{result.events - result.keyed_events} predate the audit key: "
                    "only a checkpoint taken since proves them"
                )
            typer.echo(
                f"  checkpoints: {result.checkpoints} checked"
                if checkpoints is not None
                else "  checkpoints: none checked (--checkpoints DIR)"
            )
            for seq, at, detail in restores:
                typer.echo(
                    f"  event {seq}: restored from {detail.get('source', '?')} on {at:%Y-%m-%d %H:%M} UTC "
                    f"(events 1-{detail.get('events_restored', seq - 1)} came from the backup)"
                )
            return
        for problem in problems:
            typer.echo(f"tampered: {problem}", err=True)
        raise typer.Exit(1)

    @audit_app.command("checkpoint")
    def checkpoint(
        database_url: Annotated[str | None, URL_OPTION] = None,
        out: Annotated[
            Path | None,
            typer.Option(
                "--out",
                help="The folder to write to; keep it off the database's machine. "
                "Default: var/audit-checkpoints under PRIORAUTH_HOME.",
            ),
        ] = None,
    ) -> None:
        """Write the chain's head (seq, hash, time), signed with the audit key, to a new file outside the database."""
        from priorauth.cli import user_errors
        from priorauth.service.audit import CHECKPOINT_DIR, write_checkpoint
        from priorauth.store.settings import home

        folder = out or home() / CHECKPOINT_DIR
        db = open_existing(database_url)
        try:
            with user_errors(), db.session() as session:
                path, body = write_checkpoint(session, folder)
        finally:
            db.dispose()
        typer.echo(f"checkpoint at event {body['seq']} written to {path}")

    @audit_app.command("show")
    def show(request_id: str, database_url: Annotated[str | None, URL_OPTION] = None) -> None:
        """Print one request's audit events as JSON."""
        from priorauth.service.audit import request_events

        db = open_existing(database_url)
        with db.session() as session:
            typer.echo(json.dumps(request_events(session, request_id), indent=2))
        db.dispose()
