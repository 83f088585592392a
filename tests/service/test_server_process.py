"""`priorauth serve` as a real process: PHI stays out of its logs; SIGKILL loses no acknowledged request."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from tests.web.live import sign_in

from priorauth.service import Settings, create_token, verify_chain
from priorauth.store.db import Database
from priorauth.store.models import CoverageRequest

PRIORAUTH = str(Path(sys.executable).with_name("priorauth"))
PATIENT_NAME = "Wilhelmina Quackenbush-Oyelaran"
BIRTH_DATE = "1931-07-19"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `priorauth serve` process on loopback, its output captured to a file."""

    def __init__(self, url: str, log: Path, *extra: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [PRIORAUTH, "serve", "--port", str(self.port), "--database-url", url, *extra],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        for _ in range(300):  # bounded wait for the port (up to ~30 s on a loaded machine)
            try:
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        self.proc.kill()
        raise RuntimeError("server did not become ready")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)


@pytest.fixture
def setup(sqlite_url, tmp_path):
    db = Database.open(sqlite_url, Settings(database_url=sqlite_url))
    with db.session() as s:
        tokens = {
            "submitter": create_token(s, "submitter", "clinic-a").secret,
            "reviewer": create_token(s, "reviewer", "plan").secret,
        }
    db.dispose()
    return sqlite_url, tokens


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_phi_never_reaches_the_logs(setup, tmp_path, example):
    url, tokens = setup
    log = tmp_path / "server.log"
    server = Server(url, log, "--log-level", "debug")
    sub, rev = bearer(tokens["submitter"]), bearer(tokens["reviewer"])
    request = example("pended-comorbidities-unknown")
    request["facts"]["birth_date"] = BIRTH_DATE
    request["patient"] = {"name": PATIENT_NAME, "member_id": "M-123"}
    try:
        with httpx.Client(base_url=server.base, timeout=10) as c:
            r = c.post("/v1/requests", json=request, headers=sub)
            assert r.status_code == 201
            rid = r.json()["id"]
            assert r.json()["patient"]["name"] == PATIENT_NAME  # stored and shown to authorised callers
            c.get(f"/v1/requests/{rid}", headers=sub)
            c.get("/v1/requests", headers=rev)
            c.post(f"/v1/requests/{rid}/information", json={"facts": {"substantial_comorbidities": True}}, headers=sub)
            c.post(
                f"/v1/requests/{rid}/review",
                headers=rev,
                json={"action": "deny", "note": "Reviewed", "expected_version": 2},
            )
            # Bad input carrying the PHI in the wrong places is refused without echoing or logging it.
            for bad in (
                {**request, "facts": {**request["facts"], "tki": {"name": PATIENT_NAME}}},
                {**request, "patient": {"name": PATIENT_NAME, "born": BIRTH_DATE}},
                {**request, "facts": {**request["facts"], "request_date": "1930-01-01"}},
            ):
                r = c.post("/v1/requests", json=bad, headers=sub)
                assert 400 <= r.status_code < 500 and PATIENT_NAME not in r.text and BIRTH_DATE not in r.text
            # A fact *name* is echoed to the caller who sent it (the field is named), but never logged.
            c.post("/v1/requests", json={**request, "facts": {PATIENT_NAME: BIRTH_DATE}}, headers=sub)
            c.post("/v1/evaluate", json={"policy": "besponsa", "facts": {"birth_date": BIRTH_DATE}}, headers=sub)
    finally:
        server.stop()
    output = log.read_text()
    assert rid in output  # the log does record what happened, by identifier
    assert PATIENT_NAME not in output and BIRTH_DATE not in output
    assert "M-123" not in output


