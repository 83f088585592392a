"""`priorauth serve`: the API on uvicorn, on SQLite by default (created and migrated on first start).

Settings come from the command line, else the environment, else the settings file, else the
defaults (priorauth.store.settings.SETTINGS; docs/operations.md has the table). Nothing is printed
before the port is known to be free.
"""

from __future__ import annotations

import copy
import datetime as dt
import errno
import importlib.util
import json
import logging
import os
import socket
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from priorauth.commands.db import URL_OPTION

DEMO_PATIENTS = ["Demo Patient One", "Demo Patient Two", "Demo Patient Three", "Demo Patient Four", "Demo Patient Five"]
DEMO_PRESCRIBER = {"name": "Dr. Demo Prescriber", "npi": "1234567893"}  # a valid NPI check digit (CMS's example)
DEMO_CONTACT = {"name": "Demo Clinic front desk", "phone": "503-555-0100"}
DEMO_ENV = "PRIORAUTH_DEMO"
WALKTHROUGH = Path("scripts") / "walkthrough.sh"
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the parts of an access line)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, http_version, status = record.args
            entry.update(client=client, method=method, path=path, http=http_version, status=status)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry, ensure_ascii=False, default=str)


def log_config(level: str, fmt: str = "text") -> dict[str, Any]:
    """uvicorn's logging, plus the priorauth loggers on the same handler. No record carries PHI."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    if fmt == "json":
        config["formatters"] = {"json": {"()": f"{__name__}.JsonLines"}}
        for handler in config["handlers"].values():
            handler["formatter"] = "json"
    config["loggers"]["priorauth"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    # Access lines carry the path only: a query string may hold a name typed into a filter.
    config.setdefault("filters", {})["no_query"] = {"()": "priorauth.http.security.DropQueryStrings"}
    config["handlers"]["access"]["filters"] = ["no_query"]
    return config


def port_problem(host: str, port: int) -> str | None:
    """Why `priorauth serve` cannot listen on host:port, or None. Binds and releases at once, as uvicorn would."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (f"port {port} on {host} is in use by another program: stop it, or choose another port "
                        f"(make run PORT=8080, or priorauth serve --port 8080)")
            if exc.errno == errno.EACCES:
                return f"port {port} on {host}: permission denied (ports below 1024 need privileges); use PORT=8080"
            return f"cannot listen on {host}:{port} ({exc.strerror or exc})"
    return None


def _date_facts(policy_id: str) -> tuple[str | None, set[str]]:
    from priorauth.core import load_policy

    version = load_policy(policy_id).current()
    return version.decided_on, {q.id for q in version.questions if q.type == "date"}


