"""`priorauth policy diff` and `priorauth policy draft` as a user runs them (a real process each)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import DOCUMENTS, FIXTURES, text_of

BESPONSA = str(FIXTURES / DOCUMENTS["besponsa"])


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "priorauth.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=120)


def test_diff_of_the_document_the_version_was_made_from_is_in_agreement():
    proc = run("policy", "diff", BESPONSA, "--policy", "besponsa")
    assert proc.returncode == 0, proc.stderr
    assert "version 2025-06-24 was made from this document" in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1].startswith("in agreement (")


def test_diff_lists_each_disagreement_as_section_item_document_file_and_exits_1(tmp_path):
    revised = tmp_path / "besponsa-2026.txt"
    revised.write_text(text_of("besponsa").replace("63 billable units every 21 days", "72 billable units every 21 days")
                       .replace("C91.02\tAcute lymphoblastic leukemia, in relapse\n",
                                "C91.02\tAcute lymphoblastic leukemia, in relapse\nC91.Z0\tOther test leukemia\n"))
    proc = run("policy", "diff", str(revised), "--policy", "besponsa")
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert "section · item · document says · file says" in lines
    assert "II · unit limit 1 · 72 billable units every 21 days · 63 billable units every 21 days  (line 23)" in lines
    assert "Appendix 1 · C91.Z0 · Other test leukemia · (not stated)  (line 128)" in lines
    assert "this is not the document version 2025-06-24 was made from" in proc.stdout
    assert lines[-1].startswith("2 disagreements (")


def test_diff_json_for_tools(tmp_path):
    revised = tmp_path / "b.txt"
    revised.write_text(text_of("besponsa").replace("Date of Origin: 05/01/2019", "Date of Origin: 05/02/2019"))
    proc = run("policy", "diff", str(revised), "--policy", "besponsa", "--version", "2025-06-24", "--json")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["in_agreement"] is False and out["version"] == "2025-06-24"
    assert out["source_document"]["same"] is False and out["items_checked"] > 150
    assert out["disagreements"] == [{"section": "header", "item": "date of origin", "document": "2019-05-02",
                                     "file": "2019-05-01", "kind": "differs", "where": "line 11"}]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the document is empty"),
    (b"   \n\n  \n", "the document is empty"),
    (bytes(range(256)) * 4, "binary content"),
    (b"# README\n\nSome notes about the project.\n", "not a policy document of the plan's template"),
    (b"%PDF-1.7\nnot really a pdf", "not a readable PDF"),
    (b"<!doctype html><html><body><script>x()</script></body></html>", "an HTML document with no text"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, content, message):
    path = tmp_path / "doc.bin"
    path.write_bytes(content)
    proc = run("policy", "diff", str(path), "--policy", "besponsa")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and message in proc.stderr and "Traceback" not in proc.stderr


def test_an_unknown_policy_or_version_exits_2():
    proc = run("policy", "diff", BESPONSA, "--policy", "nosuch")
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1 and "unknown policy" in proc.stderr
    proc = run("policy", "diff", BESPONSA, "--policy", "besponsa", "--version", "24/06/2025")
    assert proc.returncode == 2 and proc.stderr.startswith("error: --version")
    proc = run("policy", "diff", "/no/such/file.txt", "--policy", "besponsa")
    assert proc.returncode == 2 and "cannot read" in proc.stderr


@pytest.mark.parametrize("policy", ["besponsa", "blincyto"])
def test_draft_passes_policy_check_and_its_diff_reports_only_the_todos(tmp_path, policy):
    document = str(FIXTURES / DOCUMENTS[policy])
    new_id = f"{policy}_draft"
    proc = run("policy", "draft", document, "--id", new_id, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    (written,) = (tmp_path / new_id).iterdir()
    assert written.name == {"besponsa": "2025-06-24.yaml", "blincyto": "2026-01-15.yaml"}[policy]
    assert f"wrote {written}" in proc.stdout
    check = run("policy", "check", str(written))
    assert check.returncode == 0, check.stderr
    proc = run("--policy-path", str(tmp_path), "policy", "diff", document, "--policy", new_id, "--json")
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    kinds = {d["kind"] for d in out["disagreements"]}
    assert kinds == {"todo"}, [d for d in out["disagreements"] if d["kind"] != "todo"]
    criteria = [d for d in out["disagreements"] if d["item"].startswith("criterion ")]
    assert len(criteria) == len(_criteria_lines(policy))
    assert {d["document"] for d in criteria} <= {_wording(line) for line in _criteria_lines(policy)}
    assert out["source_document"]["same"] is True
    # A draft never replaces a file.
    again = run("policy", "draft", document, "--id", new_id, "--out", str(tmp_path))
    assert again.returncode == 2 and "exists already" in again.stderr


def _criteria_lines(policy: str) -> list[str]:
    """The lines of Sections III and IV a draft makes `todo` criteria of: the bullets and notes, or
    every line of a section without bullets."""
    out, section = [], None
    lines: dict[str, list[str]] = {"III": [], "IV": []}
    for line in text_of(policy).splitlines():
        if line.startswith(("III. ", "IV. ")):
            section = line.split(".")[0]
        elif line.startswith("V. "):
            section = None
        elif section and line.strip():
            lines[section].append(line)
    for body in lines.values():
        bullets = [x for x in body if x.lstrip().startswith("- ") or x.startswith("**Note")]
        out.extend(bullets or body)
    return out


def _wording(line: str) -> str:
    text = re.sub(r"\s*\^\{[^}]*\}", "", line.strip().removeprefix("- ").replace("**", "").replace("*", ""))
    for connector in ("; AND", "; OR"):
        text = text.removesuffix(connector)
    return text.strip()


def test_a_draft_pends_a_request_it_cannot_decide_yet(tmp_path):
    assert run("policy", "draft", str(FIXTURES / DOCUMENTS["besponsa"]), "--id", "draft_b", "--out",
               str(tmp_path)).returncode == 0
    request = {"policy": "draft_b", "facts": {"request_type": "initial", "request_date": "2026-03-02"}}
    proc = run("--policy-path", str(tmp_path), "evaluate", "-", stdin=json.dumps(request))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["decision"] == "pended" and out["missing_facts"] == []
    # What pends it: the criteria still to be written, each named.
    assert out["reasons"] and {r["status"] for r in out["reasons"]} == {"unknown"}
    assert "Patient has CD22-positive disease" in {r["text"] for r in out["reasons"]}
    # Medicare requests are still routed: the appendices are filled in.
    request["facts"].update(line_of_business="medicare", member_state="VA", member_county="Fairfax County")
    out = json.loads(run("--policy-path", str(tmp_path), "evaluate", "-", stdin=json.dumps(request)).stdout)
    assert out["decision"] == "not_applicable" and out["routing"]["jurisdiction"] == "L"


def test_draft_refuses_a_bad_id(tmp_path):
    proc = run("policy", "draft", BESPONSA, "--id", "Bad-Id", "--out", str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.startswith("error: --id")
    assert not any(Path(tmp_path).iterdir())
