"""Request histories read in chunks: JSON Lines of contract requests, or Parquet with one column per fact.

A chunk is a Polars frame with `_row` (the 1-based line or row number), `id`, `policy`,
`_flag` (true: the row cannot be taken column-wise as it is; the per-request path decides
or refuses it), `_null_keys` (facts given as JSON null, which still have to be facts of the
policy) and one column per fact. Each chunk can give back any of its rows as the contract
request it stands for (`raw`), which is what the per-request path is given.

- JSON Lines: one request per line, `{"id": ..., "policy": ..., "facts": {...}, "dosing": {...}}`
  (`id` and `dosing` optional). Values are kept with their JSON types: a value whose type
  is not the one its question takes (a string for a boolean, a float for an integer) flags
  its row, so the per-request path names the problem exactly as `priorauth evaluate` would.
  A row with a `dosing` block is flagged too: its dose check is the per-request path's.
- Parquet: columns `id` (optional), `policy` and one per fact; a null is an unknown fact.
  Row `k` stands for `{"policy": ..., "facts": {each non-null fact column: its value}}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from priorauth.batch.plan import KIND
from priorauth.core import ErrorCode, PolicyRegistry, RequestError

SYSTEM_COLUMNS = ("_row", "id", "policy", "_flag", "_null_keys")
JSONL_CHUNK = 250_000
PARQUET_CHUNK = 1_000_000
_DTYPES: dict[str, Any] = {
    "bool": pl.Boolean,
    "int": pl.Int64,
    "float": pl.Float64,
    "text": pl.String,
    "date": pl.String,
    "codes": pl.List(pl.String),
}
_FLOAT_EXACT = 2**53


@dataclass
class RequestChunk:
    frame: pl.DataFrame
    raw: Callable[[int], Any]  # row number -> the contract request it stands for (without `id`)


def input_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise RequestError("REQUESTS", "expected a .jsonl (JSON Lines) or .parquet file")


def fact_kinds(policies: PolicyRegistry, extra: list[Any] | None = None) -> dict[str, str]:
    """The column kind of every fact any loaded version declares (first declaration wins)."""
    kinds: dict[str, str] = {}
    versions = [v for p in policies for v in p.versions] + list(extra or [])
    for version in versions:
        for q in version.questions:
            kinds.setdefault(q.id, KIND.get(q.type, "text"))
    return kinds


def read_chunks(path: Path, policies: PolicyRegistry, extra_versions: list[Any] | None = None,
                chunk_rows: int | None = None) -> Iterator[RequestChunk]:
    """The file's requests, chunk by chunk (RequestError naming the file when it cannot be read)."""
    if not path.is_file():
        raise RequestError("REQUESTS", f"{path}: no such file")
    if input_format(path) == "parquet":
        yield from _parquet_chunks(path, chunk_rows or PARQUET_CHUNK)
    else:
        yield from _jsonl_chunks(path, fact_kinds(policies, extra_versions), chunk_rows or JSONL_CHUNK)


# --- JSON Lines -----------------------------------------------------------------------------


def _kind_of(value: Any, kind: str) -> Any:
    """The value in its column's terms, or raise TypeError when its JSON type is not the question's."""
    t = type(value)
    if kind == "bool":
        if t is bool:
            return value
    elif kind == "int":
        if t is int:
            return value
    elif kind == "float":
        if t is float or (t is int and -_FLOAT_EXACT <= value <= _FLOAT_EXACT):
            return float(value)
    elif kind in ("text", "date"):
        if t is str:
            return value
    elif kind == "codes":
        if t is list and all(type(v) is str for v in value):
            return value
    raise TypeError


def _jsonl_chunks(path: Path, kinds: dict[str, str], chunk_rows: int) -> Iterator[RequestChunk]:
    with path.open("rb") as handle:
        lines: list[bytes] = []
        first = 1
        number = 0
        for number, line in enumerate(handle, start=1):
            lines.append(line)
            if len(lines) >= chunk_rows:
                yield _jsonl_chunk(lines, first, kinds)
                lines, first = [], number + 1
        if lines:
            yield _jsonl_chunk(lines, first, kinds)


