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
        yield from _jsonl_chunks(path, fact_kinds(policies, extra_versions), _declared_everywhere(policies),
                                 chunk_rows or JSONL_CHUNK)


def _declared_everywhere(policies: PolicyRegistry) -> dict[str, frozenset[str]]:
    """Policy id -> the facts every one of its versions declares (known without reading the others' files)."""
    out = {}
    for policy in policies:
        sets = [frozenset(q.id for q in v.questions) for v in policy.versions]
        out[policy.id] = frozenset.intersection(*sets) if sets else frozenset()
    return out


def _column(name: str, values: list[Any], kind: str) -> pl.Series:
    """A fact's column from Python values already of its type (lists of codes through Arrow: much faster)."""
    if kind == "codes":
        import pyarrow as pa  # type: ignore[import-untyped]

        series = pl.from_arrow(pa.array(values, type=pa.large_list(pa.large_string())))
        assert isinstance(series, pl.Series)
        return series.alias(name).cast(pl.List(pl.String))
    return pl.Series(name, values, dtype=_DTYPES[kind], strict=False)


# --- JSON Lines -----------------------------------------------------------------------------


_EXACT: dict[str, tuple[type, ...]] = {
    "bool": (bool,),
    "int": (int,),
    "float": (float, int),
    "text": (str,),
    "date": (str,),
    "codes": (list,),
}
_TOP = frozenset(("id", "policy", "facts", "dosing"))
_EMPTY: dict[str, Any] = {}


def _fits(value: Any, kind: str) -> bool:
    """Whether a JSON value has the type its question takes (a bool is not a number)."""
    t = type(value)
    if t not in _EXACT[kind]:
        return False
    if kind == "float" and t is int:
        return -_FLOAT_EXACT <= value <= _FLOAT_EXACT
    if kind == "codes":
        return all(type(v) is str for v in value)
    return True


def _jsonl_chunks(path: Path, kinds: dict[str, str], everywhere: dict[str, frozenset[str]],
                  chunk_rows: int) -> Iterator[RequestChunk]:
    with path.open("rb") as handle:
        lines: list[bytes] = []
        first = 1
        number = 0
        for number, line in enumerate(handle, start=1):
            lines.append(line)
            if len(lines) >= chunk_rows:
                yield _jsonl_chunk(lines, first, kinds, everywhere)
                lines, first = [], number + 1
        if lines:
            yield _jsonl_chunk(lines, first, kinds, everywhere)


def _jsonl_chunk(lines: list[bytes], first: int, kinds: dict[str, str],
                 everywhere: dict[str, frozenset[str]]) -> RequestChunk:
    """Parse each line (orjson), then build each fact's column from every row at once."""
    rows: list[int] = []
    ids: list[str | None] = []
    policies: list[str | None] = []
    flags: list[bool] = []
    null_keys: list[list[str] | None] = []
    facts_of: list[dict[str, Any]] = []
    loads = orjson.loads
    for offset, line in enumerate(lines):
        if not line.strip():
            continue
        rows.append(first + offset)
        flag = False
        rid: str | None = None
        policy: Any = None
        facts: Any = _EMPTY
        odd: list[str] | None = None
        try:
            obj = loads(line)
        except orjson.JSONDecodeError:
            obj = None
        if type(obj) is dict:
            raw_id = obj.get("id")
            if raw_id is not None:
                if type(raw_id) is str:
                    rid = raw_id
                elif type(raw_id) is int:
                    rid = str(raw_id)
                else:
                    flag = True
            policy = obj.get("policy")
            if type(policy) is not str:
                policy, flag = None, True
            if not _TOP.issuperset(obj) or obj.get("dosing") is not None:
                flag = True
            facts = obj.get("facts", _EMPTY)
            if type(facts) is not dict:
                facts, flag = _EMPTY, True
            else:
                # A null is an unknown fact, but only for a fact of the policy: the others are checked.
                declared = everywhere.get(policy, frozenset())
                if not declared.issuperset(facts) and None in facts.values():
                    odd = [k for k, v in facts.items() if v is None and k not in declared] or None
        else:
            flag = True
        ids.append(rid)
        policies.append(policy)
        flags.append(flag)
        null_keys.append(odd)
        facts_of.append(facts)
    present: set[str] = set().union(*(f.keys() for f in facts_of)) if facts_of else set()
    for fact in present - kinds.keys():  # a fact no loaded policy declares
        for i, f in enumerate(facts_of):
            if fact in f:
                flags[i] = True
    data: dict[str, pl.Series] = {
        "_row": pl.Series("_row", rows, dtype=pl.Int64),
        "id": pl.Series("id", ids, dtype=pl.String),
        "policy": pl.Series("policy", policies, dtype=pl.String),
    }
    for fact in sorted(present & kinds.keys()):
        kind = kinds[fact]
        values = [f.get(fact) for f in facts_of]
        types = set(map(type, values))
        types.discard(type(None))
        if not types <= set(_EXACT[kind]) or kind in ("codes", "float"):
            for i, v in enumerate(values):
                if v is not None and not _fits(v, kind):
                    values[i], flags[i] = None, True
        if kind == "float":
            values = [float(v) if type(v) is int else v for v in values]
        data[fact] = _column(fact, values, kind)
    data["_flag"] = pl.Series("_flag", flags, dtype=pl.Boolean)
    data["_null_keys"] = pl.Series("_null_keys", null_keys, dtype=pl.List(pl.String))
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
