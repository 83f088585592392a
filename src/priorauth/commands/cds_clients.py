"""`priorauth cds-clients`: register, list and remove CDS Hooks clients trusted by JWT (issuer + JWK Set)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from priorauth.commands.db import URL_OPTION


def register(app: typer.Typer) -> None:
    clients_app = typer.Typer(
        help="CDS Hooks clients (EHRs) that call the CRD hooks with signed JWTs.", no_args_is_help=True
    )
    app.add_typer(clients_app, name="cds-clients")

    @clients_app.command("add")
    def add(
        issuer: Annotated[str, typer.Option(help="The `iss` of the client's JWTs.")],
        org: Annotated[str, typer.Option(help="The organisation the client acts for.")],
        jwks_url: Annotated[str | None, typer.Option(help="The client's JWK Set URL (fetched when needed).")] = None,
        jwks_file: Annotated[
            Path | None, typer.Option(help="A file holding the client's JWK Set (public keys).")
        ] = None,
        label: Annotated[str, typer.Option(help="A note on who the client is.")] = "",
        database_url: Annotated[str | None, URL_OPTION] = None,
    ) -> None:
        """Trust the JWTs of ISSUER signed with a key of its JWK Set (RS384 or ES384)."""
        from priorauth.cli import fail
        from priorauth.core import RequestError
        from priorauth.fhir.cds_clients import add_client, read_jwks_file
        from priorauth.store.db import Database

        try:
            jwks = read_jwks_file(jwks_file) if jwks_file is not None else None
        except RequestError as exc:
            fail(str(exc))
        db = Database.open(database_url)
        try:
            with db.session() as session:
                added = add_client(session, issuer, org, jwks_url=jwks_url, jwks=jwks, label=label)
        except RequestError as exc:
            fail(str(exc))
        finally:
            db.dispose()
        typer.echo(json.dumps(added.to_dict(), indent=2))

    @clients_app.command("list")
    def list_(database_url: Annotated[str | None, URL_OPTION] = None) -> None:
        """List the registered clients as JSON (issuer, org, JWK Set URL or key ids)."""
        from priorauth.fhir.cds_clients import list_clients
        from priorauth.store.db import Database

        db = Database.open(database_url)
        try:
            with db.session() as session:
                typer.echo(json.dumps([c.to_dict() for c in list_clients(session)], indent=2))
        finally:
            db.dispose()

    @clients_app.command("remove")
    def remove(
        issuer_or_id: Annotated[str, typer.Argument(help="The client's issuer or id.")],
        database_url: Annotated[str | None, URL_OPTION] = None,
    ) -> None:
        """Stop trusting a client (running servers refuse it within 5 seconds)."""
        from priorauth.cli import fail
        from priorauth.fhir.cds_clients import remove_client
        from priorauth.store.db import Database

        db = Database.open(database_url)
        try:
            with db.session() as session:
                removed = remove_client(session, issuer_or_id)
        finally:
            db.dispose()
        if removed is None:
            fail(f"cds-client: no client {issuer_or_id}")
        typer.echo(f"removed {removed.id} ({removed.issuer})")
