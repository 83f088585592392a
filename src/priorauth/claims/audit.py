"""audit_claims: the public entry point, one function for both engines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Literal

import polars as pl

from priorauth.claims.edits import EDIT_CODES, ClaimRules, claim_rules
from priorauth.claims.io import scan_table
from priorauth.claims.schema import OUTPUT_COLUMNS, AuditResult, AuditSummary, ClaimInputError, RowError
from priorauth.core import Policy, PolicyVersion

Engine = Literal["polars", "spark"]
Source = str | Path | pl.DataFrame


def summarize(
    lines: pl.DataFrame, errors: list[RowError], rows_read: int, engine: str, members: int | None = None
) -> AuditSummary:
    """Counts over audited lines (with their units, and a member column unless `members` is given),
    without copying them. Lines with a `mask` column (the Polars engine) are counted from its bits."""
    policy = pl.col("cycle").is_not_null()
    if "mask" in lines.columns:  # the Polars engine: edits as bits
        flagged = pl.col("mask") > 0
        per_edit = [(pl.col("mask") & (1 << i) > 0).sum().alias(code) for i, code in enumerate(EDIT_CODES)]
    else:
        flagged = pl.col("edits").list.len() > 0
        per_edit = [pl.col("edits").list.contains(code).sum().alias(code) for code in EDIT_CODES]
    member_count = pl.lit(members) if members is not None else pl.col("member").filter(policy).n_unique()
    counts = lines.select(
        *per_edit,
        flagged.sum().alias("flagged"),
        pl.col("units").filter(flagged).sum().alias("at_risk"),
        policy.sum().alias("policy"),
        member_count.alias("members"),
    ).row(0, named=True)
    by_policy = lines.filter(policy).group_by("policy").len().sort("policy")
    return AuditSummary(
        rows_read=rows_read,
        lines_audited=lines.height,
        rows_rejected=len({e.row for e in errors if e.source == "claims"}),
        policy_lines=int(counts["policy"]),
        members=int(counts["members"]),
        edit_counts={code: int(counts[code]) for code in EDIT_CODES},
        lines_with_edits=int(counts["flagged"]),
        units_at_risk=int(counts["at_risk"] or 0),
        engine=engine,
        lines_by_policy={str(k): int(v) for k, v in by_policy.iter_rows()},
    )


def audit_claims(
    claims: Source,
    authorizations: Source | None = None,
    *,
    policy: str | Policy | PolicyVersion | list[str | Policy | PolicyVersion] | None = None,
    engine: Engine = "polars",
    master: str = "local[2]",
    progress: Callable[[str], None] | None = None,
) -> AuditResult:
    """Audit claim lines (a Parquet/CSV path or a Polars frame) against policies' claim edits.

    Each line is audited under the policy whose HCPCS code it bills; lines of other codes
    pass through. `policy` chooses the policies: a policy id (from the policy registry in
    use), a loaded `Policy` (each line under the version in force on its service date), one
    `PolicyVersion`, a list of those, or None for every loaded policy.
    Bad rows are returned in `errors` (row, column, reason); all other rows are audited.
    Raises ClaimInputError when nothing can be audited (unreadable file, missing columns).
    """
    rules = claim_rules(policy)
    members = None
    if engine == "spark":
        from priorauth.claims.spark_engine import audit_spark_to_polars

        lines, errors, rows_read = audit_spark_to_polars(claims, rules, authorizations, master=master)
    elif engine == "polars":
        lines, errors, rows_read, members = _audit_polars(claims, rules, authorizations, progress, ids=True)
    else:
        raise ValueError(f"unknown engine {engine!r} (polars or spark)")
    return _result(lines.select(OUTPUT_COLUMNS), errors, summarize(lines, errors, rows_read, engine, members))


def _result(lines: pl.DataFrame, errors: list[RowError], summary: AuditSummary) -> AuditResult:
    """The result, the claims' row errors apart from the authorizations'."""
    return AuditResult(
        lines=lines,
        errors=[e for e in errors if e.source == "claims"],
        summary=summary,
        auth_errors=[e for e in errors if e.source != "claims"],
    )


def _unreadable(claims: Source, exc: Exception) -> ClaimInputError:
    """A file that fails while being read, named with the first line of the reader's message."""
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return ClaimInputError(f"{claims}: cannot read ({first_line})")


def _audit_polars(
    claims: Source,
    rules: tuple[ClaimRules, ...],
    authorizations: Source | None,
    progress: Callable[[str], None] | None,
    ids: bool,
) -> tuple[pl.DataFrame, list[RowError], int, int]:
    from priorauth.claims.polars_engine import audit_frames

    frame = claims if isinstance(claims, pl.DataFrame) else scan_table(claims)
    auth_frame = None
    if authorizations is not None:
        auth_frame = authorizations if isinstance(authorizations, pl.DataFrame) else scan_table(authorizations)
    if progress:
        progress("read")
    try:
        lines, errors, members = audit_frames(frame, rules, auth_frame, progress, ids=ids)
    except pl.exceptions.PolarsError as exc:  # a file that fails while being read
        raise _unreadable(claims, exc) from None
    rows_read = lines.height + len({e.row for e in errors if e.source == "claims"})
    return lines, errors, rows_read, members


def audit_claims_to_file(
    claims: str | Path,
    out: str | Path,
    authorizations: Source | None = None,
    *,
    policy: str | Policy | PolicyVersion | list[str | Policy | PolicyVersion] | None = None,
    engine: Engine = "polars",
    master: str = "local[2]",
    progress: Callable[[str], None] | None = None,
) -> AuditResult:
    """`audit_claims` of a file, its lines written to `out` (Parquet or CSV, as `write_lines`).

    The returned result's `lines` is empty. On Polars, claim ids are not held while auditing:
    they are read again from `claims`, batch by batch, as the lines are written (less memory).
    """
    from priorauth.claims.io import OUTPUT_SCHEMA, write_audited, write_lines

    if engine != "polars":
        result = audit_claims(claims, authorizations, policy=policy, engine=engine, master=master, progress=progress)
        write_lines(result.lines, out)
        return replace(result, lines=result.lines.clear())
    rules = claim_rules(policy)
    lines, errors, rows_read, members = _audit_polars(claims, rules, authorizations, progress, ids=False)
    summary = summarize(lines, errors, rows_read, engine, members)
    numbers = lines.select("row", "rolling_units", "cycle", "mask")
    del lines
    scan = scan_table(claims)
    raw = pl.col("claim_id")
    ids = scan.select(raw if scan.collect_schema()["claim_id"] == pl.String else raw.cast(pl.String))
    try:
        write_audited(numbers, ids, out)
    except pl.exceptions.PolarsError as exc:
        raise _unreadable(claims, exc) from None
    return _result(pl.DataFrame(schema=OUTPUT_SCHEMA), errors, summary)