def test_sigkill_mid_burst_loses_no_acknowledged_request(setup, tmp_path, example):
    url, tokens = setup
    sub = bearer(tokens["submitter"])
    body = example("pended-comorbidities-unknown")
    server = Server(url, tmp_path / "server.log", "--no-access-log")
    acknowledged: dict[str, str] = {}
    lock = threading.Lock()
    enough = threading.Event()

    def submit(i: int) -> None:
        key = f"burst-{i}"
        try:
            r = httpx.post(server.base + "/v1/requests", json=body, headers={**sub, "Idempotency-Key": key}, timeout=10)
        except httpx.HTTPError:
            return  # in flight when the server died: not acknowledged
        if r.status_code in (200, 201):
            with lock:
                acknowledged[key] = r.json()["id"]
                if len(acknowledged) >= 60:
                    enough.set()

    def killer() -> None:
        enough.wait(timeout=60)
        server.proc.send_signal(signal.SIGKILL)

    threading.Thread(target=killer, daemon=True).start()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(submit, range(400)))
    server.proc.wait(timeout=30)
    assert server.proc.returncode == -signal.SIGKILL
    assert 60 <= len(acknowledged) < 400, "the kill must land in the middle of the burst"

    restarted = Server(url, tmp_path / "server2.log", "--no-access-log")
    try:
        with httpx.Client(base_url=restarted.base, timeout=10) as c:
            for key, rid in acknowledged.items():
                assert c.get(f"/v1/requests/{rid}", headers=sub).status_code == 200, key
            # Clients retry what was not acknowledged; keys make that safe.
            for i in range(400):
                r = c.post("/v1/requests", json=body, headers={**sub, "Idempotency-Key": f"burst-{i}"})
                assert r.status_code in (200, 201)
                if f"burst-{i}" in acknowledged:
                    assert r.status_code == 200 and r.json()["id"] == acknowledged[f"burst-{i}"]
    finally:
        restarted.stop()
    db = Database.open(url)
    with db.session() as s:
        per_key = dict(
            s.execute(
                select(CoverageRequest.idempotency_key, func.count()).group_by(CoverageRequest.idempotency_key)
            ).all()
        )
        assert len(per_key) == 400 and set(per_key.values()) == {1}
        assert verify_chain(s).ok
    db.dispose()


def test_bad_input_suite_leaves_no_traceback_in_the_log(setup, tmp_path, example):
    """Issue 14 (M1): every cause of a 5xx found in review, sent to a real server: 4xx answers, no traceback."""
    url, tokens = setup
    log = tmp_path / "server.log"
    server = Server(url, log, "--log-level", "debug")
    sub, rev = bearer(tokens["submitter"]), bearer(tokens["reviewer"])
    body = example("approved-adult-relapsed")
    deep = b'{"policy":"besponsa","facts":{"x":' + b"[" * 1000 + b"]" * 1000 + b"}}"
    try:
        with httpx.Client(base_url=server.base, timeout=10) as c:
            answers = [
                c.post("/v1/evaluate", json={**body, "facts": {**body["facts"], "request_date": "9999-12-31"}},
                       headers=sub),
                c.post("/v1/requests", json={**body, "facts": {**body["facts"], "birth_date": "9999-12-31"}},
                       headers=sub),
                c.post("/v1/requests", content=deep, headers={**sub, "Content-Type": "application/json"}),
                c.post("/v1/evaluate", content=deep, headers={**sub, "Content-Type": "application/json"}),
                c.get("/v1/requests", params={"due_before": "9999-12-31T23:59:59-05:00"}, headers=rev),
                c.get("/v1/requests", params={"submitter": "a\x00b"}, headers=rev),
                c.get("/v1/requests/abc%00", headers=rev),
                c.get("/v1/requests", params={"offset": "99999999999999999999"}, headers=rev),
            ]
            for r in answers:
                assert 400 <= r.status_code < 500, (r.request.url, r.status_code, r.text)
            assert sign_in(c, tokens["reviewer"]).status_code == 303
            page = c.get("/web/requests?page=99999999999999999999")
            assert 200 <= page.status_code < 500
    finally:
        server.stop()
    output = log.read_text()
    assert "Traceback" not in output and "Exception in ASGI application" not in output
    assert '" 500' not in output
