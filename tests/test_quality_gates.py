"""Quality gates: the tree stays ruff-clean and mypy-clean (mypy reads [tool.mypy] in pyproject.toml).

Both tools come from the dev extra and run from the same virtual environment as the tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(tool: str, *args: str) -> None:
    executable = BIN / tool
    if not executable.exists():
        pytest.fail(f"{executable} is missing: install the dev extra (pip install -e '.[dev]')")
    result = subprocess.run(
        [str(executable), *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"`{' '.join((tool, *args))}` exited {result.returncode}:\n{result.stdout}{result.stderr}", pytrace=False
        )


def test_ruff() -> None:
    _run("ruff", "check", "src", "tests", "benchmarks", "scripts")


def test_mypy() -> None:
    _run("mypy")  # files and options from [tool.mypy] in pyproject.toml
