"""Every command of the README and docs/*.md, run as printed, in order, against a live service.

Each document becomes one bash script run in a fresh working folder that looks like a checkout
(`.venv`, `src`, `scripts`, `tests` linked in), with no DATABASE_URL or PRIORAUTH_HOME: the commands
must work exactly as a newcomer pastes them. Its code blocks are of known kinds (docblocks.py):
``sh`` blocks run under `set -euo pipefail`; each command of a ``console`` transcript runs in the
same shell and its output must be the one shown (ids and digests aside; dates too in a
``console dates=any`` block); ``python file=NAME``
blocks are written to NAME; other kinds are not commands. Every document with a block to run is run
(`test_document_runs_as_printed` is parametrized over them). What a test cannot do literally is
translated, and each translation is checked another way:

- `make run [PORT=N] [&]` starts what the Makefile runs (`priorauth serve --demo`) in the background
  on a free port (`make -n run PORT=8080` is checked to run exactly that); `make test` is this run;
- a `priorauth serve ...` line starts in the background on that port; 127.0.0.1:8000 in a
  command becomes the free port, and PORT is exported as after `make run PORT=...`;
- `priorauth db restore` first stops the service (the documents say to);
- `pip install` lines are checked against pyproject.toml's extras instead of changing this
  environment; blocks with pg_dump run in test_backup_restore.py against PostgreSQL;
- `claims synth N` and `requests synth N` make at most 5,000 rows (the figures of millions are
  docs/performance.md's; the commands are the same);
- a benchmark (`benchmarks/*.py`) or the screenshot maker is not run: its `--help` must list every
  option the command gives; `npm ci` is skipped when the packages are already installed.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
from tests.operations.docblocks import (
    KINDS,
    RUN,
    TRANSCRIPT,
    Block,
    Step,
    blocks_of_no_known_kind,
    code_blocks,
    output_matches,
    transcript_steps,
)
from tests.operations.live import BIN, ROOT, clean_env, free_port

SMALL = 5000  # synthetic histories and claim files of a document's size are made this small
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
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
check_options() {  # check_options PROGRAM... -- ARGS...: PROGRAM --help lists every --option of ARGS
  local program=() help option
  while [ "$1" != -- ]; do program+=("$1"); shift; done; shift
  help=$("${program[@]}" --help) || { echo "${program[*]} --help failed" >&2; return 1; }
  for option in "$@"; do
    case $option in
      --*) grep -q -e "${option%%=*}\b" <<<"$help" || { echo "${program[*]}: no option $option" >&2; return 1; } ;;
    esac
  done
}
mkdir -p .transcript
step_begin() { local rc=$?; exec 3>&1 4>&2 >".transcript/$1.out" 2>&1; return $rc; }
step_end() { local rc=$?; exec 1>&3 2>&4 3>&- 4>&-; echo $rc >".transcript/$1.rc"; return $rc; }
trap stop_service EXIT
"""


def shell_blocks(path: Path) -> list[tuple[int, str]]:
    """(first line number, text) of every ```sh block."""
    return [(b.line, b.text) for b in code_blocks(path) if b.kind == RUN]


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
    tool = re.match(r"(?:nice -n -?\d+ )?(\S*python\S* (?:benchmarks/\S+|scripts/screenshots)\.py)(.*)$", code)
    if tool:
        return f"check_options {tool.group(1)} -- {tool.group(2).strip()}  # not run: its options exist"
    if re.search(r"\bnpm ci\b", code):
        return f"[ -d tests/fhir/cql/node_modules/cql-execution ] || {code}"
    code = re.sub(r"\b((?:claims|requests) synth) (\d+)\b", lambda m: f"{m[1]} {min(int(m[2]), SMALL)}", code)
    if "priorauth serve" in code:
        code = re.sub(r"--port \d+", "", code)
        return f"start_service env {code} --port $PORT"
    if "priorauth db restore" in code:
        return f"stop_service; {code}"
    if "--engine spark" in code and not java:
        return f"! {code}  # without Java: one line saying what to install"
    return code


