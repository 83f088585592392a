"""A batch run: read a request history, decide it chunk by chunk, write decisions and refused rows."""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from priorauth.batch.engine import DECISIONS_SCHEMA, BatchDecider, RowError
from priorauth.batch.source import read_chunks
from priorauth.core import (
    ErrorCode,
    Policy,
    PolicyRegistry,
    PolicyVersion,
    RequestError,
    load_policy_file,
    parse_iso_date,
)

ERROR_COLUMNS = ("row", "id", "field", "code", "problem")


@dataclass
class BatchSummary:
    rows: int = 0
    decided: int = 0
    refused: int = 0
    per_request: int = 0  # rows the column-wise path left to the per-request path
    decisions: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    engine: str = "polars"
    notes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "engine": self.engine,
            "rows": self.rows,
            "decided": self.decided,
            "refused": self.refused,
            "per_request": self.per_request,
            "decisions": dict(self.decisions),
            "seconds": round(self.seconds, 3),
            "notes": self.notes,
        }


def resolve_version(policies: PolicyRegistry, policy_id: str | None, name: str) -> PolicyVersion:
    """A version by its effective date (of `policy_id`), or the version file (or folder's latest) at a path."""
    path = Path(name)
    if name.endswith((".yaml", ".yml")) or path.is_dir():
        drafted: Policy = load_policy_file(path)
        version = drafted.latest
        if policy_id is not None and version.id != policy_id:
            raise RequestError("--version", f"the file is policy {version.id}, not {policy_id}",
                               ErrorCode.UNKNOWN_POLICY)
        return version
    if policy_id is None:
        ids = policies.ids()
        if len(ids) != 1:
            raise RequestError("--policy", f"needed with --version when several policies are loaded ({', '.join(ids)})")
        policy_id = ids[0]
    policy = policies.get(policy_id)
    try:
        day = parse_iso_date(name)
    except ValueError as exc:
        raise RequestError("--version", f"{exc} (a version's effective date) or a version file") from None
    for version in policy.versions:
        if version.effective == day:
            return version
    known = ", ".join(v.version for v in policy.versions)
    raise RequestError("--version", f"policy {policy.id} has no version effective then; its versions: {known}",
                       ErrorCode.NO_POLICY_VERSION)


class DecisionWriter:
    """Decisions streamed to one Parquet file, chunk by chunk (pyarrow's writer)."""

    def __init__(self, out: Path) -> None:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        if out.suffix.lower() != ".parquet":
            raise RequestError("--out", "expected a .parquet file")
        self.out = out
        # Texts arrive dictionary-encoded (categorical); the file keeps Parquet's dictionary pages but
        # no Arrow schema, so every reader sees plain text and lists of text (DECISIONS_SCHEMA).
        # Each chunk is compressed and written in a thread (pyarrow works without the GIL) while the
        # next chunk is decided; at most one chunk waits to be written.
        self._schema: Any = None
        self._writer: Any = None
        self._pending: Any = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="decisions-writer")
        self._open = lambda schema: pq.ParquetWriter(out, schema, compression="zstd", compression_level=1,
                                                     store_schema=False)
        try:
            out.touch()
        except OSError as exc:
            raise RequestError("--out", f"cannot write ({exc.strerror or type(exc).__name__})") from None

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        table = frame.select(list(DECISIONS_SCHEMA)).to_arrow()
        self._wait()
        if self._writer is None:
            self._schema = table.schema
            self._writer = self._open(table.schema)
        self._pending = self._thread.submit(self._writer.write_table, table.cast(self._schema))

    def _wait(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def close(self) -> None:
        try:
            self._wait()
        finally:
            self._thread.shutdown()
            if self._writer is None:  # nothing decided: an empty file of the decisions' columns
                pl.DataFrame(schema=DECISIONS_SCHEMA).write_parquet(self.out)
            else:
                self._writer.close()


def write_errors(errors: list[RowError], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(ERROR_COLUMNS)
        for e in errors:
            out.writerow([e.row, e.id or "", e.field, e.code, e.problem])


def decide_file(
    requests: Path,
    out: Path,
    policies: PolicyRegistry,
    forced: PolicyVersion | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[BatchSummary, list[RowError]]:
    """Decide every request of `requests` (JSON Lines or Parquet) and write `out` (Parquet)."""
    start = time.perf_counter()
    summary = BatchSummary()
    decider = BatchDecider(policies, forced)
    errors: list[RowError] = []
    writer = DecisionWriter(out)
    try:
        for chunk in read_chunks(requests, policies, [forced] if forced is not None else None):
            decided, refused = decider.decide(chunk)
            writer.write(decided)
            errors += refused
            summary.rows += chunk.frame.height
            summary.decided += decided.height
            summary.refused += len(refused)
            summary.decisions.update(dict(decided["decision"].value_counts().iter_rows()))
            if progress is not None:
                progress(summary.rows)
    finally:
        writer.close()
        decider.close()
    summary.per_request = decider.per_request_rows
    summary.notes = dict(decider.unsupported)
    summary.seconds = time.perf_counter() - start
    return summary, errors
