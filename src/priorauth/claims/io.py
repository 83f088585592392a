"""Reading claim and authorization files, writing the audit output (Parquet or CSV)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from priorauth.claims.schema import ClaimInputError

PARQUET = (".parquet", ".pq")


def file_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in PARQUET:
        return "parquet"
    if suffix == ".csv":
        return "csv"
    raise ClaimInputError(f"{path}: unknown file type {suffix or '(none)'} (use .parquet or .csv)")


def read_table(path: str | Path) -> pl.DataFrame:
    """A claims or authorization file; CSV cells are read as text and validated later."""
    kind = file_format(path)
    try:
        if kind == "parquet":
            return pl.read_parquet(path)
        return pl.read_csv(path, infer_schema=False)
    except FileNotFoundError:
        raise ClaimInputError(f"{path}: no such file") from None
    except (OSError, pl.exceptions.PolarsError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClaimInputError(f"{path}: cannot read as {kind} ({first_line})") from None


def scan_table(path: str | Path) -> pl.LazyFrame:
    """A lazy scan of a claims or authorization file (CSV cells as text); checks it can be read."""
    kind = file_format(path)
    if not Path(path).exists():
        raise ClaimInputError(f"{path}: no such file")
    try:
        if kind == "parquet":
            scan = pl.scan_parquet(path)
        else:
            scan = pl.scan_csv(path, infer_schema=False)
        scan.collect_schema()
        return scan
    except (OSError, pl.exceptions.PolarsError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClaimInputError(f"{path}: cannot read as {kind} ({first_line})") from None


def write_lines(lines: pl.DataFrame, path: str | Path) -> None:
    """Write audited lines; in CSV the edit codes are joined with ';'."""
    if file_format(path) == "parquet":
        lines.write_parquet(path, compression="lz4")  # LZ4_RAW: writes in half the time of zstd here
    else:
        lines.with_columns(pl.col("edits").list.join(";")).write_csv(path)


def write_errors(errors: list, path: str | Path) -> None:
    pl.DataFrame(
        {
            "source": [e.source for e in errors],
            "row": [e.row for e in errors],
            "column": [e.column for e in errors],
            "message": [e.message for e in errors],
        },
        schema={"source": pl.String, "row": pl.Int64, "column": pl.String, "message": pl.String},
    ).write_csv(path)
