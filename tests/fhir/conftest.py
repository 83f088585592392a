"""FHIR door fixtures: the example resources in tests/fhir/examples."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from cql_engine import installed_engine

EXAMPLES = Path(__file__).parent / "examples"


@pytest.fixture
def fhir_example():
    """fhir_example(name) -> a fresh copy of tests/fhir/examples/<name>.json."""
    cache: dict[str, dict] = {}

    def load(name: str) -> dict:
        if name not in cache:
            cache[name] = json.loads((EXAMPLES / f"{name}.json").read_text())
        return copy.deepcopy(cache[name])

    return load


@pytest.fixture(scope="session")
def engine() -> Path:
    """The reference CQL engine's runner (tests/fhir/cql); the test is skipped, saying why, without it."""
    return installed_engine()
