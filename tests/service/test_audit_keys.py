"""M2: a keyed audit trail the database owner cannot silently rewrite (SQLite and PostgreSQL).

Every attack of issue 14 is made with the owner's (or superuser's) full power over the tables
(triggers dropped or skipped) and is detected by `priorauth audit verify` given the audit key and
the checkpoint folder: tail deletion with the head moved back, a forged event with every later hash
recomputed by the public algorithm, a request flipped from denied to approved, a wiped trail.
"""

from __future__ import annotations

import secrets
import stat

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from priorauth.cli import app as cli
from priorauth.service import audit, verify_chain
from priorauth.service.principal import Principal
from priorauth.store.models import AuditEvent

KEY = "k" * 8 + secrets.token_hex(16)


@pytest.fixture
def keyed(monkeypatch):
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    monkeypatch.delenv(audit.KEY_FILE_ENV, raising=False)
    return audit.current_key()


def flow(client, auth, example) -> str:
    """Submit an engine-denied request, read it, deny it on review: a few events, one request."""
    sub, rev = auth("submitter"), auth("reviewer", "plan")
    req = client.post("/v1/requests", json=example("denied-pediatric-combination"), headers=sub).json()
    client.get(f"/v1/requests/{req['id']}", headers=sub)
    r = client.post(
        f"/v1/requests/{req['id']}/review",
        headers=rev,
        json={"action": "deny", "note": "Not met.", "expected_version": 1},
    )
    assert r.status_code == 200
    return req["id"]


def unguard(conn, dialect: str) -> None:
    """What the owner or a superuser can do: skip (PostgreSQL) or drop (SQLite) every audit trigger."""
    if dialect == "postgresql":
        conn.execute(text("SET session_replication_role = replica"))
    else:
        for trigger in (
            "audit_events_no_update",
            "audit_events_no_delete",
            "audit_head_forward",
            "audit_head_no_delete",
        ):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))


def verify_cli(database_url: str, checkpoints=None):
    args = ["audit", "verify", "--database-url", database_url]
    if checkpoints is not None:
        args += ["--checkpoints", str(checkpoints)]
    return CliRunner().invoke(cli, args)


def checkpoint(database_url: str, folder) -> None:
    out = CliRunner().invoke(cli, ["audit", "checkpoint", "--database-url", database_url, "--out", str(folder)])
    assert out.exit_code == 0, out.output
    assert "checkpoint at event" in out.output


def rechain_with_public_algorithm(conn, start: int, keep_key_ids: bool) -> None:
    """Recompute every hash from `start` on as SHA-256 (the published algorithm), and move the head along."""
    rows = conn.execute(select(AuditEvent.__table__).order_by(AuditEvent.seq)).mappings().all()
    prev = audit.GENESIS
    for row in rows:
        values = dict(row)
        if row["seq"] >= start:
            if not keep_key_ids:
                values["key_id"] = None
            new = audit.event_hash(prev, audit._hashed(values))
            conn.execute(
                text("UPDATE audit_events SET prev_hash = :p, hash = :h, key_id = :k WHERE seq = :s"),
                {"p": prev, "h": new, "k": values["key_id"], "s": row["seq"]},
            )
            prev = new
        else:
            prev = row["hash"]
    conn.execute(
        text("UPDATE audit_head SET seq = :s, hash = :h, key_id = NULL"),
        {"s": rows[-1]["seq"] if rows else 0, "h": prev},
    )


def test_events_are_keyed_and_carry_the_row_hash(client, auth, example, db, database_url, keyed):
    rid = flow(client, auth, example)
    with db.session() as s:
        events = s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        assert {e.key_id for e in events} == {keyed.id}
        changing = [e for e in events if e.request_id == rid and e.action in ("create", "decision", "review")]
        assert len(changing) == 3 and all(e.row_hash for e in changing)
        assert changing[0].row_hash != changing[-1].row_hash  # the review changed the row
        assert verify_chain(s).ok
    out = verify_cli(database_url)
    assert out.exit_code == 0 and "audit trail intact" in out.output and "1 request rows match" in out.output
    assert KEY not in out.output