def _jsonl_chunk(lines: list[bytes], first: int, kinds: dict[str, str]) -> RequestChunk:
    rows: list[int] = []
    ids: list[str | None] = []
    policies: list[str | None] = []
    flags: list[bool] = []
    null_keys: list[list[str] | None] = []
    columns: dict[str, list[Any]] = {}
    loads = orjson.loads
    n = 0
    for offset, line in enumerate(lines):
        if not line.strip():
            continue
        rows.append(first + offset)
        flag = False
        nulls: list[str] | None = None
        rid: str | None = None
        policy: str | None = None
        try:
            obj = loads(line)
        except orjson.JSONDecodeError:
            obj = None
            flag = True
        if isinstance(obj, dict):
            raw_id = obj.get("id")
            if isinstance(raw_id, str | int) and not isinstance(raw_id, bool):
                rid = str(raw_id)
            elif raw_id is not None:
                flag = True
            raw_policy = obj.get("policy")
            policy = raw_policy if isinstance(raw_policy, str) else None
            if policy is None or obj.get("dosing") is not None:
                flag = True
            for key in obj:
                if key not in ("id", "policy", "facts", "dosing"):
                    flag = True
            facts = obj.get("facts", {})
            if isinstance(facts, dict):
                for fact, value in facts.items():
                    kind = kinds.get(fact)
                    if kind is None:
                        flag = True
                        continue
                    if value is None:
                        nulls = [*(nulls or []), fact]
                        continue
                    try:
                        typed = _kind_of(value, kind)
                    except TypeError:
                        flag = True
                        continue
                    column = columns.get(fact)
                    if column is None:
                        column = columns[fact] = [None] * n
                    column.append(typed)
            else:
                flag = True
        elif obj is not None or not flag:
            flag = True
        n += 1
        ids.append(rid)
        policies.append(policy)
        flags.append(flag)
        null_keys.append(nulls)
        for column in columns.values():
            if len(column) < n:
                column.append(None)
    data: dict[str, pl.Series] = {
        "_row": pl.Series("_row", rows, dtype=pl.Int64),
        "id": pl.Series("id", ids, dtype=pl.String),
        "policy": pl.Series("policy", policies, dtype=pl.String),
        "_flag": pl.Series("_flag", flags, dtype=pl.Boolean),
        "_null_keys": pl.Series("_null_keys", null_keys, dtype=pl.List(pl.String)),
    }
    for fact, values in columns.items():
        data[fact] = pl.Series(fact, values, dtype=_DTYPES[kinds[fact]], strict=False)
    frame = pl.DataFrame(data)

    def raw(row: int) -> Any:
        line = lines[row - first]
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = f" at line 1 column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            return Refused("request", f"not valid JSON{where}", ErrorCode.INVALID_JSON)
        if isinstance(obj, dict) and "id" in obj:
            given = obj.pop("id")
            if given is not None and (isinstance(given, bool) or not isinstance(given, str | int)):
                return Refused("id", "expected text or a whole number")
        return obj

    return RequestChunk(frame, raw)


@dataclass(frozen=True)
class Refused:
    """A line refused before it is a request: not JSON (as `priorauth evaluate` refuses such a
    file), or an `id` that is neither text nor a whole number."""

    field: str
    problem: str
    code: str = ErrorCode.REQUEST_INVALID

    def error(self) -> RequestError:
        return RequestError(self.field, self.problem, self.code)


# --- Parquet --------------------------------------------------------------------------------


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[RequestChunk]:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    try:
        meta = pq.read_metadata(path)
        names = pq.read_schema(path).names
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a file that is not Parquet
        raise RequestError("REQUESTS", f"{path}: not a readable Parquet file ({type(exc).__name__})") from None
    if "policy" not in names:
        raise RequestError("REQUESTS", f"{path}: a Parquet request history needs a `policy` column")
    scan = pl.scan_parquet(path)
    for first in range(0, meta.num_rows, chunk_rows):
        yield _parquet_chunk(scan.slice(first, chunk_rows).collect(), first + 1)


def _parquet_chunk(frame: pl.DataFrame, first: int) -> RequestChunk:
    facts = [c for c in frame.columns if c not in ("id", "policy")]
    policy = frame["policy"]
    if policy.dtype in (pl.Categorical,) or isinstance(policy.dtype, pl.Enum):
        policy = policy.cast(pl.String)
    flag = pl.repeat(False, frame.height, eager=True)
    if policy.dtype != pl.String:
        policy, flag = pl.repeat(None, frame.height, dtype=pl.String, eager=True), ~flag
    ids = frame["id"].cast(pl.String) if "id" in frame.columns else pl.repeat(None, frame.height, dtype=pl.String,
                                                                              eager=True)
    out = frame.select(facts).with_columns(
        _row=pl.int_range(first, first + frame.height, dtype=pl.Int64),
        id=ids,
        policy=policy,
        _flag=flag,
        _null_keys=pl.lit(None, dtype=pl.List(pl.String)),
    )

    def raw(row: int) -> Any:
        values = frame.row(row - first, named=True)
        return {
            "policy": values["policy"],
            "facts": {k: values[k] for k in facts if values[k] is not None},
        }

    return RequestChunk(out, raw)
