"""A real `priorauth serve` on a free port with a temporary SQLite database, and Debian's Chromium.

Used by the browser tests and by scripts/screenshots.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


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

    def start(self) -> LiveServer:
        env = {**os.environ, "DATABASE_URL": self.url_db, "PRIORAUTH_SQLITE_SYNCHRONOUS": "NORMAL"}
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