def test_a_keyed_trail_without_its_key_is_a_clear_error(client, auth, example, db, database_url, keyed, monkeypatch):
    flow(client, auth, example)
    monkeypatch.delenv(audit.KEY_ENV)
    out = verify_cli(database_url)
    assert out.exit_code == 2 and "no audit key is set" in out.output and "Traceback" not in out.output
    with db.session() as s, pytest.raises(audit.AuditKeyError, match="PRIORAUTH_AUDIT_KEY"):
        audit.append_event(s, Principal("tok", "admin", "plan"), "list")
    monkeypatch.setenv(audit.KEY_ENV, "x" * 40)  # another key
    with db.session() as s, pytest.raises(audit.AuditKeyError, match="not the configured key"):
        audit.append_event(s, Principal("tok", "admin", "plan"), "list")


def test_events_written_before_the_key_still_verify(client, auth, example, db, database_url, monkeypatch):
    monkeypatch.delenv(audit.KEY_ENV, raising=False)
    monkeypatch.setenv(audit.KEY_FILE_ENV, "/nonexistent/priorauth-audit.key")
    monkeypatch.delenv(audit.KEY_FILE_ENV)
    flow(client, auth, example)  # unkeyed (legacy) events
    monkeypatch.setenv(audit.KEY_ENV, KEY)
    flow(client, auth, example)
    with db.session() as s:
        ids = [k for (k,) in s.execute(select(AuditEvent.key_id).order_by(AuditEvent.seq))]
        assert ids[0] is None and ids[-1] == audit.current_key().id
        assert verify_chain(s).ok
    out = verify_cli(database_url)
    assert out.exit_code == 0 and "predate the audit key" in out.output


@pytest.mark.parametrize("attack", ["delete_tail", "forge_and_rechain", "rechain_unkeyed", "flip_decision", "wipe"])
def test_every_attack_is_detected_with_the_key_and_checkpoints(
    client, auth, example, db, database_url, keyed, tmp_path, attack
):
    rid = flow(client, auth, example)
    folder = tmp_path / "checkpoints"
    checkpoint(database_url, folder)
    assert verify_cli(database_url, folder).exit_code == 0
    dialect = db.engine.dialect.name
    with db.engine.begin() as conn:
        unguard(conn, dialect)
        last = conn.execute(text("SELECT max(seq) FROM audit_events")).scalar_one()
        if attack == "delete_tail":
            conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": last})
            prev = conn.execute(text("SELECT hash FROM audit_events WHERE seq = :s"), {"s": last - 1}).scalar_one()
            conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": last - 1, "h": prev})
        elif attack == "forge_and_rechain":
            conn.execute(text("UPDATE audit_events SET actor_org = 'someone-else' WHERE seq = 2"))
            rechain_with_public_algorithm(conn, 2, keep_key_ids=True)
        elif attack == "rechain_unkeyed":
            conn.execute(text("UPDATE audit_events SET actor_org = 'someone-else' WHERE seq = 2"))
            rechain_with_public_algorithm(conn, 1, keep_key_ids=False)
        elif attack == "flip_decision":
            conn.execute(
                text("UPDATE coverage_requests SET status = 'approved', review_action = 'approve' WHERE id = :i"),
                {"i": rid},
            )
        else:
            conn.execute(text("DELETE FROM audit_events" if dialect == "sqlite" else "TRUNCATE audit_events"))
            conn.execute(text("UPDATE audit_head SET seq = 0, hash = :h, key_id = NULL"), {"h": audit.GENESIS})
    out = verify_cli(database_url, folder)
    assert out.exit_code == 1, out.output
    assert "tampered:" in out.output and "Traceback" not in out.output
    expected = {
        "delete_tail": f"event {last} is gone",
        "forge_and_rechain": "event 2: contents do not match its keyed hash",
        "rechain_unkeyed": f"event {last} no longer has the signed hash",
        "flip_decision": f"request {rid}: its row differs",
        "wipe": f"event {last} is gone",
    }[attack]
    assert expected in out.output


def test_without_checkpoints_a_deleted_tail_passes_so_they_are_needed(client, auth, example, db, database_url, keyed):
    """What the trail cannot prove alone: a cut at the end with the head moved back (documented).

    (Cutting an event that changed a request is caught by the row hashes; a read is not.)"""
    rid = flow(client, auth, example)
    client.get(f"/v1/requests/{rid}", headers=auth("reviewer", "plan"))
    with db.engine.begin() as conn:
        unguard(conn, db.engine.dialect.name)
        last = conn.execute(text("SELECT max(seq) FROM audit_events")).scalar_one()
        conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": last})
        prev = conn.execute(text("SELECT hash FROM audit_events WHERE seq = :s"), {"s": last - 1}).scalar_one()
        conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": last - 1, "h": prev})
    assert verify_cli(database_url).exit_code == 0


