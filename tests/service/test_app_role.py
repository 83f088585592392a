"""PostgreSQL: the service runs as a role that owns nothing; it cannot rewrite or wipe the audit trail.

Migrations run as the owner; `priorauth db grant-app-role ROLE` gives ROLE what the service needs.
Under ROLE the service submits, reviews and reads, while TRUNCATE, UPDATE and DELETE of audit rows,
ALTER TABLE ... DISABLE TRIGGER and a rewound head are all refused.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from priorauth.cli import app as cli
from priorauth.service import Settings, create_token, verify_chain
from priorauth.store.db import Database


@pytest.fixture
def app_role_url(db, database_url):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    role = f"priorauth_app_{uuid.uuid4().hex[:8]}"
    out = CliRunner().invoke(cli, ["db", "grant-app-role", role, "--database-url", database_url])
    assert out.exit_code == 0, out.output
    assert f"role {role} may run the service" in out.output
    rest = database_url.split("@", 1)[1]  # host/database: the same server and database as the owner's URL
    yield f"postgresql://{role}@{rest}"
    with db.engine.begin() as conn:
        conn.execute(text(f'DROP OWNED BY "{role}"'))
        conn.execute(text(f'DROP ROLE "{role}"'))


def test_the_service_works_under_the_app_role_which_cannot_touch_the_trail(app_role_url, db, example):
    from fastapi.testclient import TestClient

    from priorauth.http.app import create_app

    settings = Settings(database_url=app_role_url)
    app_db = Database.open(app_role_url, settings)  # at head already: nothing to migrate as this role
    try:
        with app_db.session() as s:
            sub = create_token(s, "submitter", "clinic-a").secret
            rev = create_token(s, "reviewer", "plan").secret
        with TestClient(create_app(settings, app_db)) as client:
            posted = client.post(
                "/v1/requests", json=example("denied-pediatric-combination"), headers={"Authorization": f"Bearer {sub}"}
            )
            assert posted.status_code == 201
            rid = posted.json()["id"]
            reviewed = client.post(
                f"/v1/requests/{rid}/review",
                headers={"Authorization": f"Bearer {rev}"},
                json={"action": "deny", "note": "Not met.", "expected_version": 1},
            )
            assert reviewed.status_code == 200
            assert client.get(f"/v1/requests/{rid}", headers={"Authorization": f"Bearer {sub}"}).status_code == 200
        for statement, refusal in (
            ("TRUNCATE audit_events", "permission denied"),
            ("TRUNCATE audit_head", "permission denied"),
            ("UPDATE audit_events SET actor_org = 'x' WHERE seq = 1", "permission denied"),
            ("DELETE FROM audit_events WHERE seq = 1", "permission denied"),
            ("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only", "must be owner"),
            ("ALTER TABLE audit_head DISABLE TRIGGER audit_head_forward", "must be owner"),
            ("DROP TRIGGER audit_events_append_only ON audit_events", "must be owner"),
            ("SET session_replication_role = replica", "permission denied"),
            ("UPDATE audit_head SET seq = 0, hash = repeat('0', 64)", "may only move forward"),
            ("CREATE TABLE audit_shadow (x int)", "permission denied"),
        ):
            with app_db.engine.connect() as conn, pytest.raises(DBAPIError, match=refusal), conn.begin():
                conn.execute(text(statement))
        with app_db.session() as s:
            result = verify_chain(s)
        assert result.ok and result.events >= 5
    finally:
        app_db.dispose()


def test_grant_app_role_refuses_a_superuser_and_sqlite(db, database_url):
    if db.engine.dialect.name == "postgresql":
        out = CliRunner().invoke(cli, ["db", "grant-app-role", "postgres", "--database-url", database_url])
        assert out.exit_code == 2 and "is a superuser" in out.output
    else:
        out = CliRunner().invoke(cli, ["db", "grant-app-role", "app", "--database-url", database_url])
        assert out.exit_code == 2 and "only for PostgreSQL" in out.output
