"""Where priorauth keeps its state and how it reads its settings: environment first, then a settings file.

One default database for every command: `var/priorauth.db` under PRIORAUTH_HOME (default: the
working folder). The settings file is TOML (`priorauth.toml` under PRIORAUTH_HOME, or the file
PRIORAUTH_CONFIG names); its keys are the lower-case names of `SETTINGS`. An environment variable
wins over the file; a command-line option wins over both. docs/operations.md has the table.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from priorauth.store.errors import SettingsError

HOME_ENV = "PRIORAUTH_HOME"
CONFIG_ENV = "PRIORAUTH_CONFIG"
CONFIG_FILE = "priorauth.toml"
DATABASE_FILE = Path("var") / "priorauth.db"


@dataclass(frozen=True)
class Setting:
    """One operator setting: its key in the settings file, its environment variable, its default."""

    key: str
    env: str
    default: str
    meaning: str
    kind: str = "text"  # text, number, list (comma-separated in the environment), paths (os.pathsep)


SETTINGS = (
    Setting("database_url", "DATABASE_URL", "sqlite:///$PRIORAUTH_HOME/var/priorauth.db",
            "the database: SQLite file or postgresql://user@host/db"),
    Setting("policy_path", "PRIORAUTH_POLICY_PATH", "(bundled policies only)",
            "folders of policy folders served besides the bundled ones", "paths"),
    Setting("host", "PRIORAUTH_HOST", "127.0.0.1", "address `priorauth serve` listens on"),
    Setting("port", "PRIORAUTH_PORT", "8000", "port `priorauth serve` listens on", "number"),
    Setting("workers", "PRIORAUTH_WORKERS", "1", "worker processes (PostgreSQL scales with more)", "number"),
    Setting("log_level", "PRIORAUTH_LOG_LEVEL", "info", "critical, error, warning, info or debug"),
    Setting("log_format", "PRIORAUTH_LOG_FORMAT", "text", "text, or json (one JSON object per line)"),
    Setting("due_expedited_hours", "PRIORAUTH_DUE_EXPEDITED_HOURS", "72",
            "hours after submission an expedited request is due", "number"),
    Setting("due_standard_hours", "PRIORAUTH_DUE_STANDARD_HOURS", "168",
            "hours after submission a standard request is due", "number"),
    Setting("request_date_window_days", "PRIORAUTH_REQUEST_DATE_WINDOW_DAYS", "3",
            "days before the day received a submitted request date may name (a reviewer may back-date further)",
            "number"),
    Setting("max_body_bytes", "PRIORAUTH_MAX_BODY_BYTES", "65536", "largest request body accepted (413 above)",
            "number"),
    Setting("cors_origins", "PRIORAUTH_CORS_ORIGINS", "(none: no CORS headers)",
            "browser origins allowed to call the API, e.g. https://ehr.example.org", "list"),
    Setting("disabled_doors", "PRIORAUTH_DISABLED_DOORS", "(none)", "doors not served: fhir, web", "list"),
    Setting("web_session_idle_minutes", "PRIORAUTH_WEB_SESSION_IDLE_MINUTES", "30",
            "a web session ends after this many minutes without a request", "number"),
    Setting("web_session_hours", "PRIORAUTH_WEB_SESSION_HOURS", "8",
            "a web session ends this many hours after sign-in, however active", "number"),
    Setting("audit_key_file", "PRIORAUTH_AUDIT_KEY_FILE", "$PRIORAUTH_HOME/var/audit.key (if present)",
            "the file holding the audit key (PRIORAUTH_AUDIT_KEY, the key itself, wins); mode 0600"),
    Setting("sqlite_synchronous", "PRIORAUTH_SQLITE_SYNCHRONOUS", "NORMAL",
            "SQLite durability: NORMAL, or FULL (durable against power loss)"),
)
BY_KEY = {s.key: s for s in SETTINGS}


def home() -> Path:
    """PRIORAUTH_HOME, else the working folder: where the default database and settings file live."""
    return Path(os.environ.get(HOME_ENV) or ".").expanduser().resolve()


def default_database_url() -> str:
    """The one default database: var/priorauth.db under PRIORAUTH_HOME (absolute, so messages name it)."""
    return f"sqlite:///{home() / DATABASE_FILE}"


def config_path() -> Path | None:
    """The settings file: PRIORAUTH_CONFIG (must exist), else priorauth.toml under PRIORAUTH_HOME if present."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise SettingsError(f"{CONFIG_ENV}: {path} does not exist")
        return path
    path = home() / CONFIG_FILE
    return path if path.is_file() else None


def file_settings(path: Path | None = None) -> dict[str, str]:
    """The settings file's values as environment strings, keyed by environment variable."""
    path = path or config_path()
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    values: dict[str, str] = {}
    for key, value in data.items():
        setting = BY_KEY.get(key)
        if setting is None:
            raise SettingsError(f"{path}: {key}: unknown setting; known: {', '.join(BY_KEY)}")
        values[setting.env] = _as_env(path, setting, value)
    return values


def _as_env(path: Path, setting: Setting, value: object) -> str:
    if setting.kind in ("list", "paths"):
        raw = value if isinstance(value, list) else [value]
        items = [v for v in raw if isinstance(v, str)]
        if len(items) != len(raw):
            raise SettingsError(f"{path}: {setting.key}: expected a text or a list of texts")
        if setting.kind == "paths":  # relative folders are relative to the settings file
            items = [str((path.parent / Path(v).expanduser()).resolve()) for v in items]
        return (os.pathsep if setting.kind == "paths" else ",").join(items)
    if setting.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingsError(f"{path}: {setting.key}: expected a number")
        return str(value)
    if not isinstance(value, str):
        raise SettingsError(f"{path}: {setting.key}: expected a text")
    return value


def apply_settings_file(path: Path | None = None) -> Path | None:
    """Put the file's settings into the environment where the environment does not set them already.

    The processes priorauth starts (uvicorn workers) inherit them. Returns the file read, if any.
    """
    path = path or config_path()
    for env, value in file_settings(path).items():
        os.environ.setdefault(env, value)
    return path


@dataclass(frozen=True)
class StoreSettings:
    """DATABASE_URL (default: the SQLite file var/priorauth.db), PRIORAUTH_SQLITE_SYNCHRONOUS (default NORMAL)."""

    database_url: str | None = None
    sqlite_synchronous: str | None = None

    @classmethod
    def from_env(cls) -> StoreSettings:
        return cls(os.environ.get("DATABASE_URL"), os.environ.get("PRIORAUTH_SQLITE_SYNCHRONOUS"))