def test_a_forged_or_altered_checkpoint_is_named(client, auth, example, database_url, keyed, tmp_path):
    flow(client, auth, example)
    folder = tmp_path / "cp"
    checkpoint(database_url, folder)
    (path,) = folder.glob("*.json")
    path.write_text(path.read_text().replace('"seq": ', '"seq": 1'))
    (folder / "junk.json").write_text("{not json")
    out = verify_cli(database_url, folder)
    assert out.exit_code == 1
    assert f"checkpoint {path.name}: its signature does not hold" in out.output
    assert "checkpoint junk.json: not a checkpoint file" in out.output


def test_garbage_in_a_hashed_column_names_the_row(client, auth, example, db, database_url, keyed):
    flow(client, auth, example)
    sqlite = db.engine.dialect.name == "sqlite"
    with db.engine.begin() as conn:
        unguard(conn, db.engine.dialect.name)
        if sqlite:
            conn.execute(text("UPDATE audit_events SET at = 'not a time' WHERE seq = 2"))
            conn.execute(text("UPDATE audit_events SET detail = '{broken' WHERE seq = 3"))
        else:
            conn.execute(text("UPDATE audit_events SET hash = 'garbage' WHERE seq = 2"))
            conn.execute(text("UPDATE audit_events SET detail = '[1, 2]' WHERE seq = 3"))
    out = verify_cli(database_url)
    assert out.exit_code == 1 and "Traceback" not in out.output, out.output
    assert "event 2:" in out.output and "event 3:" in out.output


def test_checkpoint_needs_the_key(client, auth, example, database_url, tmp_path, monkeypatch):
    monkeypatch.delenv(audit.KEY_ENV, raising=False)
    monkeypatch.delenv(audit.KEY_FILE_ENV, raising=False)
    monkeypatch.setenv("PRIORAUTH_HOME", str(tmp_path))
    flow(client, auth, example)
    out = CliRunner().invoke(cli, ["audit", "checkpoint", "--database-url", database_url, "--out", str(tmp_path)])
    assert out.exit_code == 2 and "signed with the audit key" in out.output


def test_a_generated_key_file_is_private_and_used(tmp_path, monkeypatch):
    monkeypatch.delenv(audit.KEY_ENV, raising=False)
    monkeypatch.delenv(audit.KEY_FILE_ENV, raising=False)
    monkeypatch.setenv("PRIORAUTH_HOME", str(tmp_path))
    assert audit.current_key() is None
    path = audit.generate_key_file()
    assert path == tmp_path / "var" / "audit.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert audit.current_key() is not None
    assert audit.generate_key_file() is None  # never replaced
    path.chmod(0o644)
    audit._key_from_file.cache_clear()
    with pytest.raises(audit.AuditKeyError, match="chmod 600"):
        audit.current_key()
    monkeypatch.setenv(audit.KEY_ENV, "short")
    with pytest.raises(audit.AuditKeyError, match="at least 32"):
        audit.current_key()


def test_serve_demo_writes_a_key_and_serve_refuses_a_keyed_trail_without_it(tmp_path, monkeypatch, capsys):
    import typer

    from priorauth.commands.serve import _audit_key
    from priorauth.store.db import Database

    monkeypatch.delenv(audit.KEY_ENV, raising=False)
    monkeypatch.delenv(audit.KEY_FILE_ENV, raising=False)
    monkeypatch.setenv("PRIORAUTH_HOME", str(tmp_path))
    url = f"sqlite:///{tmp_path}/var/priorauth.db"
    Database.open(url).dispose()
    _audit_key(url, demo=True)  # what `make run` does at start
    key_file = tmp_path / "var" / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "audit key: new, written to" in capsys.readouterr().out
    db = Database.open(url)
    with db.session() as s:
        audit.append_event(s, Principal("tok", "admin", "plan"), "list")
        s.commit()
    db.dispose()
    key_file.rename(tmp_path / "elsewhere.key")
    audit._key_from_file.cache_clear()
    with pytest.raises(typer.Exit) as stopped:
        _audit_key(url, demo=False)
    assert stopped.value.exit_code == 2
    assert "the audit trail is keyed" in capsys.readouterr().err
