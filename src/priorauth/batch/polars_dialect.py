"""The column plan's operations in Polars (priorauth.batch.plan's Dialect), and the month rule per distinct date."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from priorauth.batch.plan import VersionPlan


class PolarsDialect:
    """The plan's column operations in Polars (nulls propagate; `&`, `|`, `~` are Kleene)."""

    def col(self, name: str) -> pl.Expr:
        return pl.col(name)

    def known(self, value: pl.Expr, result: pl.Expr) -> pl.Expr:
        return pl.when(value.is_not_null()).then(result)

    def const(self, value: bool) -> pl.Expr:
        return pl.lit(value, dtype=pl.Boolean)

    def lit(self, value: Any) -> pl.Expr:
        return pl.lit(value)

    def is_null(self, value: pl.Expr) -> pl.Expr:
        return value.is_null()

    def fill_false(self, value: pl.Expr) -> pl.Expr:
        return value.fill_null(False)

    def when(self, cases: list[tuple[pl.Expr, pl.Expr]], otherwise: pl.Expr | None = None) -> pl.Expr:
        (first, then), *rest = cases
        chain: Any = pl.when(first).then(then)
        for condition, value in rest:
            chain = chain.when(condition).then(value)
        return chain.otherwise(otherwise) if otherwise is not None else chain

    def whole(self, value: pl.Expr) -> pl.Expr:
        return value.cast(pl.Int64)

    def status_code(self, value: pl.Expr) -> pl.Expr:
        return (value.cast(pl.Int64) + 1).fill_null(0)

    def sum_of(self, values: list[pl.Expr]) -> pl.Expr:
        return pl.sum_horizontal(values).cast(pl.Int64)

    def day_before(self, day: pl.Expr) -> pl.Expr:
        return day - pl.duration(days=1)

    def earliest(self, a: pl.Expr, b: pl.Expr) -> pl.Expr:
        return pl.min_horizontal(a, b)

    def unknown(self) -> pl.Expr:
        return pl.lit(None, dtype=pl.Boolean)

    def eq(self, value: pl.Expr, literal: Any) -> pl.Expr:
        return value == pl.lit(literal)

    def isin(self, value: pl.Expr, literals: Sequence[Any]) -> pl.Expr:
        return pl.when(value.is_not_null()).then(value.is_in(list(literals)))

    def lt(self, left: pl.Expr, right: Any) -> pl.Expr:
        return left < right

    def le(self, left: pl.Expr, right: Any) -> pl.Expr:
        return left <= right

    def ge(self, left: pl.Expr, right: Any) -> pl.Expr:
        return left >= right

    def and_(self, a: pl.Expr, b: pl.Expr) -> pl.Expr:
        return a & b

    def all_of(self, values: list[pl.Expr]) -> pl.Expr:
        return pl.all_horizontal(values)

    def any_of(self, values: list[pl.Expr]) -> pl.Expr:
        return pl.any_horizontal(values)

    def not_(self, value: pl.Expr) -> pl.Expr:
        return ~value

    def months_after(self, day: pl.Expr, months: int) -> pl.Expr:
        # offset_by clips to the month's end; the contract moves a missing day to the 1st of the next month.
        same = day.dt.offset_by(f"{months}mo")
        return pl.when(same.dt.day() == day.dt.day()).then(same).otherwise(same.dt.offset_by("1d"))

    def reached(self, fact: str, months: int, day: pl.Expr) -> pl.Expr:
        # months_after of each row's date, in a column made beforehand (`month_columns`).
        return pl.col(month_column(fact, months)) <= day

    def any_code_in(self, codes: pl.Expr, listed: Sequence[str]) -> pl.Expr:
        return codes.list.eval(pl.element().is_in(list(listed))).list.any()


POLARS = PolarsDialect()


def month_column(fact: str, months: int) -> str:
    return f"_months:{fact}:{months}"


def month_columns(rows: pl.DataFrame, plan: VersionPlan) -> pl.DataFrame:
    """`months_after(fact, months)` for each month rule of the plan, as columns: computed once per
    distinct date (a few thousand) and looked up for every row."""
    made = []
    for fact, months in plan.month_rules():
        days = rows[fact].drop_nulls().unique()
        after = days.to_frame().select(POLARS.months_after(pl.col(fact), months)).to_series()
        made.append(rows[fact].replace_strict(days, after, default=None, return_dtype=pl.Date)
                    .alias(month_column(fact, months)))
    return rows.with_columns(made) if made else rows
