"""Issue 14 (M5, L): web sessions are server-side and separate from API tokens; tokens may expire; sign-in has CSRF.

Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.web.live import sign_in
from typer.testing import CliRunner

from priorauth import service
from priorauth.cli import app as cli
from priorauth.store.models import WebSession

COOKIE = "priorauth_session"
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
IDLE = dt.timedelta(minutes=30)
LIFETIME = dt.timedelta(hours=8)


def signed_in(app, token: str, **client_args) -> TestClient:
    web = TestClient(app, **client_args)
    assert sign_in(web, token, follow_redirects=False).status_code == 303
    return web


def test_the_cookie_holds_a_random_session_id_stored_only_as_a_hash(app, db, token):
    secret = token("reviewer", "plan")
    web = TestClient(app)
    answer = sign_in(web, secret, follow_redirects=False)
    assert answer.status_code == 303
    session_id = web.cookies[COOKIE]
    assert session_id != secret and secret not in answer.headers["set-cookie"]
    assert len(session_id) >= 43 and not session_id.startswith("pa_")  # >= 256 bits, not a token
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    with db.session() as s:
        rows = s.execute(select(WebSession)).scalars().all()
    assert len(rows) == 1 and session_id not in rows[0].id_sha256 and len(rows[0].id_sha256) == 64
    assert rows[0].expires_at - rows[0].created_at == LIFETIME
    assert web.get("/web/requests").status_code == 200
    # Over https the cookie is Secure.
    https = TestClient(app, base_url="https://testserver")
    assert "secure" in sign_in(https, secret, follow_redirects=False).headers["set-cookie"].lower()


def test_sign_out_ends_the_session_on_the_server(app, token):
    web = signed_in(app, token("reviewer", "plan"))
    session_id = web.cookies[COOKIE]
    page = web.get("/web/requests").text
    csrf = page.split('name="csrf" value="', 1)[1][:32]
    assert web.post("/web/signout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    # The old cookie value, replayed from elsewhere, no longer opens a page.
    replay = TestClient(app, cookies={COOKIE: session_id})
    answer = replay.get("/web/requests", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/web/signin")


def test_a_session_id_is_not_a_bearer_token_and_a_token_is_not_a_session(app, client, token):
    secret = token("reviewer", "plan")
    web = signed_in(app, secret)
    session_id = web.cookies[COOKIE]
    assert client.get("/v1/requests", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert client.get("/v1/requests", headers={"Authorization": f"Bearer {session_id}"}).status_code == 401
    # The bearer token put in the cookie (what the cookie used to be) opens no page.
    old_style = TestClient(app, cookies={COOKIE: secret})
    assert old_style.get("/web/requests", follow_redirects=False).status_code == 303


def test_revoking_the_token_ends_its_sessions(app, client, token, auth):
    secret = token("reviewer", "plan")
    web = signed_in(app, secret)
    assert web.get("/web/requests").status_code == 200
    listed = client.get("/v1/tokens", headers=auth("admin", "plan")).json()["tokens"]
    token_id = next(t["id"] for t in listed if t["role"] == "reviewer")
    assert client.delete(f"/v1/tokens/{token_id}", headers=auth("admin", "plan")).status_code == 204
    assert web.get("/web/requests", follow_redirects=False).status_code == 303
    assert sign_in(TestClient(app), secret).status_code == 401


def test_idle_timeout_and_absolute_expiry(db, token):
    secret = token("reviewer", "plan")
    with db.session() as s:
        opened = service.open_session(s, secret, idle=IDLE, lifetime=LIFETIME, now=T0)
        # Active every 20 minutes: the session lives until its absolute expiry, not a moment longer.
        at = T0
        while at + dt.timedelta(minutes=20) < T0 + LIFETIME:
            at += dt.timedelta(minutes=20)
            assert service.resume_session(s, opened.id, idle=IDLE, now=at).role == "reviewer"
        with pytest.raises(service.Unauthenticated):
            service.resume_session(s, opened.id, idle=IDLE, now=T0 + LIFETIME)
        # Idle for the timeout: ended, however young.
        idle = service.open_session(s, secret, idle=IDLE, lifetime=LIFETIME, now=T0)
        assert service.resume_session(s, idle.id, idle=IDLE, now=T0 + IDLE - dt.timedelta(seconds=1))
        with pytest.raises(service.Unauthenticated):
            service.resume_session(s, idle.id, idle=IDLE, now=T0 + 2 * IDLE)
        # Unknown and malformed ids.
        for bad in (None, "", "ws_" + "A" * 43, secret, "ws_" + "\x00" * 43, "x" * 10_000):
            with pytest.raises(service.Unauthenticated):
                service.resume_session(s, bad, idle=IDLE, now=T0)


def test_the_pages_apply_the_idle_setting(app, token):
    app.state.settings = dataclasses.replace(app.state.settings, web_session_idle=dt.timedelta(seconds=1))
    web = signed_in(app, token("reviewer", "plan"))
    assert web.get("/web/requests").status_code == 200
    time.sleep(1.2)
    assert web.get("/web/requests", follow_redirects=False).status_code == 303


def test_an_expired_token_gets_401_and_cannot_sign_in(app, client, db):
    with db.session() as s:
        short = service.create_token(s, "reviewer", "plan", expires_in=dt.timedelta(seconds=2)).secret
    headers = {"Authorization": f"Bearer {short}"}
    assert client.get("/v1/requests", headers=headers).status_code == 200  # now verified and cached
    web = signed_in(app, short)
    assert web.get("/web/requests").status_code == 200
    time.sleep(2.2)
    answer = client.get("/v1/requests", headers=headers)
    assert answer.status_code == 401 and short not in answer.text
    assert web.get("/web/requests", follow_redirects=False).status_code == 303
    assert sign_in(TestClient(app), short).status_code == 401


def test_sign_in_without_the_forms_csrf_token_is_refused(app, token):
    secret = token("reviewer", "plan")
    bare = TestClient(app)
    refused = bare.post("/web/signin", data={"token": secret, "next": "/web/requests"}, follow_redirects=False)
    assert refused.status_code == 403 and COOKIE not in refused.cookies
    # A field from the attacker's own copy of the form does not match the victim's pre-session cookie.
    attacker = TestClient(app)
    forged = attacker.get("/web/signin").text.split('name="csrf" value="', 1)[1][:32]
    victim = TestClient(app)
    victim.get("/web/signin")
    answer = victim.post("/web/signin", data={"token": secret, "csrf": forged}, follow_redirects=False)
    assert answer.status_code == 403 and COOKIE not in answer.cookies
    assert victim.get("/web/requests", follow_redirects=False).status_code == 303


def test_cli_creates_tokens_that_expire(client, database_url):
    runner = CliRunner()
    made = runner.invoke(cli, ["tokens", "create", "--role", "reviewer", "--org", "plan", "--expires-in", "90d",
                               "--database-url", database_url])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[0]
    assert client.get("/v1/requests", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    listed = json.loads(runner.invoke(cli, ["tokens", "list", "--database-url", database_url]).stdout)
    (row,) = listed
    left = dt.datetime.fromisoformat(row["expires_at"]) - dt.datetime.fromisoformat(row["created_at"])
    assert left == dt.timedelta(days=90)
    for good, length in (("12h", dt.timedelta(hours=12)), ("30m", dt.timedelta(minutes=30))):
        assert service.auth.parse_expires_in(good) == length
    for bad in ("90", "0d", "-1d", "1w", "99999999d", "1.5h"):
        out = runner.invoke(cli, ["tokens", "create", "--role", "reviewer", "--org", "plan", "--expires-in", bad,
                                  "--database-url", database_url])
        assert out.exit_code == 2 and "expires_in" in out.stderr and "Traceback" not in out.output, bad


def test_rest_issues_tokens_that_expire(client, token):
    admin = {"Authorization": f"Bearer {token('admin', 'plan')}"}
    made = client.post("/v1/tokens", headers=admin, json={"role": "reviewer", "org": "plan", "expires_in": "12h"})
    assert made.status_code == 201, made.text
    issued = made.json()
    left = dt.datetime.fromisoformat(issued["expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=11, minutes=59) < left <= dt.timedelta(hours=12)
    lasting = client.post("/v1/tokens", headers=admin, json={"role": "reviewer", "org": "plan"}).json()
    assert lasting["expires_at"] is None
    for bad in ("1w", "0d", 12, "99999999d"):
        refused = client.post("/v1/tokens", headers=admin, json={"role": "reviewer", "org": "plan", "expires_in": bad})
        assert refused.status_code in (400, 422) and "expires_in" in refused.text, (bad, refused.text)
