"""The README's and docs/operations.md's shell blocks, run as printed, in order, against a live service.

Each document becomes one bash script (`set -euo pipefail`) run in a fresh working folder that
looks like a checkout (`.venv`, `src`, `scripts` linked in), with no DATABASE_URL or
PRIORAUTH_HOME: the commands must work exactly as a newcomer pastes them. What a test cannot
do literally is translated, and each translation is checked another way:

- `make run [PORT=N]` starts what the Makefile runs (`priorauth serve --demo`) in the background
  on a free port (`make -n run PORT=8080` is checked to run exactly that); `make test` is this run;
- a `priorauth serve ...` line starts in the background on that port; 127.0.0.1:8000 in a
  command becomes the free port, and PORT is exported as after `make run PORT=...`;
- `priorauth db restore` first stops the service (the documents say to);
- `pip install` lines are checked against pyproject.toml's extras instead of changing this
  environment; blocks with pg_dump run in test_backup_restore.py against PostgreSQL.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
from tests.operations.live import BIN, ROOT, clean_env, free_port

BLOCK = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)
PRELUDE = r"""
set -euo pipefail
export PORT=__PORT__
SERVICE_PID=
stop_service() {
  if [ -n "$SERVICE_PID" ]; then kill "$SERVICE_PID" 2>/dev/null || true; wait "$SERVICE_PID" 2>/dev/null || true; fi
  SERVICE_PID=
}
start_service() {  # start_service COMMAND...: in the background on $PORT, until /readyz answers
  stop_service
  "$@" >>service.log 2>&1 &
  SERVICE_PID=$!
  for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then return 0; fi
    if ! kill -0 "$SERVICE_PID" 2>/dev/null; then echo "the service exited:" >&2; tail -20 service.log >&2; exit 1; fi
    sleep 0.1
  done
  echo "the service did not become ready" >&2; exit 1
}
trap stop_service EXIT
"""


def shell_blocks(path: Path) -> list[tuple[int, str]]:
    """(first line number, text) of every ```sh block."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def logical_lines(block: str) -> list[str]:
    """Lines with backslash continuations joined."""
    out, pending = [], ""
    for line in block.splitlines():
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    return out


def translate(line: str, java: bool) -> str:
    code = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
    if not code:
        return line
    if re.match(r"make run\b", code):
        return "start_service .venv/bin/priorauth serve --demo --port $PORT"
    if code == "make test":
        return ": make test  # this test is part of it"
    if "pip install" in code:
        return f": {shlex.quote(code)}  # checked against pyproject.toml"
    code = code.replace("127.0.0.1:8000", "127.0.0.1:$PORT").replace("localhost:8000", "127.0.0.1:$PORT")
    if "priorauth serve" in code:
        code = re.sub(r"--port \d+", "", code)
        return f"start_service env {code} --port $PORT"
    if "priorauth db restore" in code:
        return f"stop_service; {code}"
    if "--engine spark" in code and not java:
        return f"! {code}  # without Java: one line saying what to install"
    return code


def script_for(doc: Path, port: int, java: bool) -> str:
    parts = [PRELUDE.replace("__PORT__", str(port))]
    for first, block in shell_blocks(doc):
        if "pg_dump" in block or "pg_restore" in block:
            continue
        parts.append(f"echo '### {doc.name}:{first}'")
        parts.extend(translate(line, java) for line in logical_lines(block))
    return "\n".join(parts) + "\n"


def checkout(tmp_path: Path) -> Path:
    """A working folder that looks like a fresh clone after `make run`: .venv, src, scripts; nothing else."""
    work = tmp_path / "checkout"
    work.mkdir()
    (work / ".venv").symlink_to(BIN.parent, target_is_directory=True)
    for name in ("src", "scripts", "tests", "Makefile", "pyproject.toml"):
        (work / name).symlink_to(ROOT / name)
    return work


def java_available() -> bool:
    try:
        from priorauth.claims.spark_engine import java_problem
    except ImportError:
        return False
    return java_problem() is None


def run_document(doc: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    work = checkout(tmp_path)
    script = work / "doc.sh"
    script.write_text(script_for(doc, free_port(), java_available()))
    result = subprocess.run(
        ["bash", str(script)], cwd=work, env=clean_env(), capture_output=True, text=True, timeout=900, check=False
    )
    if result.returncode != 0:
        log = (work / "service.log").read_text() if (work / "service.log").exists() else ""
        pytest.fail(
            f"{doc.name}: a shell block failed (exit {result.returncode}).\n--- output (last 3000 chars)\n"
            f"{result.stdout[-3000:]}\n--- errors\n{result.stderr[-3000:]}\n--- service log\n{log[-1500:]}",
            pytrace=False,
        )
    return result


def test_readme_shell_blocks_run_as_printed(tmp_path):
    result = run_document(ROOT / "README.md", tmp_path)
    out = result.stdout
    # The walk-through ran to its end against the service `make run` started, in that service's database.
    assert "is denied, decided by tok_" in out
    assert "idempotent-replayed: true" in out.lower()
    assert re.search(r"audit trail intact: \d+ events", out)
    # The claims audit without --out wrote its output beside the input.
    assert (tmp_path / "checkout" / "claims.audited.parquet").is_file()


def test_operations_shell_blocks_run_as_printed(tmp_path):
    result = run_document(ROOT / "docs" / "operations.md", tmp_path)
    assert "restored var/backups/" in result.stdout
    assert re.search(r"event \d+: restored from priorauth-\d{4}-\d\d-\d\d\.db", result.stdout)


def test_readme_lists_the_walkthrough_steps_in_order():
    script = (ROOT / "scripts" / "walkthrough.sh").read_text()
    steps = re.findall(r'^step "(\d+\. .*)"$', script, re.M)
    readme = (ROOT / "README.md").read_text()
    listed = re.findall(r"^(\d+\. .*)$", readme[readme.index("### A first session"):], re.M)
    assert steps and listed[: len(steps)] == steps


def test_make_run_serves_the_demo_on_the_port_given():
    dry = subprocess.run(["make", "-n", "run", "PORT=8080"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert dry.returncode == 0, dry.stderr
    assert "priorauth serve --demo --host 127.0.0.1 --port 8080" in dry.stdout


def test_documented_extras_exist_and_the_service_needs_none_of_them():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    documented = set()
    for doc in (ROOT / "README.md", ROOT / "docs" / "operations.md"):
        documented |= set(re.findall(r"pip install -e '\.\[(\w+)\]'", doc.read_text()))
    assert documented and documented <= set(extras)
    heavy = ("polars", "pyarrow", "pyspark", "psycopg", "pytest", "playwright")
    assert not [d for d in project["dependencies"] if d.split(">")[0].split("[")[0] in heavy]
    # `make test` installs everything: the dev extra includes every other extra.
    assert {"claims", "spark", "postgres", "documents"} <= set(re.findall(r"\w+", extras["dev"][0].split("[", 1)[1]))
