"""Fixtures of the web tests: an app on a temporary SQLite database, tokens per role, signed-in clients."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.received import dated_today

from priorauth import service
from priorauth.core import PolicyRegistry, policy_registry, use_registry
from priorauth.http.app import create_app
from priorauth.service.settings import Settings
from priorauth.store.db import Database

from .live import browser, server, sign_in  # noqa: F401 - browser, server: the browser tests' fixtures


def example_facts(name: str) -> dict:
    """An example's facts, dated so that the request date is today (stored requests are decided on the day received)."""
    return dated_today(json.loads((resources.files("priorauth") / "examples" / f"{name}.json").read_text())["facts"])


# What the new-request form requires besides the questions: the patient, the prescriber (a valid NPI), a contact.
PEOPLE_FORM = {
    "patient_name": "Ada Lovelace", "member_id": "M-1001", "prescriber_name": "Dr. Grace Hopper",
    "prescriber_npi": "1234567893", "contact_name": "Office of Dr. Hopper", "contact_phone": "503-555-0100",
}


def form_values(facts: dict) -> dict[str, str]:
    out = {}
    for key, value in facts.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list):
            out[key] = ", ".join(value)
        else:
            out[key] = str(value)
    return out


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{32})"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


class Site:
    """The app, its database and one token per (role, org)."""

    def __init__(self, tmp_path):
        settings = Settings.from_env(database_url=f"sqlite:///{tmp_path}/web.db")
        self.db = Database.open(settings.database_url, settings)
        self.app = create_app(settings, self.db)
        self.tokens: dict[tuple[str, str], str] = {}

    def token(self, role: str, org: str) -> str:
        if (role, org) not in self.tokens:
            with self.db.session() as session:
                self.tokens[(role, org)] = service.create_token(session, role, org).secret
        return self.tokens[(role, org)]

    def client(self, role: str, org: str = "clinic-a") -> TestClient:
        client = TestClient(self.app)
        response = sign_in(client, self.token(role, org))
        assert response.status_code == 200
        client.csrf = csrf_of(response.text)  # type: ignore[attr-defined]
        return client

    def submit(self, facts: dict, org: str = "clinic-a", urgency: str = "standard", patient=None):
        with self.db.session() as session:
            who = service.authenticate(session, self.token("submitter", org))
            return service.submit_request(session, who, "besponsa", facts, urgency, patient=patient)


# A newer version of the bundled policy, as a plan would add it on the policy path: the
# same file from a later date, with one question and one criterion worded differently.
NEWER = "2026-07-01"
NEWER_QUESTION = "Does the patient have substantial comorbidities (as the 2026 version asks)?"
NEWER_CRITERION = "The patient has no substantial comorbidities (2026 wording)."


def newer_policy_folder(root: Path) -> Path:
    """A policy-path folder holding besponsa's bundled version and a newer one from NEWER."""
    bundled = resources.files("priorauth") / "policies" / "besponsa"
    (old,) = [f for f in bundled.iterdir() if f.name.endswith(".yaml")]
    text = old.read_text()
    folder = root / "besponsa"
    folder.mkdir(parents=True)
    (folder / old.name).write_text(text)
    newer = (
        text.replace(f'effective: "{old.name.removesuffix(".yaml")}"', f'effective: "{NEWER}"')
        .replace("text: Does the patient have substantial comorbidities?\n", f"text: {NEWER_QUESTION}\n")
        .replace("text: The patient has no substantial comorbidities.\n", f"text: {NEWER_CRITERION}\n")
    )
    assert newer.count(NEWER) == 1 and NEWER_QUESTION in newer and NEWER_CRITERION in newer
    (folder / f"{NEWER}.yaml").write_text(newer)
    return root


@pytest.fixture
def load_newer_version(tmp_path):
    """Call it to put a newer besponsa version on the policy path (the registry in use); undone after the test."""
    previous = policy_registry()

    def load() -> None:
        use_registry(PolicyRegistry([newer_policy_folder(tmp_path / "policy-path")]))

    yield load
    use_registry(previous)


@pytest.fixture
def site(tmp_path):
    s = Site(tmp_path)
    yield s
    s.db.dispose()
