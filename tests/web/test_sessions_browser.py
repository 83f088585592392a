"""Issue 14 (M5): web sessions in a real browser (Debian's Chromium via Playwright) against `priorauth serve`:
the cookie is a session id, sign-out ends it on the server, an idle session and an expired token end too."""

from __future__ import annotations

import datetime as dt
import re
import time

import httpx
import pytest

from .live import LiveServer, browser_page, chromium_missing

reason = chromium_missing()
pytestmark = pytest.mark.skipif(reason is not None, reason=reason or "")
IDLE_SECONDS = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("live")).start(
        PRIORAUTH_WEB_SESSION_IDLE_MINUTES=str(IDLE_SECONDS / 60)
    )
    yield live
    live.stop()



def session_cookie(context) -> dict:
    (cookie,) = [c for c in context.cookies() if c["name"] == "priorauth_session"]
    return cookie


def test_sign_in_holds_a_session_id_and_sign_out_ends_it_on_the_server(server, browser):
    from playwright.sync_api import expect

    token = server.token("reviewer", "plan")
    page = browser_page(browser, server, token)
    context = page.context
    cookie = session_cookie(context)
    assert cookie["value"] != token and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie") == ""  # no script on the page can read it
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/web/signin$"))
    # The copied cookie value, replayed after sign-out, opens no page; it never was an API token.
    replay = httpx.get(server.base + "/web/requests", cookies={"priorauth_session": cookie["value"]})
    assert replay.status_code == 303 and replay.headers["location"].startswith("/web/signin")
    api = httpx.get(server.base + "/v1/requests", headers={"Authorization": f"Bearer {cookie['value']}"})
    assert api.status_code == 401
    page.goto(server.base + "/web/requests")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    context.close()


def test_an_idle_session_sends_the_browser_back_to_sign_in(server, browser):
    from playwright.sync_api import expect

    page = browser_page(browser, server, server.token("submitter", "clinic-a"))
    context = page.context
    page.reload()
    expect(page.get_by_role("heading", name=re.compile("requests", re.I)).first).to_be_visible()
    time.sleep(IDLE_SECONDS + 0.5)
    page.reload()
    page.wait_for_url(re.compile(r".*/web/signin\?next="))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    context.close()


def test_an_expired_token_cannot_sign_in(server, browser):
    from playwright.sync_api import expect

    from priorauth import service
    from priorauth.store.db import Database

    db = Database.open(server.url_db)
    try:
        with db.session() as s:
            token = service.create_token(s, "submitter", "clinic-a", expires_in=dt.timedelta(seconds=2)).secret
    finally:
        db.dispose()
    page = browser_page(browser, server, token)
    context = page.context
    ended = session_cookie(context)["value"]
    time.sleep(2.5)
    page.reload()
    page.wait_for_url(re.compile(r".*/web/signin\?next="))
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    assert [c["value"] for c in context.cookies() if c["name"] == "priorauth_session"] in ([], [ended])
    context.close()
