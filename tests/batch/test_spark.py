"""The Spark engine runs the same column-wise plan and gives the Polars engine's decisions, row for row."""

from __future__ import annotations

import polars as pl
import pytest
from tests.batch.helpers import batch

from priorauth.batch.synth import synth_requests
from priorauth.core import load_policy, policy_registry


@pytest.fixture(scope="module")
def spark():
    from priorauth.batch.spark import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


def _sample() -> pl.DataFrame:
    """Both bundled policies, and rows the column-wise path refuses (bad values, another policy's fact)."""
    frames = [synth_requests(p, 300, seed=23) for p in ("besponsa", "blincyto")]
    sample = pl.concat(frames, how="diagonal")
    bad = sample.head(4).with_columns(
        pl.Series("policy", ["besponsa", "nope", "besponsa", "besponsa"]),
        pl.Series("cycles_received", [-3, 1, 2, 3]),
    )
    return pl.concat([sample, bad], how="diagonal")


def test_spark_equals_polars_on_a_sample(spark, tmp_path):
    from priorauth.batch.spark import decide_spark

    sample = _sample()
    path = tmp_path / "history.parquet"
    sample.write_parquet(path)
    on_spark, spark_errors, run = decide_spark(path, policy_registry(), master="local[2]")
    decided, refused, _ = batch(path)
    polars_frame = pl.DataFrame(list(decided.values())).sort("row")
    assert on_spark.height == polars_frame.height == len(sample) - len(refused)
    columns = ["row", "id", "policy", "policy_version", "policy_digest", "decision", "reasons", "missing_facts",
               "authorization_end"]
    left = on_spark.select(columns).with_columns(pl.col(c).cast(pl.String) for c in
                                                 ("policy", "policy_version", "policy_digest", "decision"))
    right = polars_frame.select(columns)
    assert left.with_columns(pl.col("reasons", "missing_facts").cast(pl.List(pl.String))).equals(right)
    assert [(e.row, e.field, e.code) for e in spark_errors] == [(e.row, e.field, e.code) for e in
                                                                sorted(refused.values(), key=lambda e: e.row)]
    assert run.book.unsupported == {}


def test_spark_under_one_version(spark, tmp_path):
    from priorauth.batch.spark import decide_spark

    frame = synth_requests("besponsa", 120, seed=5)
    path = tmp_path / "h.parquet"
    frame.write_parquet(path)
    version = load_policy("besponsa").first
    on_spark, _, _ = decide_spark(path, policy_registry(), version, master="local[2]")
    decided, _, _ = batch(path, forced=version)
    assert on_spark["decision"].cast(pl.String).to_list() == [decided[r]["decision"] for r in sorted(decided)]
