"""Both engines give identical output (lines, rejected rows, summary) on the same data."""

import polars as pl
from tests.claims.helpers import frame, line, waste_policy

from priorauth.claims import ClaimRules, audit_claims
from priorauth.claims.reference import audit_reference
from priorauth.claims.synth import synth_claims

EDGE_CASES = [
    line("e1", "E1", 0, 30),
    line("e2", "E1", 20, 20),
    line("e3", "E1", 20, 14),
    line("e4", "E1", 21, 10, ndc="0008010001"),
    line("e5", "E1", 126, 5, icd10="Z51.11; c9102", modifier="JW"),
    line("e6", "E1", 126, 5, modifier="jz"),
    line("e7", "E2", 3, 5, hcpcs="J9035", ndc=None, icd10=None),
    line("e8", None, "2025-02-30", -1),
    line("e9", "E2", "07/01/2025", "1.5"),
    line("e10", "E3", 40, 5),
    line("e11", "E3", 41, 5, modifier=None),  # neither JW nor JZ
    line("e12", "E3", 42, 4, modifier=None),  # administered amount of a dose with waste ...
    line("e13", "E3", 42, 1, modifier="JW"),  # ... and its discarded remainder
]
EDGE_CASES += [line(f"c{k}", "E1", 21 * k, 5) for k in range(7)]


def test_spark_and_polars_engines_agree(spark, tmp_path):
    synthetic = synth_claims("besponsa", 3000, 11).with_columns(
        pl.col("service_date").cast(pl.String), pl.col("units").cast(pl.String)
    )
    claims = pl.concat([synthetic, frame(EDGE_CASES)])
    claims_path = tmp_path / "claims.csv"
    claims.write_csv(claims_path)
    auth_path = tmp_path / "auth.csv"
    frame(
        [
            {"member_id": "E1", "start": "2025-07-01", "end": "2025-08-15"},
            {"member_id": "E3", "start": "2025-06-01", "end": "2025-07-31"},
            {"member_id": "E4", "start": "2025-09-01", "end": "2025-08-01"},
        ]
    ).vstack(
        synthetic.select(pl.col("member_id"), start=pl.lit("2025-07-01"), end=pl.lit("2026-03-31"))
        .unique()
        .head(100)
        .sort("member_id")
    ).write_csv(auth_path)

    on_polars = audit_claims(claims_path, auth_path, policy="besponsa")
    on_spark = audit_claims(claims_path, auth_path, policy="besponsa", engine="spark", master="local[2]")

    assert on_spark.lines.equals(on_polars.lines)
    assert on_spark.errors == on_polars.errors and len(on_polars.errors) == 5
    assert on_spark.auth_errors == on_polars.auth_errors and len(on_polars.auth_errors) == 1
    assert {**vars(on_spark.summary), "engine": None} == {**vars(on_polars.summary), "engine": None}
    assert all(on_polars.summary.edit_counts[code] > 0 for code in on_polars.summary.edit_counts)


def test_spark_reads_typed_parquet_like_polars(spark, tmp_path):
    path = tmp_path / "claims.parquet"
    synth_claims("besponsa", 1500, 12).write_parquet(path)
    on_spark = audit_claims(path, policy="besponsa", engine="spark")
    assert on_spark.lines.equals(audit_claims(path, policy="besponsa").lines)


def test_engines_and_reference_agree_when_waste_stops_counting(spark, tmp_path):
    # JW units count until 2026-01-01, not after
    policy = waste_policy('{"2025-06-24": true, "2026-01-01": false}')
    waste_rows = [
        line("w1", "W1", 0, 60, modifier="JZ"),
        line("w2", "W1", 0, 5, modifier="JW"),
        line("w3", "W2", 200, 60, modifier="JZ"),
        line("w4", "W2", 200, 5, modifier="jw;JZ"),
        line("w5", "W2", 201, 4, modifier="JZ"),
    ]
    synthetic = synth_claims("besponsa", 3000, 13).with_columns(
        pl.col("service_date").cast(pl.String), pl.col("units").cast(pl.String)
    )
    claims_path = tmp_path / "claims.csv"
    pl.concat([synthetic, frame(waste_rows)]).write_csv(claims_path)

    on_polars = audit_claims(claims_path, policy=policy)
    on_spark = audit_claims(claims_path, policy=policy, engine="spark", master="local[2]")
    expected, _ = audit_reference(
        pl.read_csv(claims_path, infer_schema=False).to_dicts(), ClaimRules.from_policy(policy)
    )

    assert on_spark.lines.equals(on_polars.lines)
    assert on_polars.lines.to_dicts() == expected
    assert {**vars(on_spark.summary), "engine": None} == {**vars(on_polars.summary), "engine": None}
    waste = {r["claim_id"]: r for r in on_polars.lines.tail(len(waste_rows)).to_dicts()}
    assert [waste[c]["rolling_units"] for c in ("w1", "w2", "w3", "w4", "w5")] == [65, 65, 60, 60, 64]