def dated_today(request: dict[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    """The request with every date fact moved by the same number of days, so that it is decided today.

    Ages and intervals between dates stay as written; an approval's period starts today.
    """
    today = today or dt.date.today()
    decided_on, dates = _date_facts(request["policy"])
    facts = dict(request["facts"])
    anchor = facts.get(decided_on or "")
    if not isinstance(anchor, str):
        return request
    shift = today - dt.date.fromisoformat(anchor)
    for name in dates:
        if isinstance(facts.get(name), str):
            facts[name] = (dt.date.fromisoformat(facts[name]) + shift).isoformat()
    return {**request, "facts": facts}


def example_requests() -> list[tuple[str, dict[str, Any]]]:
    folder = resources.files("priorauth") / "examples"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
    return [(name, json.loads((folder / name).read_text(encoding="utf-8"))) for name in names]


def seed_demo(url: str) -> dict[str, str]:
    """Demo tokens (one per role) and the bundled example requests dated today, submitted as the demo clinic."""
    from priorauth import service
    from priorauth.store.db import Database

    db = Database.open(url)
    tokens: dict[str, str] = {}
    today = dt.datetime.now(dt.UTC).date()  # the service dates a submission by the day (UTC) it receives it
    with db.session() as session:
        for role, org in (("submitter", "demo-clinic"), ("reviewer", "demo-plan"), ("admin", "demo-plan")):
            tokens[role] = service.create_token(session, role, org, label="demo").secret
        submitter = service.authenticate(session, tokens["submitter"])
        for i, (name, example) in enumerate(example_requests()):
            request = dated_today(example, today)
            service.submit_request(
                session,
                submitter,
                request["policy"],
                request["facts"],
                "expedited" if i % 2 else "standard",
                idempotency_key=f"demo-{today.isoformat()}-{name}",  # one set a day, replayed on restarts
                patient={"name": DEMO_PATIENTS[i % len(DEMO_PATIENTS)], "member_id": f"DEMO-{i + 1:04d}"},
                prescriber=DEMO_PRESCRIBER,
                contact=DEMO_CONTACT,
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
    from priorauth.store.db import display_url

    web = web_address(base)
    port = base.rsplit(":", 1)[-1]
    walkthrough = f"{'' if port == '8000' else f'PORT={port} '}{WALKTHROUGH}"
    lines = [
        f"priorauth is serving at {base}  (OpenAPI: {base}/openapi.json; browsable /docs with PRIORAUTH_API_DOCS=1)",
        f"database: {display_url(url)}",
        *([f"web pages: {web}  (sign in with a token below)"] if web else []),
        "demo tokens (new at each start):",
        f"  SUBMITTER={tokens['submitter']}",
        f"  REVIEWER={tokens['reviewer']}",
        f"  ADMIN={tokens['admin']}",
    ]
    if WALKTHROUGH.is_file():
        lines.append(f"a first session, in another terminal: {walkthrough}  (prints each command before it runs)")
    return "\n".join(lines)


def _audit_key(url: str, demo: bool) -> None:
    """The demo writes var/audit.key (mode 0600) when no key is set; a keyed trail without its key stops the start."""
    from priorauth.cli import user_errors
    from priorauth.service.audit import KEY_ENV, KEY_FILE_ENV, check_key, generate_key_file
    from priorauth.store.db import Database

    with user_errors():
        made = generate_key_file() if demo else None
        db = Database.existing(url)
        try:
            with db.session() as session:
                key = check_key(session)
        finally:
            db.dispose()
    if made is not None:
        typer.echo(f"audit key: new, written to {made} (mode 0600; keep a copy, `audit verify` needs it)")
    if key is None:
        typer.echo(f"warning: no audit key ({KEY_ENV} or {KEY_FILE_ENV}): audit events are hashed but not keyed",
                   err=True)


def _setting(value: Any, env: str, default: Any) -> Any:
    """A command-line value, else the environment (which the settings file filled), else the default."""
    if value is not None:
        return value
    raw = os.environ.get(env)
    if raw is None or raw == "":
        return default
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            from priorauth.cli import fail

            fail(f"{env}: expected a whole number")
    return raw


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="Address to listen on [PRIORAUTH_HOST; 127.0.0.1].")] = None,
        port: Annotated[int | None, typer.Option(help="Port to listen on [PRIORAUTH_PORT; 8000].")] = None,
        database_url: Annotated[str | None, URL_OPTION] = None,
        workers: Annotated[
            int | None, typer.Option(help="Worker processes; PostgreSQL scales with more [PRIORAUTH_WORKERS; 1].")
        ] = None,
        log_level: Annotated[
            str | None, typer.Option(help="critical, error, warning, info, debug [PRIORAUTH_LOG_LEVEL; info].")
        ] = None,
        log_format: Annotated[
            str | None, typer.Option(help="text, or json: one JSON object per line [PRIORAUTH_LOG_FORMAT; text].")
        ] = None,
        access_log: Annotated[bool, typer.Option(help="Log one line per HTTP request (method, path, status).")] = True,
        demo: Annotated[
            bool, typer.Option(help="Issue demo tokens and submit the bundled example requests, dated today.")
        ] = False,
        policy_path: Annotated[
            list[Path] | None,
            typer.Option("--policy-path", help="A folder of policy folders to serve besides the bundled ones."),
        ] = None,
    ) -> None:
        """Start the API; migrates the database first (var/priorauth.db unless DATABASE_URL or --database-url).

        Settings: options, else environment, else the settings file (docs/operations.md).
        """
        from priorauth.cli import add_policy_path, fail, user_errors

        host = _setting(host, "PRIORAUTH_HOST", "127.0.0.1")
        port = _setting(port, "PRIORAUTH_PORT", 8000)
        workers = _setting(workers, "PRIORAUTH_WORKERS", 1)
        level = str(_setting(log_level, "PRIORAUTH_LOG_LEVEL", "info")).lower()
        fmt = str(_setting(log_format, "PRIORAUTH_LOG_FORMAT", "text")).lower()
        if level not in LOG_LEVELS:
            fail(f"log level: {level!r} is not one of {', '.join(LOG_LEVELS)}")
        if fmt not in LOG_FORMATS:
            fail(f"log format: {fmt!r} is not one of {', '.join(LOG_FORMATS)}")
        if workers < 1:
            fail("workers: must be at least 1")
        problem = port_problem(host, port)
        if problem:
            fail(problem)

        import uvicorn

        from priorauth.core import policy_registry
        from priorauth.service.settings import Settings

        add_policy_path(policy_path)  # the workers' registry reads PRIORAUTH_POLICY_PATH
        with user_errors():
            policy_registry()  # a malformed policy file stops the start, naming the file
        try:
            Settings.from_env()  # a bad PRIORAUTH_* value stops the start here, not in each worker
        except ValueError as exc:
            fail(str(exc))
        from priorauth.store.db import database_url as resolve
        from priorauth.store.db import display_url, upgrade

        url = resolve(database_url)
        os.environ["DATABASE_URL"] = url  # the workers' create_app reads it
        try:
            with user_errors():
                upgrade(url)
        except typer.Exit:
            raise
        except Exception as exc:  # noqa: BLE001 - one line, no traceback
            fail(f"database: cannot open or migrate {display_url(url)} ({type(exc).__name__})")
        _audit_key(url, demo)
        base = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
        if demo:
            os.environ[DEMO_ENV] = "1"  # the sign-in page says where the demo tokens are
            typer.echo(demo_instructions(base, seed_demo(url), url))
        else:
            os.environ.pop(DEMO_ENV, None)
            web = web_address(base)
            pages = f", web pages: {web}" if web else ""
            typer.echo(f"priorauth is serving at {base}  (OpenAPI: {base}/openapi.json{pages}; "
                       f"database: {display_url(url)})")
        uvicorn.run(
            "priorauth.http.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
            http="httptools" if importlib.util.find_spec("httptools") else "h11",
            log_level=level,
            log_config=log_config(level, fmt),
            access_log=access_log,
            timeout_graceful_shutdown=10,
        )
