"""H2: the audit trail cannot be wiped by TRUNCATE or by rewinding its head (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def _events(client, auth, example) -> None:
    client.post("/v1/requests", json=example("pended-comorbidities-unknown"), headers=auth("submitter"))


def test_head_cannot_be_rewound_or_deleted(client, auth, db, example):
    _events(client, auth, example)
    for statement in (
        "UPDATE audit_head SET seq = 0, hash = '" + "0" * 64 + "'",
        "UPDATE audit_head SET hash = '" + "f" * 64 + "'",
        "UPDATE audit_head SET seq = seq + 5",
        "DELETE FROM audit_head",
    ):
        with db.engine.connect() as conn, pytest.raises(DBAPIError), conn.begin():
            conn.execute(text(statement))
    assert client.get("/v1/audit/verify", headers=auth("admin", "plan")).json()["ok"] is True
    # Appends still move it forward.
    _events(client, auth, example)
    assert client.get("/v1/audit/verify", headers=auth("admin", "plan")).json()["ok"] is True


def test_truncate_is_refused_on_postgresql(client, auth, db, example):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    _events(client, auth, example)
    for table in ("audit_events", "audit_head"):
        with db.engine.connect() as conn, pytest.raises(DBAPIError, match="cannot be truncated"), conn.begin():
            conn.execute(text(f"TRUNCATE {table}"))
    verified = client.get("/v1/audit/verify", headers=auth("admin", "plan")).json()
    assert verified["ok"] is True and verified["events"] >= 2
