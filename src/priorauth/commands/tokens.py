"""`priorauth tokens`: issue, list and revoke bearer tokens (stored hashed)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from priorauth.commands.db import URL_OPTION, open_existing


def register(app: typer.Typer) -> None:
    tokens_app = typer.Typer(help="API bearer tokens.", no_args_is_help=True)
    app.add_typer(tokens_app, name="tokens")

    @tokens_app.command("create")
    def create(
        role: Annotated[str, typer.Option(help="submitter, reviewer or admin.")],
        org: Annotated[str, typer.Option(help="The organisation the token acts for.")],
        label: Annotated[str, typer.Option(help="A note on who holds it.")] = "",
        expires_in: Annotated[
            str | None, typer.Option(help="Valid this long: 90d, 12h or 30m (default: until revoked).")
        ] = None,
        database_url: Annotated[str | None, URL_OPTION] = None,
    ) -> None:
        """Issue a token in the service's database; its secret is printed once and stored only as a hash."""
        from priorauth.cli import fail
        from priorauth.core import RequestError
        from priorauth.service.auth import create_token, parse_expires_in

        try:
            lifetime = parse_expires_in(expires_in) if expires_in is not None else None
        except RequestError as exc:
            fail(str(exc))
            return
        db = open_existing(database_url)
        try:
            with db.session() as session:
                issued = create_token(session, role, org, label, expires_in=lifetime)
        except RequestError as exc:
            fail(str(exc))
            return
        finally:
            db.dispose()
        typer.echo(issued.secret)
        until = f", expires {issued.expires_at.isoformat(timespec='seconds')}" if issued.expires_at else ""
        typer.echo(
            f"token {issued.id}: role {issued.role}, org {issued.org}{until} (the secret above is shown once)",
            err=True,
        )

    @tokens_app.command("list")
    def list_(database_url: Annotated[str | None, URL_OPTION] = None) -> None:
        """List tokens (never their secrets) as JSON."""
        from priorauth.service import SYSTEM, list_tokens

        db = open_existing(database_url)
        with db.session() as session:
            typer.echo(json.dumps(list_tokens(session, SYSTEM), indent=2))
        db.dispose()

    @tokens_app.command("revoke")
    def revoke(token_id: str, database_url: Annotated[str | None, URL_OPTION] = None) -> None:
        """Revoke a token by id."""
        from priorauth.cli import fail
        from priorauth.service import SYSTEM, NotFound, revoke_token

        db = open_existing(database_url)
        try:
            with db.session() as session:
                revoke_token(session, SYSTEM, token_id)
        except NotFound:
            fail(f"token: no token {token_id}")
        finally:
            db.dispose()
        typer.echo(f"revoked {token_id}")