def translate_command(command: str, java: bool) -> str:
    """A transcript's command: one line as an sh line; a longer one (a jq program) with only the port changed."""
    if "\n" not in command:
        return translate(command, java)
    return command.replace("127.0.0.1:8000", "127.0.0.1:$PORT")


def runnable(block: Block) -> bool:
    return block.kind in (RUN, TRANSCRIPT) or "file" in block.options


def script_for(doc: Path, port: int, java: bool) -> tuple[str, list[Step]]:
    """The document as one bash script, and the transcript steps whose output it records (step k: .transcript/k)."""
    parts = [PRELUDE.replace("__PORT__", str(port))]
    steps: list[Step] = []
    for block in code_blocks(doc):
        if block.kind == RUN:
            if "pg_dump" in block.text or "pg_restore" in block.text:
                continue
            parts.append(f"set -e; echo '### {block.where}'")
            parts.extend(translate(line, java) for line in logical_lines(block.text))
        elif block.kind == TRANSCRIPT:
            parts.append(f"set +e; echo '### {block.where}'")
            for step in transcript_steps(block):
                k = len(steps)
                steps.append(step)
                parts.append(f"step_begin {k}\n{translate_command(step.command, java)}\nstep_end {k}")
        elif "file" in block.options:
            name = block.options["file"]
            parts.append(f"cat > {shlex.quote(name)} <<'__DOCUMENT_FILE__'\n{block.text}__DOCUMENT_FILE__")
    return "\n".join(parts) + "\n", steps


def checkout(tmp_path: Path) -> Path:
    """A working folder that looks like a fresh clone after `make run`: .venv, src, scripts, tests; nothing else."""
    work = tmp_path / "checkout"
    work.mkdir(parents=True)
    (work / ".venv").symlink_to(BIN.parent, target_is_directory=True)
    for name in ("src", "scripts", "tests", "benchmarks", "Makefile", "pyproject.toml"):
        (work / name).symlink_to(ROOT / name)
    return work


def java_available() -> bool:
    try:
        from priorauth.claims.spark_engine import java_problem
    except ImportError:
        return False
    return java_problem() is None


def transcript_problems(work: Path, steps: list[Step]) -> list[str]:
    """Each transcript command whose output differs from the one shown, or that failed unshown."""
    problems = []
    for k, step in enumerate(steps):
        out, rc = work / ".transcript" / f"{k}.out", work / ".transcript" / f"{k}.rc"
        if not rc.exists():
            problems.append(f"line {step.line}: not run (the script stopped before it): $ {step.command[:200]}")
            continue
        actual, code = out.read_text(errors="replace"), int(rc.read_text())
        shown_failure = any(line.startswith("error") for line in step.expected) or (
            k + 1 < len(steps) and steps[k + 1].command.strip() == "echo $?"
        )
        if not output_matches(step.expected, actual, step.any_date):
            problems.append(
                f"line {step.line}: $ {step.command[:300]}\n--- shown\n"
                + "\n".join(step.expected)
                + f"\n--- printed (exit {code})\n{actual[-2500:]}"
            )
        elif code != 0 and not shown_failure:
            problems.append(f"line {step.line}: exit {code}, not shown as a failure: $ {step.command[:300]}")
    return problems


