"""The criteria tree: `all` / `any` / `not` over leaf operators (priorauth.core._operators)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from priorauth.core._operators import COMPOSITE_OPERATORS, OPERATORS
from priorauth.core._policy.base import Strict


@dataclass(frozen=True, slots=True)
class Leaf:
    """A leaf test: the operator's name and its validated argument."""

    operator: str
    argument: Any


class Criterion(Strict):
    """A node of the criteria tree: exactly one operator, composite or leaf."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str
    section: str
    text: str
    reading: str | None = None
    evidence: list[str] = Field(default_factory=list)
    # A guard selects its branch: a denial lists a branch that fails on its guard by its failed guards alone
    # (a kind of request, initial or renewal, that fails on its guard is left out: docs/architecture.md).
    guard: bool = False
    all: list[Criterion] | None = None
    any: list[Criterion] | None = None
    not_: Criterion | None = Field(default=None, alias="not")
    leaf: Leaf | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _leaf_operator(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "leaf" in data:
            raise ValueError("unknown key 'leaf'")
        leaves = [key for key in data if key in OPERATORS]
        composites = [key for key in data if key in COMPOSITE_OPERATORS]
        cid = data.get("id")
        if len(leaves) + len(composites) != 1:
            raise ValueError(
                f"criterion {cid!r} needs exactly one operator of "
                f"{', '.join((*COMPOSITE_OPERATORS, *OPERATORS))}; found {leaves + composites or 'none'}"
            )
        if leaves:
            data = dict(data)
            name = leaves[0]
            try:
                argument = OPERATORS[name].parse(data.pop(name))
            except ValueError as exc:
                raise ValueError(f"criterion {cid!r}: `{name}` {exc}") from None
            data["leaf"] = Leaf(name, argument)
        return data

    @model_validator(mode="after")
    def _children(self) -> Criterion:
        for op in ("all", "any"):
            if getattr(self, op) is not None and not getattr(self, op):
                raise ValueError(f"criterion {self.id!r}: `{op}` needs at least one child")
        return self

    @property
    def operator(self) -> str:
        if self.leaf is not None:
            return self.leaf.operator
        if self.all is not None:
            return "all"
        if self.any is not None:
            return "any"
        return "not"

    @property
    def children(self) -> list[Criterion]:
        if self.all is not None:
            return self.all
        if self.any is not None:
            return self.any
        if self.not_ is not None:
            return [self.not_]
        return []


def walk(node: Criterion, path: str = "criteria") -> Iterator[tuple[str, Criterion]]:
    """(path, criterion) for every node, depth first."""
    yield path, node
    op = node.operator
    for i, child in enumerate(node.children):
        yield from walk(child, f"{path}.{op}[{i}]" if op != "not" else f"{path}.not")
