"""Backup while the service runs, restore with it stopped: the audit chain holds and the trail records the restore."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from tests.operations.live import BIN, ROOT, Service, clean_env, priorauth

PENDED = ROOT / "src" / "priorauth" / "examples" / "pended-comorbidities-unknown.json"


def submit(service: Service, secret: str, key: str) -> str:
    request = json.loads(PENDED.read_text())
    del request["facts"]["request_date"]  # a stored submission is dated the day the service receives it
    r = httpx.post(service.base + "/v1/requests", json=request, timeout=10,
                   headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json",
                            "Idempotency-Key": key})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def token(cwd: Path, role: str, org: str, env: dict[str, str] | None = None) -> str:
    made = priorauth("tokens", "create", "--role", role, "--org", org, cwd=cwd, env=env)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def events(result: subprocess.CompletedProcess[str]) -> int:
    found = re.search(r"audit trail intact: (\d+) events", result.stdout)
    assert found, result.stdout + result.stderr
    return int(found.group(1))


def test_backup_of_a_live_service_then_restore_keeps_the_chain_and_records_itself(tmp_path):
    service = Service(tmp_path)
    try:
        submitter = token(tmp_path, "submitter", "clinic-a")
        reviewer = token(tmp_path, "reviewer", "plan")
        before = submit(service, submitter, "before-backup")
        backed_up = priorauth("db", "backup", "backups/one.db", cwd=tmp_path)  # while the service runs
        assert backed_up.returncode == 0, backed_up.stderr
        assert re.search(r"audit trail intact, (\d+) events", backed_up.stdout)
        in_backup = int(re.search(r"intact, (\d+) events", backed_up.stdout).group(1))
        after = submit(service, submitter, "after-backup")
        assert priorauth("db", "backup", "backups/one.db", cwd=tmp_path).returncode == 2  # never overwritten
    finally:
        service.stop()
    restored = priorauth("db", "restore", "backups/one.db", cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert f"audit trail intact up to event {in_backup} (the backup's last); restore recorded as event " \
           f"{in_backup + 1}" in restored.stdout
    kept = list((tmp_path / "var").glob("priorauth.before-restore-*.db"))
    assert len(kept) == 1

    verified = priorauth("audit", "verify", cwd=tmp_path)
    assert verified.returncode == 0 and events(verified) == in_backup + 1
    assert f"event {in_backup + 1}: restored from one.db on " in verified.stdout
    assert f"(events 1-{in_backup} came from the backup)" in verified.stdout

    service = Service(tmp_path)
    try:
        headers = {"Authorization": f"Bearer {reviewer}"}
        assert httpx.get(f"{service.base}/v1/requests/{before}", headers=headers, timeout=10).status_code == 200
        # What happened after the backup is not in the restored database ...
        assert httpx.get(f"{service.base}/v1/requests/{after}", headers=headers, timeout=10).status_code == 404
        # ... and the service goes on appending to the restored chain.
        submit(service, submitter, "after-restore")
    finally:
        service.stop()
    assert events(priorauth("audit", "verify", cwd=tmp_path)) > in_backup + 1
    # The replaced database is kept whole: it still has the request made after the backup.
    with sqlite3.connect(kept[0]) as conn:
        assert conn.execute("SELECT count(*) FROM coverage_requests WHERE id = ?", (after,)).fetchone()[0] == 1


def test_a_backup_whose_audit_chain_was_altered_is_not_restored(tmp_path):
    service = Service(tmp_path)
    try:
        submit(service, token(tmp_path, "submitter", "clinic-a"), "one")
    finally:
        service.stop()
    assert priorauth("db", "backup", "b.db", cwd=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "b.db") as conn:  # tamper: drop the guard, rewrite an event's detail
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute("UPDATE audit_events SET detail = '{}' WHERE seq = 2")
    database = tmp_path / "var" / "priorauth.db"
    before = database.read_bytes()
    result = priorauth("db", "restore", "b.db", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: db restore: the backup's audit trail is broken (event 2: contents do not match its hash (altered)); "
        "nothing replaced"
    )
    assert database.read_bytes() == before and not list(database.parent.glob("*.before-restore-*"))


def test_restore_refuses_a_file_that_is_no_backup(tmp_path):
    (tmp_path / "notes.db").write_text("not a database")
    result = priorauth("db", "restore", "notes.db", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip() == "error: db restore: notes.db is not an SQLite database"
    assert not (tmp_path / "var").exists()


def test_postgresql_backup_and_restore_say_what_to_use(tmp_path):
    env = clean_env(DATABASE_URL="postgresql://priorauth@db.invalid/priorauth")
    backup = priorauth("db", "backup", "x.dump", cwd=tmp_path, env=env)
    assert backup.returncode == 2 and "PostgreSQL is backed up with pg_dump" in backup.stderr
    restore = priorauth("db", "restore", "x.dump", cwd=tmp_path, env=env)
    assert restore.returncode == 2 and "priorauth db restore --record-only" in restore.stderr


@pytest.fixture
def postgres_database():
    """A throwaway PostgreSQL database, or a skip saying why there is none."""
    admin_url = os.environ.get("PRIORAUTH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        import psycopg

        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL not reachable at {admin_url} ({type(exc).__name__})")
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            admin.close()
            pytest.skip(f"{tool} is not installed")
    name = f"priorauth_ops_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    yield admin_url.rsplit("/", 1)[0] + "/" + name
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_the_documented_postgresql_backup_and_restore(tmp_path, postgres_database):
    """docs/operations.md's pg_dump block, run as printed with DATABASE_URL set."""
    doc = (ROOT / "docs" / "operations.md").read_text()
    block = next(b for b in re.findall(r"^```sh\n(.*?)^```", doc, re.M | re.S) if "pg_dump" in b)
    env = clean_env(DATABASE_URL=postgres_database)
    (tmp_path / ".venv").symlink_to(BIN.parent, target_is_directory=True)
    service = Service(tmp_path, env=env)
    try:
        submitter = token(tmp_path, "submitter", "clinic-a", env)
        submit(service, submitter, "before-dump")
        dump_and_restore = [line for line in block.splitlines() if line.strip()]
        dumped = subprocess.run(["bash", "-euc", dump_and_restore[0]], cwd=tmp_path, env=env, capture_output=True,
                                text=True, check=False)
        assert dumped.returncode == 0, dumped.stderr
        at_dump = events(priorauth("audit", "verify", cwd=tmp_path, env=env))
        submit(service, submitter, "after-dump")
    finally:
        service.stop()
    rest = subprocess.run(["bash", "-euc", "\n".join(dump_and_restore[1:])], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert f"audit trail intact up to event {at_dump}; restore from priorauth.dump recorded as event {at_dump + 1}" \
        in rest.stdout
    assert f"audit trail intact: {at_dump + 1} events" in rest.stdout
    assert f"event {at_dump + 1}: restored from priorauth.dump" in rest.stdout
