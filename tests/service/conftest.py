"""Service tests run on SQLite and on PostgreSQL (a throwaway database for the session)."""

from __future__ import annotations

import json
import os
import uuid
from importlib import resources

import pytest
from tests.received import dated_today

PG_ADMIN_URL = os.environ.get("PRIORAUTH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLES = ("web_sessions", "audit_events", "pas_submissions", "coverage_requests", "cds_clients", "api_tokens")


@pytest.fixture(scope="session")
def postgres_url():
    """A new, empty PostgreSQL database for this test session, dropped afterwards."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001
        reason = f"PostgreSQL not reachable at {PG_ADMIN_URL} ({type(exc).__name__}); PostgreSQL tests skipped"
        print(reason)
        pytest.skip(reason)
    name = f"priorauth_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/priorauth.db"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    # Start the next test from empty tables. The audit trail refuses TRUNCATE and a rewound head
    # (migration 0006); a superuser's replica mode skips those triggers, as a restore would.
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('audit_head')").fetchone()[0]
        if exists:
            conn.execute("SET session_replication_role = replica")
            conn.execute(f"TRUNCATE {', '.join(TABLES)}")
            conn.execute("UPDATE audit_head SET seq = 0, hash = repeat('0', 64), key_id = NULL")


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path}/priorauth.db"


@pytest.fixture
def example():
    """example(name) -> a bundled example request (policy + facts), its dates moved so that its
    request date is today (a stored submission is decided on the day received)."""

    def load(name: str) -> dict:
        return dated_today(json.loads((resources.files("priorauth") / "examples" / f"{name}.json").read_text()))

    return load
