"""Values the core computes from fact values, computed once per distinct value of the facts it reads.

Used for what is not a function of the criteria's statuses: the routing of a request the
policy does not govern, and an approval's authorization end when its terms have no column
form (priorauth.batch.authorization).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl


class _Recorder(dict):
    """Facts that note which of them are read (a read of everything: `everything`)."""

    def __init__(self, facts: dict[str, Any]) -> None:
        super().__init__(facts)
        self.read: dict[str, None] = {}  # in the order first read
        self.everything = False

    def get(self, key: str, default: Any = None) -> Any:
        self.read[key] = None
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read[key] = None
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read[str(key)] = None
        return super().__contains__(key)

    def _all(self) -> None:
        self.everything = True

    def keys(self) -> Any:
        self._all()
        return super().keys()

    def values(self) -> Any:
        self._all()
        return super().values()

    def items(self) -> Any:
        self._all()
        return super().items()

    def __iter__(self) -> Any:
        self._all()
        return super().__iter__()

    def __len__(self) -> int:
        self._all()
        return super().__len__()

    def copy(self) -> dict[str, Any]:
        self._all()
        return dict(super().items())


def hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _key_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    """A join key for a column (lists joined as text)."""
    if isinstance(dtype, pl.List):
        return pl.col(name).list.join("\x1f")
    return pl.col(name)


@dataclass(frozen=True, slots=True)
class _Refine:
    """Rows with this tuple take a path that reads more facts: look them up by `reads`."""

    reads: frozenset[str]


class ReadGroups:
    """Values computed by the core once per distinct value of the facts the computation reads.

    The core is called on one row of each distinct tuple of the facts read so far, in a
    mapping that records its reads in order. A call that reads only those facts answers for
    every row with the same tuple (same values read, same path through the same code); a
    call that reads another fact next sends the rows of its tuple on to be grouped by that
    fact too (rows that agree on every fact read so far read the same fact next). So an
    initial request's period is looked up by its decision date and type alone while a
    renewal's reads its course too, and nothing about the computation is assumed.
    """

    def __init__(self) -> None:
        # read set -> (values of those facts, in vocabulary order) -> answer or _Refine
        self.tables: dict[frozenset[str], dict[tuple, Any]] = {frozenset(): {}}
        self.calls = 0

    def apply(self, frame: pl.DataFrame, vocabulary: list[str], compute: Callable[[dict[str, Any]], Any],
              dtype: Any) -> pl.Series:
        """The computed value for every row of `frame` (in its order)."""
        order = {f: i for i, f in enumerate(vocabulary)}
        pending: dict[frozenset[str], pl.DataFrame] = {frozenset(): frame.select(vocabulary).with_row_index("_i")}
        done: list[pl.DataFrame] = []
        while pending:
            reads = min(pending, key=len)
            rows = pending.pop(reads)
            names = sorted(reads, key=order.__getitem__)
            table = self.tables.setdefault(reads, {})
            distinct = rows.unique(subset=names, keep="first") if names else rows.head(1)
            lists = any(isinstance(rows.schema[n], pl.List) for n in names)
            keys = distinct.select(names).rows() if names else [()]
            if lists:
                keys = [tuple(hashable(v) for v in k) for k in keys]
            fresh = [i for i, k in enumerate(keys) if k not in table]
            if fresh:
                for i, row in zip(fresh, distinct[fresh].select(vocabulary).to_dicts(), strict=True):
                    self._call(reads, keys[i], row, vocabulary, order, compute)
            entries = [table[k] for k in keys]
            if not names:
                entry = entries[0]
                if isinstance(entry, _Refine):
                    pending[entry.reads] = rows
                else:
                    done.append(rows.select("_i", pl.lit(entry, dtype=dtype).alias("_value")))
                continue
            onward = sorted({e.reads for e in entries if isinstance(e, _Refine)}, key=sorted)
            step = {r: k for k, r in enumerate(onward)}
            mapping = distinct.select([_key_expr(n, rows.schema[n]) for n in names]).with_columns(
                pl.Series("_value", [None if isinstance(e, _Refine) else e for e in entries], dtype=dtype),
                pl.Series("_next", [step[e.reads] if isinstance(e, _Refine) else None for e in entries],
                          dtype=pl.Int32),
            )
            keyed = rows.with_columns([_key_expr(n, rows.schema[n]).alias(f"_key_{n}") for n in names])
            joined = keyed.join(
                mapping.rename({n: f"_key_{n}" for n in names}), on=[f"_key_{n}" for n in names], how="left",
                nulls_equal=True,
            ).drop([f"_key_{n}" for n in names])
            done.append(joined.filter(pl.col("_next").is_null()).select("_i", "_value"))
            for k, wider in enumerate(onward):
                part = joined.filter(pl.col("_next") == k).drop("_value", "_next")
                pending[wider] = pl.concat([pending[wider], part]) if wider in pending else part
        return pl.concat(done).sort("_i")["_value"]

    def _call(self, reads: frozenset[str], key: tuple, row: dict[str, Any], vocabulary: list[str],
              order: dict[str, int], compute: Callable[[dict[str, Any]], Any]) -> None:
        """Call the core on one row; note its answer, or the path to it one more fact read at a time."""
        facts = _Recorder({f: v for f, v in row.items() if v is not None})
        answer = compute(facts)
        self.calls += 1
        read = list(vocabulary) if facts.everything else [f for f in facts.read if f in order]
        at = reads
        for fact in read:
            if fact in at:
                continue
            wider = frozenset(at | {fact})
            self.tables.setdefault(at, {})[key] = _Refine(wider)
            at = wider
            key = tuple(hashable(row[f]) for f in sorted(at, key=order.__getitem__))
        self.tables.setdefault(at, {})[key] = answer
