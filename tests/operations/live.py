"""A real `priorauth serve` for the operations tests: its own working folder, a free port, output captured."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtual environment's bin folder: priorauth, python (not resolved)
PRIORAUTH = str(BIN / "priorauth")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a newcomer's shell: no database, home or settings file chosen."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PRIORAUTH_HOME", "PRIORAUTH_CONFIG")}
    env = {k: v for k, v in env.items() if not k.startswith("PRIORAUTH_") or k == "PRIORAUTH_TEST_PG"}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def priorauth(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120,
              stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run the `priorauth` command as a user would, in `cwd`."""
    return subprocess.run(
        [PRIORAUTH, *args], cwd=cwd, env=env or clean_env(), capture_output=True, timeout=timeout, check=False,
        input=stdin.decode() if stdin is not None else None, text=True,
    )


class Service:
    """`priorauth serve ARGS --port P` running in `cwd` until `stop()`; ready when /readyz answers 200."""

    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"serve-{self.port}.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [PRIORAUTH, "serve", "--port", str(self.port), *args], cwd=cwd, env=env or clean_env(),
                stdout=out, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"priorauth serve exited: {self.output()[-2000:]}")
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"priorauth serve did not become ready: {self.output()[-2000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
