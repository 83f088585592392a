"""Bad rows are refused by row and field, as `priorauth evaluate` refuses them; good rows are still decided."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import polars as pl
from tests.batch.helpers import assert_same, batch, write_jsonl

GOOD = {"policy": "besponsa", "facts": {
    "request_type": "initial", "request_date": "2026-03-02", "birth_date": "1970-05-14",
    "diagnosis": "b_cell_precursor_all", "icd10_codes": ["C91.02"], "cd22_positive": True,
    "prior_inotuzumab": False, "baseline_ecg_normal": True, "ecg_monitoring_planned": True,
    "disease_setting": "relapsed_refractory", "regimen": "single_agent", "ph_status": "negative"}}


def with_facts(**changes):
    facts = dict(GOOD["facts"])
    for k, v in changes.items():
        if v is ...:
            facts.pop(k, None)
        else:
            facts[k] = v
    return {"policy": "besponsa", "facts": facts}


MIXED = [
    GOOD,                                                   # 1 approved
    "{not json",                                            # 2 not JSON
    "[1, 2]",                                               # 3 not an object
    {**GOOD, "patient": "x"},                               # 4 an unknown top-level field
    {"facts": GOOD["facts"]},                               # 5 no policy
    {"policy": "nope", "facts": GOOD["facts"]},             # 6 an unknown policy
    with_facts(cd22_positive="yes"),                        # 7 a string for a boolean
    with_facts(favourite_colour="blue"),                    # 8 a fact the policy does not have
    with_facts(request_date="2024-01-01"),                  # 9 before the first version
    with_facts(request_date="2026-02-30"),                  # 10 not a calendar date
    with_facts(birth_date="2027-01-01"),                    # 11 born after the request date
    with_facts(icd10_codes=[]),                             # 12 an empty code list
    with_facts(icd10_codes=["C91.02", "XYZ"]),              # 13 a malformed code
    with_facts(cycles_received=2.0),                        # 14 a float for a whole number
    with_facts(member_state="ZZ"),                          # 15 not a state
    with_facts(cd22_positive=...),                          # 16 pended, decided
    {**with_facts(), "dosing": {"weight_kg": 70, "height_cm": 170, "cycle": 1}},  # 17 with doses
    {**with_facts(), "dosing": {"weight_kg": "heavy"}},    # 18 with a bad dosing block
    with_facts(line_of_business="medicare", member_state="VA", member_county="Fairfax"),  # 19 routed
    {"policy": "blincyto", "facts": {"request_date": "2026-03-02", "cd22_positive": True}},  # 20 another's fact
    "",                                                     # a blank line: skipped, counted
    with_facts(diagnosis=None),                             # 22 null: unknown
    {"id": {"x": 1}, **GOOD},                               # 23 an id that is not text or a number
]


def _requests():
    out, row = {}, 0
    for item in MIXED:
        row += 1
        if item == "":
            continue
        if isinstance(item, str):
            out[row] = item
        else:
            out[row] = {k: v for k, v in item.items() if k != "id"}
    return out


def test_bad_rows_are_refused_by_row_and_field_and_good_rows_decided(tmp_path):
    path = write_jsonl(tmp_path / "mixed.jsonl", MIXED)
    decided, refused, _ = batch(path, chunk_rows=5)
    expected_rows = _requests()
    for row, raw in expected_rows.items():
        if isinstance(raw, str):  # the per-request path reads the line as a JSON document
            assert row in refused and refused[row].field == "request", row
    json_rows = {r: v for r, v in expected_rows.items() if not isinstance(v, str) and r != 23}
    assert_same(json_rows, decided, {r: e for r, e in refused.items() if r in json_rows})
    assert {r: refused[r].field for r in (7, 9, 10, 11, 13, 14, 15, 23)} == {
        7: "facts.cd22_positive", 9: "facts.request_date", 10: "facts.request_date", 11: "facts.birth_date",
        13: "facts.icd10_codes", 14: "facts.cycles_received", 15: "facts.member_state", 23: "id"}
    assert decided[1]["decision"] == "approved" and decided[16]["decision"] == "pended"
    assert decided[19]["decision"] == "not_applicable"
    assert 17 in decided  # a dosing block is checked by the per-request path, and decided
    assert 21 not in decided and 21 not in refused  # the blank line
    assert refused[2].code == "invalid_json"
    for e in refused.values():  # the problem never repeats a value
        assert "blue" not in e.problem and "yes" not in e.problem and "XYZ" not in e.problem


def test_a_parquet_column_of_the_wrong_type_refuses_its_rows_only(tmp_path):
    frame = pl.DataFrame({
        "id": ["a", "b", "c"],
        "policy": ["besponsa", "besponsa", "besponsa"],
        "request_type": ["initial", "initial", "initial"],
        "request_date": ["2026-03-02", "2026-03-02", "03/02/2026"],
        "cd22_positive": ["true", None, None],  # text, not a boolean
        "cycles_received": [1, 2, 3],
    })
    path = tmp_path / "typed.parquet"
    frame.write_parquet(path)
    decided, refused, _ = batch(path)
    assert set(decided) == {2} and set(refused) == {1, 3}
    assert refused[1].field == "facts.cd22_positive" and refused[3].field == "facts.request_date"
    assert refused[1].id == "a"


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "priorauth.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_cli_writes_decisions_and_lists_refused_rows(tmp_path):
    path = write_jsonl(tmp_path / "mixed.jsonl", MIXED)
    out = tmp_path / "decisions.parquet"
    run = _cli("batch", "evaluate", path, "--out", out)
    assert run.returncode == 0, run.stderr
    decisions = pl.read_parquet(out)
    assert decisions.columns == ["row", "id", "policy", "policy_version", "policy_digest", "decision", "reasons",
                                 "missing_facts", "authorization_end"]
    assert decisions.schema["reasons"] == pl.List(pl.String)
    assert decisions["row"].to_list() == sorted(decisions["row"].to_list())
    with (tmp_path / "decisions.parquet.errors.csv").open() as handle:
        errors = list(csv.DictReader(handle))
    assert {int(e["row"]) for e in errors} | set(decisions["row"].to_list()) == set(_requests())
    assert "refused" in run.stderr and "row 2" in run.stderr


def test_cli_refuses_bad_arguments_with_one_line(tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [GOOD])
    for args, text in (
        (("batch", "evaluate", tmp_path / "missing.jsonl", "--out", tmp_path / "o.parquet"), "no such file"),
        (("batch", "evaluate", path, "--out", tmp_path / "o.csv"), "--out"),
        (("batch", "evaluate", path, "--out", tmp_path / "o.parquet", "--engine", "duck"), "--engine"),
        (("batch", "evaluate", path, "--out", tmp_path / "o.parquet", "--version", "2020-01-01",
          "--policy", "besponsa"), "--version"),
    ):
        run = _cli(*args)
        assert run.returncode == 2, (args, run.stderr)
        assert text in run.stderr and "Traceback" not in run.stderr, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_cli_fails_when_no_row_can_be_decided(tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", ["{", {"policy": "nope", "facts": {}}])
    run = _cli("batch", "evaluate", path, "--out", tmp_path / "o.parquet")
    assert run.returncode == 2 and "no request could be decided" in run.stderr


def test_version_decides_every_row_under_one_version(tmp_path):
    """--version: a request dated before the version is still decided under it, as the version says."""
    early = with_facts(request_date="2025-07-01")
    path = write_jsonl(tmp_path / "r.jsonl", [early, GOOD])
    out = tmp_path / "o.parquet"
    run = _cli("batch", "evaluate", path, "--out", out, "--version", "2025-06-24", "--policy", "besponsa")
    assert run.returncode == 0, run.stderr
    assert set(pl.read_parquet(out)["policy_version"]) == {"2025-06-24"}
    assert json.loads(json.dumps(pl.read_parquet(out)["decision"].to_list())) == ["approved", "approved"]
