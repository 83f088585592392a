"""A real `priorauth serve` on a free port with a temporary SQLite database, and Debian's Chromium.

Used by the browser tests and by scripts/screenshots.py.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def sign_in(client, token: str, next: str = "/web/requests", **kwargs):
    """Sign in as a browser does: fetch the form (its CSRF field and pre-session cookie), then post the token.

    `client` is a TestClient or an httpx.Client keeping cookies; returns the POST's response."""
    page = client.get("/web/signin")
    match = re.search(r'name="csrf" value="([0-9a-f]{32})"', page.text)
    assert match, "no CSRF field on the sign-in form"
    return client.post("/web/signin", data={"token": token, "next": next, "csrf": match.group(1)}, **kwargs)


def chromium_missing() -> str | None:
    """Why the browser tests cannot run, or None when they can."""
    if not Path(CHROMIUM).exists():
        return f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def priorauth_command() -> list[str]:
    script = Path(sys.executable).parent / "priorauth"
    if script.exists():
        return [str(script)]
    found = shutil.which("priorauth")
    return [found] if found else [sys.executable, "-c", "from priorauth.cli import app; app()"]


class LiveServer:
    """`priorauth serve` in a child process; `tokens` maps (role, org) to a secret."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url_db = f"sqlite:///{folder}/live.db"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = folder / "server.log"

    def token(self, role: str, org: str) -> str:
        from priorauth import service
        from priorauth.store.db import Database

        db = Database.open(self.url_db)
        try:
            with db.session() as session:
                return service.create_token(session, role, org, label="browser test").secret
        finally:
            db.dispose()

    def start(self, **env_overrides: str) -> LiveServer:
        env = {**os.environ, "DATABASE_URL": self.url_db, "PRIORAUTH_SQLITE_SYNCHRONOUS": "NORMAL", **env_overrides}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [*priorauth_command(), "serve", "--port", str(self.port), "--database-url", self.url_db],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.folder,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"priorauth serve exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("priorauth serve did not become ready within 60 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def fill_people(page, patient: str) -> None:
    """The new-request form's people: patient and member id, prescriber and NPI, a contact."""
    for field, value in (("patient_name", patient), ("member_id", "M-2024-77"), ("prescriber_name", "Dr. Grace Hopper"),
                         ("prescriber_npi", "1234567893"), ("contact_name", "Front desk"),
                         ("contact_phone", "503-555-0100")):
        page.locator(f"#{field}").fill(value)


def browser_page(browser, server, token: str):
    """A new browser context (1366 x 900), signed out until it signs in with `token` through the
    sign-in form; its page, on the queue."""
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    page.goto(server.base + "/web/requests")
    assert page.url.startswith(server.base + "/web/signin")
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/web/requests$"))
    return page


# Module-scoped fixtures for the browser tests (a module imports the ones it uses).


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A live `priorauth serve` on a fresh database, for one module's tests."""
    live = LiveServer(tmp_path_factory.mktemp("live")).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium (Playwright), for one module's tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch_chromium(p)
        yield chromium
        chromium.close()
