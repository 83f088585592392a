"""The audit trail is append-only and hash-chained: tampering is detected."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from priorauth.cli import app as cli
from priorauth.service import verify_chain


def run_flow(client, auth, example):
    sub, rev = auth("submitter"), auth("reviewer", "plan")
    req = client.post("/v1/requests", json=example("pended-comorbidities-unknown"), headers=sub).json()
    client.get(f"/v1/requests/{req['id']}", headers=sub)
    client.post(
        f"/v1/requests/{req['id']}/review", json={"action": "deny", "note": "n", "expected_version": 1}, headers=rev
    )
    return req["id"]


def test_reads_are_audited_with_who(client, auth, example):
    rid = run_flow(client, auth, example)
    events = client.get(f"/v1/requests/{rid}/audit", headers=auth("admin", "plan")).json()["events"]
    reads = [e for e in events if e["action"] == "read"]
    assert len(reads) == 1 and reads[0]["actor_role"] == "submitter" and reads[0]["actor_org"] == "clinic-a"
    assert all(e["at"] and e["actor"] for e in events)


def test_database_refuses_to_change_audit_events(client, auth, example, db):
    run_flow(client, auth, example)
    with db.engine.connect() as conn:
        with pytest.raises(DBAPIError):
            conn.execute(text("UPDATE audit_events SET action = 'x' WHERE seq = 1"))
        conn.rollback()
        with pytest.raises(DBAPIError):
            conn.execute(text("DELETE FROM audit_events WHERE seq = 1"))
        conn.rollback()


def _drop_guards(conn, dialect: str) -> None:
    if dialect == "postgresql":
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
    else:
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("DROP TRIGGER audit_events_no_delete"))


@pytest.mark.parametrize("tamper", ["alter", "delete_middle", "delete_last"])
def test_tampering_is_detected(client, auth, example, db, database_url, tamper):
    run_flow(client, auth, example)
    with db.session() as s:
        assert verify_chain(s).ok
    with db.engine.begin() as conn:
        _drop_guards(conn, db.engine.dialect.name)
        if tamper == "alter":
            conn.execute(text("UPDATE audit_events SET actor_org = 'someone-else' WHERE seq = 3"))
        elif tamper == "delete_middle":
            conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
        else:
            conn.execute(text("DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)"))
    with db.session() as s:
        result = verify_chain(s)
    assert not result.ok
    out = CliRunner().invoke(cli, ["audit", "verify", "--database-url", database_url])
    assert out.exit_code == 1 and "tampered" in out.output
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))


def test_cli_verifies_an_intact_trail(client, auth, example, database_url):
    run_flow(client, auth, example)
    out = CliRunner().invoke(cli, ["audit", "verify", "--database-url", database_url])
    assert out.exit_code == 0 and "intact" in out.output


def test_cli_issues_tokens_the_api_accepts(client, database_url):
    runner = CliRunner()
    out = runner.invoke(
        cli, ["tokens", "create", "--role", "reviewer", "--org", "plan", "--database-url", database_url]
    )
    assert out.exit_code == 0
    secret = out.stdout.strip().splitlines()[0]
    assert client.get("/v1/requests", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    bad = runner.invoke(cli, ["tokens", "create", "--role", "root", "--org", "plan", "--database-url", database_url])
    assert bad.exit_code == 2


def test_db_upgrade_creates_and_migrates(tmp_path):
    url = f"sqlite:///{tmp_path}/new/fresh.db"
    out = CliRunner().invoke(cli, ["db", "upgrade", "--database-url", url])
    from priorauth.store.db import head_revision

    assert out.exit_code == 0 and f"revision {head_revision()}" in out.output
    assert (tmp_path / "new" / "fresh.db").exists()
