"""The batch path decides every request exactly as `priorauth.evaluate` does.

- a hypothesis property over random requests of every bundled policy (JSON Lines and
  Parquet input, several chunks, worker processes for new patterns), with bad input mixed in;
- every YAML case table in tests/cases/ run through both paths;
- synthetic histories of every bundled policy, row by row;
- the per-request side with the core's residual cache off, so the batch's pattern key is
  checked against residuals computed afresh.
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.batch.helpers import assert_same, batch, parquet_requests, write_jsonl
from tests.batch.strategies import requests
from tests.core.cases import load_cases

from priorauth.batch.synth import synth_requests
from priorauth.core import load_policy, policy_ids

POLICIES = policy_ids()
CASES = load_cases()
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("policy_id", POLICIES)
@SETTINGS
@given(data=st.data())
def test_batch_equals_per_request_on_random_requests(tmp_path_factory, policy_id, data):
    policy = load_policy(policy_id)
    drawn = data.draw(st.lists(requests(policy), min_size=1, max_size=40))
    path = write_jsonl(tmp_path_factory.mktemp("b") / "requests.jsonl", [{"id": f"r{k}", **r} for k, r in
                                                                        enumerate(drawn)])
    decided, refused, _ = batch(path, chunk_rows=data.draw(st.sampled_from([7, 1000])))
    assert_same({k: r for k, r in enumerate(drawn, start=1)}, decided, refused)
    for row, out in decided.items():
        assert out["id"] == f"r{row - 1}"


@pytest.mark.parametrize("policy_id", POLICIES)
@SETTINGS
@given(data=st.data())
def test_batch_equals_per_request_with_the_residual_cache_off(tmp_path_factory, monkeypatch_residual, policy_id,
                                                                data):
    policy = load_policy(policy_id)
    drawn = data.draw(st.lists(requests(policy, bad=False), min_size=1, max_size=30))
    path = write_jsonl(tmp_path_factory.mktemp("c") / "requests.jsonl", drawn)
    decided, refused, _ = batch(path)
    assert_same({k: r for k, r in enumerate(drawn, start=1)}, decided, refused)


@pytest.mark.parametrize("policy_id", POLICIES)
@SETTINGS
@given(data=st.data())
def test_parquet_rows_decide_as_their_requests(tmp_path_factory, policy_id, data):
    """A Parquet history: one typed column per fact (dates as dates), null for unknown."""
    policy = load_policy(policy_id)
    drawn = data.draw(st.lists(requests(policy, bad=False), min_size=1, max_size=30))
    rows = [{"id": f"p{k}", "policy": r["policy"], **r["facts"]} for k, r in enumerate(drawn)]
    frame = pl.DataFrame(rows, infer_schema_length=None)
    dates = [q.id for v in policy.versions for q in v.questions if q.type == "date" and q.id in frame.columns]
    frame = frame.with_columns([pl.col(c).cast(pl.String).str.to_date() for c in dict.fromkeys(dates)])
    path = tmp_path_factory.mktemp("p") / "requests.parquet"
    frame.write_parquet(path)
    decided, refused, _ = batch(path, chunk_rows=data.draw(st.sampled_from([5, 1000])))
    assert_same(parquet_requests(frame), decided, refused)


def test_every_case_table_decides_the_same_through_both_paths(tmp_path):
    assert {c["policy"] for c in CASES} >= {"besponsa"}
    path = write_jsonl(tmp_path / "cases.jsonl", [c["request"] for c in CASES])
    decided, refused, _ = batch(path, chunk_rows=10)
    assert_same({k: c["request"] for k, c in enumerate(CASES, start=1)}, decided, refused)
    for k, case in enumerate(CASES, start=1):  # and as the case table says
        if "error" in case["expect"]:
            assert refused[k].field == case["expect"]["error"]["field"], case["name"]
        else:
            assert decided[k]["decision"] == case["expect"]["decision"], case["name"]
            assert decided[k]["policy_version"] == case["policy_version"], case["name"]


def test_case_tables_as_parquet(tmp_path):
    """The decided cases again, as a Parquet history of typed columns (both policies in one file)."""
    good = [c for c in CASES if "error" not in c["expect"]]
    rows = [{"id": c["name"], "policy": c["request"]["policy"], **c["request"]["facts"]} for c in good]
    frame = pl.DataFrame(rows, infer_schema_length=None)
    date_facts = {q.id for p in POLICIES for v in load_policy(p).versions for q in v.questions if q.type == "date"}
    frame = frame.with_columns([pl.col(c).cast(pl.String).str.to_date() for c in frame.columns if c in date_facts])
    path = tmp_path / "cases.parquet"
    frame.write_parquet(path)
    decided, refused, _ = batch(path)
    assert_same(parquet_requests(frame), decided, refused)


@pytest.mark.parametrize("policy_id", POLICIES)
def test_a_synthetic_history_decides_row_by_row_as_per_request(tmp_path, policy_id):
    frame = synth_requests(policy_id, 4000, seed=11)
    path = tmp_path / "history.parquet"
    frame.write_parquet(path)
    decided, refused, _ = batch(path, chunk_rows=1500, workers=2)
    assert len(decided) == 4000 and not refused
    assert_same(parquet_requests(frame), decided, refused)
    assert {r["decision"] for r in decided.values()} == {"approved", "denied", "pended", "not_applicable"}


@pytest.fixture
def monkeypatch_residual(monkeypatch):
    from priorauth.core import _residual

    monkeypatch.setattr(_residual, "RESIDUAL_CACHE_SIZE", 0)
