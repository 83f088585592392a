"""`priorauth requests export`: the stored requests in the batch input form, re-decided as they were decided."""

from __future__ import annotations

import json
import subprocess
import sys

import polars as pl
from sqlalchemy import select
from tests.batch.helpers import batch
from tests.received import dated_today

from priorauth import service
from priorauth.batch.synth import synth_requests
from priorauth.store.models import AuditEvent


def _store(db, n: int = 40) -> list:
    frame = synth_requests("besponsa", n, seed=17)
    facts = [c for c in frame.columns if c not in ("id", "policy")]
    stored = []
    with db.session() as session:
        submitter = service.authenticate(session, service.create_token(session, "submitter", "clinic-a").secret)
        for row in frame.iter_rows(named=True):
            given = {f: (row[f].isoformat() if hasattr(row[f], "isoformat") else row[f])
                     for f in facts if row[f] is not None}
            # stored submissions are decided on the day received: the history's dates moved to today
            stored.append(service.submit_request(session, submitter, "besponsa", dated_today(given)))
    return stored


def _export(database_url: str, out) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "priorauth.cli", "requests", "export", "--database-url",
                           database_url, "--out", str(out)], capture_output=True, text=True, timeout=300)


def test_exported_requests_re_decide_as_stored_and_the_export_is_audited(db, database_url, tmp_path):
    stored = _store(db)
    out = tmp_path / "history.jsonl"
    run = _export(database_url, out)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in lines] == [s.id for s in stored]
    decided, refused, _ = batch(out)
    assert not refused
    assert {decided[k + 1]["id"]: decided[k + 1]["decision"] for k in range(len(stored))} == {
        s.id: s.engine_decision for s in stored}
    with db.session() as session:
        events = session.execute(select(AuditEvent).where(AuditEvent.action == "export")).scalars().all()
    assert [e.detail for e in events] == [{"requests": len(stored)}]
    assert "name" not in out.read_text()  # no patient details leave with the export

    parquet = tmp_path / "history.parquet"
    assert _export(database_url, parquet).returncode == 0
    assert pl.read_parquet(parquet)["id"].to_list() == [s.id for s in stored]
    again, _, _ = batch(parquet)
    assert [r["decision"] for r in again.values()] == [r["decision"] for r in decided.values()]


def test_export_refuses_a_missing_database(tmp_path):
    run = _export(f"sqlite:///{tmp_path}/none.db", tmp_path / "x.jsonl")
    assert run.returncode == 2 and "does not exist" in run.stderr and "Traceback" not in run.stderr
