"""`priorauth serve`: the API on uvicorn, on SQLite by default (created and migrated on first start)."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from priorauth.commands.db import URL_OPTION

DEMO_PATIENTS = ["Demo Patient One", "Demo Patient Two", "Demo Patient Three", "Demo Patient Four", "Demo Patient Five"]


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus the priorauth loggers on the same handler. No record carries PHI."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["priorauth"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


def seed_demo(url: str) -> dict[str, str]:
    """Demo tokens (one per role) and the bundled example requests, submitted as the demo clinic."""
    from priorauth import service
    from priorauth.store.db import Database

    db = Database.open(url)
    tokens: dict[str, str] = {}
    with db.session() as session:
        for role, org in (("submitter", "demo-clinic"), ("reviewer", "demo-plan"), ("admin", "demo-plan")):
            tokens[role] = service.create_token(session, role, org, label="demo").secret
        submitter = service.authenticate(session, tokens["submitter"])
        folder = resources.files("priorauth") / "examples"
        examples = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
        for i, name in enumerate(examples):
            request = json.loads((folder / name).read_text(encoding="utf-8"))
            service.submit_request(
                session,
                submitter,
                request["policy"],
                request["facts"],
                "expedited" if i % 2 else "standard",
                idempotency_key=f"demo-{name}",
                patient={"name": DEMO_PATIENTS[i % len(DEMO_PATIENTS)]},
            )
    db.dispose()
    return tokens


def web_address(base: str) -> str | None:
    """The reviewer pages' address, or None when the web door is disabled (PRIORAUTH_DISABLED_DOORS)."""
    from priorauth.service.settings import Settings

    if "web" in Settings.from_env().disabled_doors or importlib.util.find_spec("priorauth.web.routes") is None:
        return None
    from priorauth.web.routes import PREFIX

    return f"{base}{PREFIX}/"


def demo_instructions(base: str, tokens: dict[str, str], url: str) -> str:
    pended = (resources.files("priorauth") / "examples" / "pended-comorbidities-unknown.json").read_text()
    body = json.dumps(json.loads(pended), separators=(",", ":"))
    web = web_address(base)
    return "\n".join(
        [
            f"priorauth is serving at {base}  (API docs: {base}/docs, OpenAPI: {base}/openapi.json)",
            *([f"web pages: {web}  (sign in with a token below)"] if web else []),
            "demo tokens (new at each start):",
            f"  SUBMITTER={tokens['submitter']}",
            f"  REVIEWER={tokens['reviewer']}",
            f"  ADMIN={tokens['admin']}",
            "try, as the submitter, then the reviewer:",
            f"  curl -s {base}/v1/requests -H \"Authorization: Bearer $SUBMITTER\" -H 'Content-Type: application/json' "
            f"-d '{body}'",
            f'  curl -s {base}/v1/requests/REQUEST_ID/information -H "Authorization: Bearer $SUBMITTER" '
            '-d \'{"facts":{"substantial_comorbidities":true}}\'',
            f'  curl -s {base}/v1/requests/REQUEST_ID/review -H "Authorization: Bearer $REVIEWER" '
            '-d \'{"action":"deny","note":"Criteria not met","expected_version":2}\'',
            f'  curl -s {base}/v1/requests/REQUEST_ID/audit -H "Authorization: Bearer $REVIEWER"',
            f"  .venv/bin/priorauth audit verify --database-url {url}",
        ]
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
        database_url: Annotated[str | None, URL_OPTION] = None,
        workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL scales with more).")] = 1,
        log_level: Annotated[str, typer.Option(help="critical, error, warning, info, debug.")] = "info",
        access_log: Annotated[bool, typer.Option(help="Log one line per HTTP request (method, path, status).")] = True,
        demo: Annotated[bool, typer.Option(help="Issue demo tokens and submit the bundled example requests.")] = False,
        policy_path: Annotated[
            list[Path] | None,
            typer.Option("--policy-path", help="A folder of policy folders to serve besides the bundled ones."),
        ] = None,
    ) -> None:
        """Start the API; migrates the database first (SQLite file priorauth.db unless DATABASE_URL)."""
        import uvicorn

        from priorauth.cli import add_policy_path, fail, user_errors
        from priorauth.core import policy_registry

        add_policy_path(policy_path)  # the workers' registry reads PRIORAUTH_POLICY_PATH
        with user_errors():
            policy_registry()  # a malformed policy file stops the start, naming the file
        from priorauth.store.db import database_url as resolve
        from priorauth.store.db import upgrade

        url = resolve(database_url)
        os.environ["DATABASE_URL"] = url  # the workers' create_app reads it
        try:
            upgrade(url)
        except Exception as exc:  # noqa: BLE001 - one line, no traceback
            fail(f"database: cannot open or migrate ({type(exc).__name__})")
        base = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
        if demo:
            typer.echo(demo_instructions(base, seed_demo(url), url))
        else:
            web = web_address(base)
            pages = f", web pages: {web}" if web else ""
            typer.echo(f"priorauth is serving at {base}  (API docs: {base}/docs{pages})")
        uvicorn.run(
            "priorauth.http.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
            http="httptools" if importlib.util.find_spec("httptools") else "h11",
            log_level=log_level.lower(),
            log_config=log_config(log_level),
            access_log=access_log,
            timeout_graceful_shutdown=10,
        )
