"""The reference CQL engine (npm cql-execution + cql-exec-fhir, pinned by tests/fhir/cql/package-lock.json),
installed with `npm ci` when needed, run by Node.js over a FHIR patient bundle."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "cql"


def installed_engine() -> Path:
    """The runner script, with cql-execution and cql-exec-fhir installed beside it (else the test is skipped,
    saying why)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are not installed: the CQL engine cannot run")
    if not (HERE / "node_modules" / "cql-execution").exists():
        try:
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True, timeout=300
            )
        except subprocess.TimeoutExpired:
            pytest.skip("npm ci timed out: the npm registry is not reachable")
        if done.returncode != 0:
            pytest.skip(f"npm ci failed (is the npm registry reachable?): {done.stderr.strip()[-300:]}")
    return HERE / "run_elm.js"


def run_elm(engine: Path, elm: dict, record: list[dict], tmp_path: Path) -> dict:
    """Every definition's value for the one patient of `record` (Dates as ISO text, Codes as {system, code})."""
    (tmp_path / "library.json").write_text(json.dumps(elm))
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in record]}
    (tmp_path / "bundle.json").write_text(json.dumps(bundle))
    done = subprocess.run(
        ["node", str(engine), str(tmp_path / "library.json"), str(tmp_path / "bundle.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (results,) = json.loads(done.stdout).values()
    return results
