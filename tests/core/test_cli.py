"""The command line as a user meets it: JSON out, explained trees, one-line errors with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "priorauth" / "examples"
CONTRACT_EXAMPLE = {
    "policy": "besponsa",
    "facts": {
        "request_type": "initial", "request_date": "2026-03-02", "birth_date": "1970-05-14",
        "diagnosis": "b_cell_precursor_all", "icd10_codes": ["C91.02"], "cd22_positive": True,
        "prior_inotuzumab": False, "baseline_ecg_normal": True, "ecg_monitoring_planned": True,
        "disease_setting": "relapsed_refractory", "regimen": "single_agent", "ph_status": "negative",
    },
}


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "priorauth.cli", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_contract_example_prints_the_documented_determination():
    proc = run("evaluate", "-", stdin=json.dumps(CONTRACT_EXAMPLE))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["policy"] == "besponsa" and out["policy_version"] == "2025-06-24"
    assert out["decision"] == "approved" and out["missing_facts"] == []
    assert {k: out["authorization"][k] for k in
            ("start", "end", "max_cycles", "max_units", "unit_window_days", "hcpcs", "renewable")} == {
        "start": "2026-03-02", "end": "2026-09-01", "max_cycles": 6, "max_units": 63,
        "unit_window_days": 21, "hcpcs": "J9229", "renewable": False}
    assert all(set(r) >= {"criterion", "section", "status", "text"} for r in out["reasons"])


def test_cli_output_is_what_the_python_api_returns():
    import priorauth

    proc = run("evaluate", str(EXAMPLES / "pended-comorbidities-unknown.json"))
    assert json.loads(proc.stdout) == priorauth.evaluate(
        json.loads((EXAMPLES / "pended-comorbidities-unknown.json").read_text())).to_dict()


def test_explain_prints_a_tree_with_marks_and_sections():
    proc = run("evaluate", "--explain", str(EXAMPLES / "denied-pediatric-combination.json"))
    assert proc.returncode == 0
    assert "DENIED" in proc.stdout
    assert "✘ not met" in proc.stdout and "✔ met" in proc.stdout
    assert "pediatric_single_agent" in proc.stdout and "§III" in proc.stdout


def test_explain_groups_reasons_by_branch_and_reads_alternatives_as_one_of():
    request = json.loads((EXAMPLES / "pended-comorbidities-unknown.json").read_text())
    request["facts"]["substantial_comorbidities"] = True
    proc = run("evaluate", "--explain", "-", stdin=json.dumps(request))
    assert proc.returncode == 0, proc.stderr
    lines = [line.rstrip() for line in proc.stdout.splitlines()]
    adult = lines.index("  Adult B-cell precursor ALL:")
    assert lines[adult + 1 : adult + 3] == [
        "    - One of:", "      - Relapsed or refractory disease with a listed regimen:"]
    assert ("          - ✘ not met Rituximab is not added to the regimen. (Section III) [fc_no_rituximab]"
            in lines[adult:])
    assert lines.index("  Pediatric B-cell precursor ALL:") > adult
    assert any(line.endswith("one of:") and "fc_rituximab" in line for line in lines)  # the trace too


@pytest.mark.parametrize(
    ("stdin", "field"),
    [
        ("this is not json", "request: not valid JSON"),
        ('{"policy": "keytruda", "facts": {}}', "policy: unknown policy"),
        # Unknown keys are named by position, never echoed (a key can be a patient's name).
        ('{"policy": "besponsa", "facts": {"request_type": "initial", "eye_colour": "blue"}}',
         "facts: key 2: unknown fact"),
        ('{"policy": "besponsa", "facts": {"cd22_positive": "yes"}}', "facts.cd22_positive: expected true or false"),
        ('{"policy": "besponsa", "facts": {"birth_date": "1970-02-30"}}',
         "facts.birth_date: not a valid calendar date"),
        ('{"policy": "besponsa", "facts": {"regimen": "hyper_cvad"}}', "facts.regimen: not one of"),
        ('{"policy": "besponsa", "facts": {}, "urgent": true}', "request: key 3: unknown field"),
        ('{"policy": "besponsa", "facts": {"request_date": "9999-12-31"}}', "facts.request_date: outside the years"),
        ("[1, 2]", "request: expected a JSON object"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_field(stdin, field):
    proc = run("evaluate", "-", stdin=stdin)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0]
    assert "Traceback" not in proc.stderr


def test_bad_values_are_not_echoed_in_errors():
    proc = run("evaluate", "-", stdin='{"policy": "besponsa", "facts": {"birth_date": "1970-02-30"}}')
    assert "1970-02-30" not in proc.stderr


def test_missing_file_is_a_clear_error():
    proc = run("evaluate", "/nonexistent/request.json")
    assert proc.returncode == 2 and "cannot read" in proc.stderr and proc.stdout == ""


def test_policy_show_prints_an_outline():
    proc = run("policy", "show", "besponsa")
    assert proc.returncode == 0
    for text in ("OHSU HEALTHSERVICES-0453", "max_units", "63", "J9229", "00008-0100-xx", "C91.02",
                 "reading:", "Novitas Solutions", "adult_frontline_consolidation"):
        assert text in proc.stdout, text


def test_policy_check_refuses_a_malformed_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bundled = EXAMPLES.parent / "policies" / "besponsa" / "2025-06-24.yaml"
    bad.write_text(bundled.read_text().replace("route:", "rout:"))
    proc = run("policy", "check", str(bad))
    assert proc.returncode == 2 and str(bad) in proc.stderr and "rout" in proc.stderr and proc.stdout == ""


def test_questions_lists_the_vocabulary():
    proc = run("questions", "besponsa", "--json")
    questions = {q["id"]: q for q in json.loads(proc.stdout)}
    assert questions["disease_setting"]["values"] == [
        "relapsed_refractory", "frontline_consolidation", "frontline_induction", "other"]
    assert questions["birth_date"]["type"] == "date"
    assert len(questions) == 21
    table = run("questions", "besponsa")
    assert "Philadelphia" in table.stdout
