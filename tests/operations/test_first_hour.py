"""The first hour of a newcomer: one database for every command, a busy port, clear one-line failures."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys

import httpx
import pytest
from tests.operations.live import ROOT, Service, clean_env, free_port, priorauth

READING_COMMANDS = [
    ["audit", "verify"],
    ["audit", "show", "req_x"],
    ["tokens", "create", "--role", "reviewer", "--org", "plan"],
    ["tokens", "list"],
    ["tokens", "revoke", "tok_x"],
    ["db", "current"],
]


@pytest.mark.parametrize("args", READING_COMMANDS, ids=" ".join)
def test_commands_that_read_the_database_never_create_it(tmp_path, args):
    result = priorauth(*args, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"{tmp_path}/var/priorauth.db does not exist" in line
    assert not (tmp_path / "var").exists(), "nothing may be created"


def test_a_token_from_the_command_line_is_accepted_by_the_running_service(tmp_path):
    """The defect: serve used var/priorauth.db, the CLI ./priorauth.db; a new token got 401."""
    home = tmp_path / "home"
    home.mkdir()
    service = Service(home)  # started in `home`: the default database is home/var/priorauth.db
    try:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        # From another folder, PRIORAUTH_HOME names the same default database.
        made = priorauth("tokens", "create", "--role", "reviewer", "--org", "plan", cwd=elsewhere,
                         env=clean_env(PRIORAUTH_HOME=str(home)))
        assert made.returncode == 0, made.stderr
        secret = made.stdout.strip()
        r = httpx.get(service.base + "/v1/policies", headers={"Authorization": f"Bearer {secret}"}, timeout=10)
        assert r.status_code == 200
        verified = priorauth("audit", "verify", cwd=home)
        assert verified.returncode == 0 and "audit trail intact: 1 events" in verified.stdout
    finally:
        service.stop()
    assert not (elsewhere / "var").exists() and not list(elsewhere.iterdir())


def test_a_busy_port_fails_before_anything_is_printed(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = priorauth("serve", "--demo", "--port", str(port), cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""  # no URL, no demo tokens
    assert result.stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is in use by another program: stop it, or choose another port "
        "(make run PORT=8080, or priorauth serve --port 8080)"
    )
    assert not (tmp_path / "var").exists(), "no database created, no demo requests submitted"


def test_make_run_with_a_busy_port_prints_only_the_error(tmp_path):
    up_to_date = subprocess.run(["make", "-q", ".venv/.installed-service"], cwd=ROOT, check=False)
    if up_to_date.returncode != 0 or not (ROOT / ".venv" / "bin" / "priorauth").exists():
        pytest.skip("make run would install the service first (.venv not set up by make here)")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(["make", "--no-print-directory", "run", f"PORT={port}"], cwd=ROOT,
                                capture_output=True, text=True, timeout=60, check=False, env=clean_env())
    assert result.returncode != 0 and result.stdout == ""
    assert f"error: port {port} on 127.0.0.1 is in use" in result.stderr and "PORT=8080" in result.stderr


def test_demo_requests_are_dated_today_so_the_approval_is_current(tmp_path):
    service = Service(tmp_path, "--demo")
    try:
        reviewer = next(line.split("=", 1)[1] for line in service.output().splitlines() if "REVIEWER=" in line)
        r = httpx.get(service.base + "/v1/requests", params={"status": "approved", "policy": "besponsa"},
                      headers={"Authorization": f"Bearer {reviewer}"}, timeout=10)
        approved = r.json()["items"]
        assert approved
        today = dt.date.today()
        for request in approved:
            period = request["authorization"]
            assert request["facts"]["request_date"] == today.isoformat()
            assert dt.date.fromisoformat(period["start"]) <= today <= dt.date.fromisoformat(period["end"])
        # The sign-in page says where the demo tokens are.
        page = httpx.get(service.base + "/web/signin", timeout=10).text
        assert "tokens are printed in the terminal where" in page and "REVIEWER" in page
        assert "scripts/walkthrough.sh" in service.output() or not (tmp_path / "scripts").exists()
    finally:
        service.stop()


def test_without_demo_the_sign_in_page_has_no_demo_hint(tmp_path):
    service = Service(tmp_path)
    try:
        page = httpx.get(service.base + "/web/signin", timeout=10).text
        assert "Access token" in page and "tokens are printed in the terminal" not in page
    finally:
        service.stop()


def test_demo_dates_keep_ages_and_intervals():
    from priorauth.commands.serve import dated_today

    renewal = {"policy": "besponsa", "facts": {"request_type": "renewal", "request_date": "2026-06-15",
                                               "first_authorization_date": "2026-03-02", "cycles_received": 4}}
    moved = dated_today(renewal, dt.date(2027, 1, 10))["facts"]
    assert moved["request_date"] == "2027-01-10"
    assert dt.date.fromisoformat(moved["request_date"]) - dt.date.fromisoformat(moved["first_authorization_date"]) \
        == dt.date(2026, 6, 15) - dt.date(2026, 3, 2)
    assert moved["cycles_received"] == 4


def test_a_huge_request_file_is_refused_unread(tmp_path):
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as f:  # 225 MB, sparse: refusing it must not read it
        f.truncate(225 * 1024 * 1024)
    result = priorauth("evaluate", str(huge), cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {huge}: larger than 1024 KiB; a request is a few kilobytes (refused unread)"
    )
    piped = priorauth("evaluate", "-", cwd=tmp_path, stdin=b" " * (2 * 1024 * 1024), timeout=30)
    assert piped.returncode == 2 and "error: -: larger than 1024 KiB" in piped.stderr


def test_an_example_request_decides_from_where_the_readme_points():
    result = priorauth("evaluate", "src/priorauth/examples/approved-adult-relapsed.json", cwd=ROOT)
    assert result.returncode == 0 and json.loads(result.stdout)["decision"] == "approved"


def test_claims_audit_without_out_writes_beside_the_input(tmp_path):
    pytest.importorskip("polars")
    made = priorauth("claims", "synth", "200", "--policy", "besponsa", "--out", "claims.csv", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    audited = priorauth("claims", "audit", "claims.csv", "--policy", "besponsa", cwd=tmp_path)
    assert audited.returncode == 0, audited.stderr
    assert (tmp_path / "claims.audited.parquet").is_file()
    assert "output: claims.audited.parquet" in audited.stdout


def test_a_missing_extra_is_one_line_naming_it(tmp_path):
    # The service-only install has no Polars: simulate it by hiding the module from this process.
    code = "import sys; sys.modules['polars'] = None; sys.argv = ['priorauth', 'claims', 'synth', '5', " \
           "'--out', 'x.csv']; from priorauth.cli import main; main()"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False,
                            env=clean_env())
    assert result.returncode == 2
    assert result.stderr.strip() == "error: this needs polars, which is not installed: pip install 'priorauth[claims]'"


def test_spark_without_java_is_one_line_saying_what_to_install(tmp_path):
    pytest.importorskip("pyspark")
    made = priorauth("claims", "synth", "50", "--policy", "besponsa", "--out", "c.parquet", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    env = clean_env(JAVA_HOME=str(tmp_path / "no-java"))
    result = priorauth("claims", "audit", "c.parquet", "--policy", "besponsa", "--engine", "spark", cwd=tmp_path,
                       env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "JAVA_GATEWAY" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: the Spark engine needs Java 17 or later: JAVA_HOME ({tmp_path}/no-java) has no bin/java; "
        "install a Java runtime (Debian: apt-get install default-jre-headless) or set JAVA_HOME"
    )


def test_settings_file_and_environment(tmp_path):
    """priorauth.toml under PRIORAUTH_HOME sets the service; the environment wins over it."""
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    (home / "priorauth.toml").write_text(
        f'database_url = "sqlite:///{home}/from-file.db"\nport = {port}\nlog_format = "json"\n'
        'cors_origins = ["https://ehr.example.org"]\ndue_expedited_hours = 24\n'
    )
    env = clean_env(PRIORAUTH_HOME=str(home), PRIORAUTH_LOG_LEVEL="info")
    service = Service(tmp_path, env=env, port=port)
    try:
        # The file's port and database; CORS for the named origin only.
        r = httpx.options(service.base + "/v1/requests", timeout=10, headers={
            "Origin": "https://ehr.example.org", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://ehr.example.org"
        other = httpx.get(service.base + "/healthz", headers={"Origin": "https://evil.example"}, timeout=10)
        assert "access-control-allow-origin" not in other.headers
        made = priorauth("tokens", "create", "--role", "submitter", "--org", "c", cwd=tmp_path, env=env)
        assert made.returncode == 0 and (home / "from-file.db").is_file() and not (home / "var").exists()
        secret = made.stdout.strip()
        body = json.loads((ROOT / "src/priorauth/examples/pended-comorbidities-unknown.json").read_text())
        del body["facts"]["request_date"]  # a stored submission is dated the day the service receives it
        r = httpx.post(service.base + "/v1/requests", json={**body, "urgency": "expedited"},
                       headers={"Authorization": f"Bearer {secret}"}, timeout=10)
        assert r.status_code == 201
        due = dt.datetime.fromisoformat(r.json()["due_at"]) - dt.datetime.fromisoformat(r.json()["created_at"])
        assert due == dt.timedelta(hours=24)
    finally:
        service.stop()
    # JSON lines: every log line of the service is one JSON object, the access lines with their parts.
    lines = [json.loads(line) for line in service.output().splitlines() if line.startswith("{")]
    access = [entry for entry in lines if entry["logger"] == "uvicorn.access"]
    assert any(e["method"] == "POST" and e["path"] == "/v1/requests" and e["status"] == 201 for e in access)
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in lines)
    # The environment wins over the file.
    assert priorauth("db", "current", cwd=tmp_path, env={**env, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
                     ).returncode == 2


def test_a_bad_settings_file_is_one_line_naming_file_and_key(tmp_path):
    (tmp_path / "priorauth.toml").write_text('port = 8000\ncolour = "blue"\n')
    result = priorauth("db", "current", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: {tmp_path}/priorauth.toml: colour: unknown setting; known:")
    (tmp_path / "priorauth.toml").write_text("port = 'eighty'\n")
    result = priorauth("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path}/priorauth.toml: port: expected a number"


def test_readyz_names_the_database_and_the_policies(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready" and body["database"] == "ok" and "besponsa" in body["policies"]


def test_readyz_is_503_when_the_database_is_not_migrated(tmp_path):
    from fastapi.testclient import TestClient

    from priorauth.http.app import create_app
    from priorauth.service import Settings
    from priorauth.store.db import Database

    url = f"sqlite:///{tmp_path}/empty.db"
    settings = Settings(database_url=url)
    db = Database(url, settings, migrate=False)
    try:
        with TestClient(create_app(settings, db)) as c:
            r = c.get("/readyz")
            assert r.status_code == 503 and r.json()["code"] == "not_ready"
            assert c.get("/healthz").status_code == 200
    finally:
        db.dispose()


def test_the_settings_table_documents_every_setting():
    from priorauth.store.settings import SETTINGS

    text = (ROOT / "docs" / "operations.md").read_text()
    for setting in SETTINGS:
        assert f"| `{setting.key}` | `{setting.env}` |" in text, setting.key
