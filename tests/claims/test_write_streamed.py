"""The CLI's write path: lines written batch by batch, claim ids read again from the input, must be
the file `audit_claims` + `write_lines` give (same rows, ids, numbers and edits), with rejected rows."""

import polars as pl
import pytest

from priorauth.claims import audit_claims
from priorauth.claims.audit import audit_claims_to_file
from priorauth.claims.edits import claim_rules
from priorauth.claims.io import scan_table, write_audited, write_lines
from priorauth.claims.polars_engine import audit_frames
from priorauth.claims.synth import write_synth


@pytest.fixture(scope="module")
def claims_file(tmp_path_factory):
    """2,000 synthetic lines, every 7th row rejected (negative units), claim ids as integers."""
    directory = tmp_path_factory.mktemp("streamed")
    raw = directory / "raw.parquet"
    write_synth("besponsa", 2000, raw, seed=5)
    claims = (
        pl.read_parquet(raw)
        .with_row_index("i")
        .with_columns(
            units=pl.when(pl.col("i") % 7 == 3).then(-1).otherwise(pl.col("units").cast(pl.Int64)),
            claim_id=pl.col("i").cast(pl.Int64) * 10 + 1,
        )
        .drop("i")
    )
    path = directory / "claims.parquet"
    claims.write_parquet(path)
    return path


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_audit_to_file_writes_the_lines_audit_claims_returns(claims_file, tmp_path, suffix):
    expected = audit_claims(claims_file, policy="besponsa")
    write_lines(expected.lines, tmp_path / f"expected.{suffix}")
    result = audit_claims_to_file(claims_file, tmp_path / f"out.{suffix}", policy="besponsa")
    read = pl.read_parquet if suffix == "parquet" else pl.read_csv
    written = read(tmp_path / f"out.{suffix}")
    assert written.height == expected.summary.lines_audited < 2000  # rejected rows are left out
    assert written.equals(read(tmp_path / f"expected.{suffix}"))
    assert result.summary == expected.summary and result.errors == expected.errors
    assert written["claim_id"].cast(pl.Int64).equals((written["row"] - 1) * 10 + 1)  # each line's own id


def test_write_audited_across_input_batches(claims_file, tmp_path):
    numbers, _, _ = audit_frames(scan_table(claims_file), claim_rules("besponsa"), ids=False)
    ids = scan_table(claims_file).select(pl.col("claim_id").cast(pl.String))
    write_audited(numbers, ids, tmp_path / "small.parquet", batch_rows=33)  # 61 batches, rejected rows in each
    lines = audit_claims(claims_file, policy="besponsa").lines
    assert pl.read_parquet(tmp_path / "small.parquet").equals(lines)


def test_audit_to_file_with_every_row_rejected_writes_an_empty_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("claim_id,member_id,service_date,hcpcs,units,ndc,icd10,modifier\nA,M1,x,J9229,1,,,\n")
    result = audit_claims_to_file(bad, tmp_path / "out.parquet", policy="besponsa")
    assert result.summary.lines_audited == 0 and len(result.errors) == 1
    written = pl.read_parquet(tmp_path / "out.parquet")
    assert written.height == 0 and written.columns == ["row", "claim_id", "rolling_units", "cycle", "edits"]
