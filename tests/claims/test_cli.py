"""`priorauth claims synth` and `priorauth claims audit` as a user runs them."""

import polars as pl
from typer.testing import CliRunner

from priorauth.cli import app

runner = CliRunner()
BESPONSA = ["--policy", "besponsa"]


def test_synth_then_audit_writes_output_and_summary(tmp_path):
    claims = tmp_path / "claims.parquet"
    result = runner.invoke(app, ["claims", "synth", "5000", "--out", str(claims), "--seed", "3", *BESPONSA])
    assert result.exit_code == 0, result.output
    out = tmp_path / "audit.parquet"
    result = runner.invoke(app, ["claims", "audit", str(claims), "--out", str(out), *BESPONSA])
    assert result.exit_code == 0, result.output
    assert (
        "5000 rows read" in result.output and "UNITS_OVER_LIMIT" in result.output and "units at risk" in result.output
    )
    written = pl.read_parquet(out)
    assert written.columns == ["row", "claim_id", "rolling_units", "cycle", "edits"] and written.height == 5000
    assert "M0000" not in result.output  # no member ids in what is printed


def test_audit_csv_lists_bad_rows_and_audits_the_rest(tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "claim_id,member_id,service_date,hcpcs,units,ndc,icd10,modifier\n"
        "A,M1,2025-07-01,J9229,70,00008-0100-01,C91.00,JZ\n"
        "B,M1,2025-13-01,J9229,-3,00008-0100-01,C91.00,\n"
    )
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["claims", "audit", str(claims), "--out", str(out), *BESPONSA])
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out)["edits"].to_list() == ["UNITS_OVER_LIMIT"]
    errors = pl.read_csv(tmp_path / "out.csv.errors.csv")
    assert errors.select("row", "column").rows() == [(2, "service_date"), (2, "units")]


def test_audit_exit_2_when_nothing_can_be_audited(tmp_path):
    nope = tmp_path / "nope.csv"
    missing = runner.invoke(app, ["claims", "audit", str(nope), "--out", str(tmp_path / "o.csv"), *BESPONSA])
    assert missing.exit_code == 2 and "no such file" in missing.output
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("claim,member\n1,2\n")
    result = runner.invoke(app, ["claims", "audit", str(wrong), "--out", str(tmp_path / "o.csv"), *BESPONSA])
    assert result.exit_code == 2 and "missing column(s) claim_id" in result.output
    bad_only = tmp_path / "bad.csv"
    bad_only.write_text("claim_id,member_id,service_date,hcpcs,units,ndc,icd10,modifier\nA,M1,x,J9229,1,,,\n")
    result = runner.invoke(app, ["claims", "audit", str(bad_only), "--out", str(tmp_path / "o.csv"), *BESPONSA])
    assert result.exit_code == 2 and "no row could be audited" in result.output


def test_audit_without_policy_audits_every_drug_under_its_own_policy(tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "claim_id,member_id,service_date,hcpcs,units,ndc,icd10,modifier\n"
        "A,M1,2026-03-02,J9229,70,00008-0100-01,C91.00,JZ\n"  # Besponsa: 70 > 63 units in 21 days
        "B,M1,2026-03-02,J9039,9,55513-0160-01,C91.02,JZ\n"  # Blincyto: within its limit
        "C,M1,2026-03-02,J9039,26,55513-0160-01,C91.02,JW\n"
        "D,M1,2026-03-02,J1100,1,,,\n"  # another drug: passes through
    )
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["claims", "audit", str(claims), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "lines by policy: besponsa 1, blincyto 2" in result.output
    written = pl.read_csv(out)
    assert written["edits"].fill_null("").to_list() == ["UNITS_OVER_LIMIT", "WASTE_MODIFIER", "WASTE_MODIFIER", ""]
    assert written["cycle"].to_list() == [1, 1, 1, None]
    # --policy filters: only that policy's lines are audited
    only = runner.invoke(app, ["claims", "audit", str(claims), "--out", str(out), "--policy", "blincyto"])
    assert only.exit_code == 0, only.output
    assert pl.read_csv(out)["cycle"].to_list() == [None, 1, 1, None]
    unknown = runner.invoke(app, ["claims", "audit", str(claims), "--out", str(out), "--policy", "nope"])
    assert unknown.exit_code == 2 and "unknown policy 'nope'" in unknown.output
    assert "besponsa, blincyto" in unknown.output


def test_synth_needs_a_policy_when_several_are_loaded(tmp_path):
    result = runner.invoke(app, ["claims", "synth", "10", "--out", str(tmp_path / "c.csv")])
    assert result.exit_code == 2 and "--policy" in result.output and "besponsa, blincyto" in result.output
