"""Impact analysis: the moves between decisions counted and explained, as re-deciding each request shows."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
from tests.batch.helpers import expected
from tests.policy_fixtures import next_version_text

from priorauth.batch.impact import analyse
from priorauth.batch.synth import synth_requests
from priorauth.core import load_policy, load_policy_file, policy_registry


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    folder = tmp_path_factory.mktemp("impact")
    frame = synth_requests("besponsa", 3000, seed=41)
    path = folder / "history.parquet"
    frame.write_parquet(path)
    draft = folder / "2026-07-01.yaml"
    draft.write_text(next_version_text(), encoding="utf-8")
    return frame, path, draft


def test_moves_are_what_re_deciding_each_request_under_both_versions_gives(history):
    frame, path, draft = history
    before = load_policy("besponsa").first
    after = load_policy_file(draft).latest
    report = analyse(path, before, after, policy_registry(), examples=3)
    counts: Counter[tuple[str, str]] = Counter()
    facts = [c for c in frame.columns if c not in ("id", "policy")]
    for row in frame.iter_rows(named=True):
        request = {"policy": "besponsa", "facts": {f: row[f] for f in facts if row[f] is not None}}
        (k1, a), (k2, b) = expected(request, before), expected(request, after)
        if k1 == k2 == "decided":
            counts[(a[0], b[0])] += 1
    assert {(m.before, m.after): m.count for m in report.moves} == dict(counts)
    assert report.requests == sum(counts.values()) == 3000 and report.refused == 0
    assert report.moved == sum(n for (b, a), n in counts.items() if b != a) > 0

    changes = {p["parameter"]: (p["before"], p["after"]) for p in report.parameters}
    assert changes == {"authorization_months": (6, 4), "max_units": (63, 72)}
    criteria = {c.criterion: c.change for c in report.criteria}
    assert criteria["fc_under_65"] == "definition"
    assert criteria["within_authorization_period"] == "parameter"  # it reads authorization_months
    denied = next(m for m in report.moves if (m.before, m.after) == ("approved", "denied"))
    causes = dict(denied.causes)
    assert "within_authorization_period" in causes and causes["within_authorization_period"] <= denied.count
    assert len(denied.examples) == 3
    assert all(e["facts"].get("birth_date") in (None, "***") for m in report.moves for e in m.examples)
    assert report.authorization_changed > 0  # 4-month approvals end earlier


def test_the_report_page_and_its_json(history, tmp_path):
    _, path, draft = history
    out = tmp_path / "report.html"
    run = subprocess.run(
        [sys.executable, "-m", "priorauth.cli", "impact", str(path), "--policy", "besponsa", "--from", "2025-06-24",
         "--to", str(draft), "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["policy"] == "besponsa" and data["after"]["version"] == "2026-07-01"
    assert sum(sum(row.values()) for row in data["matrix"].values()) == data["requests"] == 3000
    page = out.read_text()
    assert page.count("<svg") >= 2  # the decision flow and per-criterion bars
    assert "approved → denied" in page and "within_authorization_period" in page
    assert "<script" not in page


def test_impact_refuses_a_draft_of_another_policy(history, tmp_path):
    _, path, _ = history
    run = subprocess.run(
        [sys.executable, "-m", "priorauth.cli", "impact", str(path), "--policy", "blincyto", "--from", "2026-01-15",
         "--to", str(load_policy("besponsa").first.source), "--out", str(tmp_path / "r.html")],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 2 and "--version" in run.stderr or "not blincyto" in run.stderr
