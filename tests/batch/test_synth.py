"""Synthetic request histories: the same seed, the same file; every branch both ways; every outcome."""

from __future__ import annotations

import polars as pl
import pytest
from tests.batch.helpers import batch

from priorauth.batch.engine import STATUS
from priorauth.batch.synth import synth_requests, write_requests
from priorauth.core import load_policy, policy_ids


@pytest.mark.parametrize("policy_id", policy_ids())
def test_a_history_reaches_every_criterion_both_ways_and_every_outcome(tmp_path, policy_id):
    frame = synth_requests(policy_id, 3000, seed=3)
    assert frame.equals(synth_requests(policy_id, 3000, seed=3))
    assert not frame.equals(synth_requests(policy_id, 3000, seed=4))
    path = tmp_path / "h.parquet"
    frame.write_parquet(path)
    decided, refused, _ = batch(path, with_statuses=True)
    assert not refused
    rows = pl.DataFrame(list(decided.values()))
    assert set(rows["decision"]) == {"approved", "denied", "pended", "not_applicable"}
    policy = load_policy(policy_id)
    for version in policy.versions:
        for q in version.questions:  # unknown facts (every request has its decision date)
            assert (frame[q.id].null_count() > 0) is (q.id != version.decided_on), q.id
    statuses = [c for c in rows.columns if c.startswith(STATUS)]
    unreached = [c for c in statuses if not {1, 2} <= set(rows[c].drop_nulls().to_list())]
    assert unreached == []


def test_json_lines_and_parquet_forms_decide_alike(tmp_path):
    frame = synth_requests("besponsa", 500, seed=9)
    write_requests(frame, tmp_path / "h.parquet")
    write_requests(frame, tmp_path / "h.jsonl")
    a, _, _ = batch(tmp_path / "h.parquet")
    b, _, _ = batch(tmp_path / "h.jsonl")
    assert a == b
    with pytest.raises(ValueError):
        write_requests(frame, tmp_path / "h.csv")
