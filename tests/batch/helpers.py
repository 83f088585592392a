"""Batch tests: run requests through the batch path and through `priorauth.evaluate`, and compare.

The per-request path is the reference. For every input row, either both decide, with the
same decision, reasons (criterion ids, in order), missing facts, version, digest and
authorization end, or both refuse, naming the same field with the same error code.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl

import priorauth
from priorauth.batch.engine import BatchDecider
from priorauth.batch.single import decide_one
from priorauth.batch.source import read_chunks
from priorauth.core import PolicyVersion, RequestError, policy_registry


def write_jsonl(path: Path, requests: list[Any]) -> Path:
    """One request a line; a `str` item is written as it is (a line that is not JSON, say)."""
    with path.open("w", encoding="utf-8") as handle:
        for request in requests:
            handle.write((request if isinstance(request, str) else json.dumps(request, default=str)) + "\n")
    return path


def batch(path: Path, forced: PolicyVersion | None = None, chunk_rows: int | None = None, workers: int = 1,
          with_statuses: bool = False) -> tuple[dict[int, dict[str, Any]], dict[int, Any], list[Any]]:
    """(decided rows by row number, refused rows by row number, the chunks) of a request file."""
    registry = policy_registry()
    decider = BatchDecider(registry, forced, workers=workers)
    decided: dict[int, dict[str, Any]] = {}
    refused: dict[int, Any] = {}
    chunks = []
    try:
        extra = [forced] if forced is not None else None
        for chunk in read_chunks(path, registry, extra, chunk_rows=chunk_rows):
            out, errors = decider.decide(chunk, with_statuses=with_statuses)
            chunks.append(chunk)
            for row in out.to_dicts():
                decided[row["row"]] = row
            for error in errors:
                refused[error.row] = error
    finally:
        decider.close()
    return decided, refused, chunks


def expected(raw: Any, forced: PolicyVersion | None = None) -> tuple[str, Any]:
    """The per-request path's answer: ("decided", outcome) or ("refused", (field, code))."""
    try:
        if forced is None:
            det = priorauth.evaluate(raw)
        else:
            det = decide_one(raw, policy_registry(), forced)
    except RequestError as exc:
        return "refused", (exc.field, str(exc.code))
    end = det.authorization.end if det.authorization is not None else None
    return "decided", (det.decision.value, [r.criterion for r in det.reasons], list(det.missing_facts),
                       det.policy_version, det.policy_digest, end)


def got(row: dict[str, Any]) -> tuple:
    end = row["authorization_end"]
    return (row["decision"], list(row["reasons"]), list(row["missing_facts"]), row["policy_version"],
            row["policy_digest"], end)


def assert_same(requests: dict[int, Any], decided: dict[int, dict[str, Any]], refused: dict[int, Any],
                forced: PolicyVersion | None = None) -> None:
    """Every row as the per-request path decides (or refuses) it. `requests`: row -> contract request."""
    assert set(decided) | set(refused) == set(requests), "every row is decided or refused"
    assert not set(decided) & set(refused)
    for row, raw in requests.items():
        kind, answer = expected(raw, forced)
        if kind == "refused":
            assert row in refused, (row, raw, answer, decided.get(row))
            error = refused[row]
            assert (error.field, error.code) == answer, (row, raw)
        else:
            assert row in decided, (row, raw, answer, refused.get(row))
            assert got(decided[row]) == answer, (row, raw)


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def parquet_requests(frame: pl.DataFrame) -> dict[int, Any]:
    """Row number -> the request a Parquet row stands for (non-null fact columns)."""
    facts = [c for c in frame.columns if c not in ("id", "policy")]
    out = {}
    for k, row in enumerate(frame.iter_rows(named=True), start=1):
        out[k] = {"policy": row["policy"], "facts": {f: row[f] for f in facts if row[f] is not None}}
    return out