def run_document(doc: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    work = checkout(tmp_path)
    script = work / "doc.sh"
    text, steps = script_for(doc, free_port(), java_available())
    script.write_text(text)
    result = subprocess.run(
        ["bash", str(script)], cwd=work, env=clean_env(), capture_output=True, text=True, timeout=900, check=False
    )
    log = (work / "service.log").read_text(errors="replace") if (work / "service.log").exists() else ""
    problems = transcript_problems(work, steps)
    if result.returncode != 0 or problems:
        pytest.fail(
            f"{doc.name}: "
            + (f"a shell block failed (exit {result.returncode}).\n" if result.returncode else "")
            + "".join(f"--- transcript {p}\n" for p in problems[:6])
            + f"--- output (last 3000 chars)\n{result.stdout[-3000:]}\n--- errors\n{result.stderr[-3000:]}"
            f"\n--- service log\n{log[-1500:]}",
            pytrace=False,
        )
    return result


def documents_to_run() -> list[Path]:
    return [doc for doc in DOCUMENTS if any(runnable(b) for b in code_blocks(doc))]


def check_readme(result: subprocess.CompletedProcess[str], work: Path) -> None:
    out = result.stdout
    # The walk-through ran to its end against the service `make run` started, in that service's database.
    assert "is denied, decided by tok_" in out
    assert "idempotent-replayed: true" in out.lower()
    assert re.search(r"audit trail intact: \d+ events", out)
    # The claims audit without --out wrote its output beside the input.
    assert (work / "claims.audited.parquet").is_file()


def check_operations(result: subprocess.CompletedProcess[str], work: Path) -> None:
    assert "restored var/backups/" in result.stdout
    assert re.search(r"event \d+: restored from priorauth-\d{4}-\d\d-\d\d\.db", result.stdout)


def check_batch(result: subprocess.CompletedProcess[str], work: Path) -> None:
    import polars as pl

    # Every row of the history decided, by each engine; the revision moves some decisions, none refused.
    history = pl.read_parquet(work / "history.parquet")
    assert pl.read_parquet(work / "decisions.parquet").height == history.height > 0
    if java_available():
        assert pl.read_parquet(work / "decisions-spark.parquet").height == history.height
    moved = re.search(
        r"(\d+) requests of policy besponsa: (\d+) change decision .*; 0 refused", result.stdout + result.stderr
    )
    assert moved and int(moved[1]) == history.height and int(moved[2]) > 0
    # The demo requests exported from the database, decided again.
    assert pl.read_parquet(work / "stored.parquet").height == len((work / "history.jsonl").read_text().splitlines()) > 0


# What a document's run must also have done, beyond running without error and matching its transcripts.
CHECKS = {"README.md": check_readme, "operations.md": check_operations, "batch.md": check_batch}


@pytest.mark.parametrize("doc", documents_to_run(), ids=lambda p: p.name)
def test_document_runs_as_printed(doc, tmp_path):
    if doc.name == "fhir.md" and subprocess.run(["which", "node"], capture_output=True).returncode:
        pytest.skip("Node.js is not installed: docs/fhir.md runs the reference CQL engine")
    result = run_document(doc, tmp_path)
    if doc.name in CHECKS:
        CHECKS[doc.name](result, tmp_path / "checkout")


def test_every_code_block_has_a_known_kind():
    """A new command in the README or docs cannot escape the run above: each block says what it is."""
    unknown = blocks_of_no_known_kind(DOCUMENTS)
    assert not unknown, "code blocks of no known kind (" + ", ".join(KINDS) + "):\n" + "\n".join(unknown)


def test_transcripts_and_runs_are_found():
    """The block reader sees what a Markdown renderer sees: fences, their kinds, a transcript's commands and output."""
    fhir = [b for b in code_blocks(ROOT / "docs" / "fhir.md") if b.kind == TRANSCRIPT]
    steps = [s for b in fhir for s in transcript_steps(b)]
    multi_line = [s for s in steps if "\n" in s.command]
    assert multi_line and all(s.command.count("'") % 2 == 0 for s in multi_line)
    assert any(s.expected and s.expected[0].startswith("{") for s in steps)
    assert ROOT / "docs" / "fhir.md" in documents_to_run()
    assert ROOT / "README.md" in documents_to_run()


def test_readme_lists_the_walkthrough_steps_in_order():
    script = (ROOT / "scripts" / "walkthrough.sh").read_text()
    steps = re.findall(r'^step "(\d+\. .*)"$', script, re.M)
    readme = (ROOT / "README.md").read_text()
    listed = re.findall(r"^(\d+\. .*)$", readme[readme.index("### A first session") :], re.M)
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
