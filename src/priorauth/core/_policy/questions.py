"""The fact vocabulary: the questions a request answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from priorauth.core._policy.base import Strict

QuestionType = Literal["boolean", "choice", "date", "string", "integer", "number", "code_list", "state"]


class Question(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: QuestionType
    text: str
    values: list[str] | None = None
    default: str | None = None
    code_system: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    phi: bool = False
    reading: str | None = None
    # A date question: the date fact it cannot be after (a birth date after the request date).
    not_after: str | None = None
    # For a question no criterion reads: asked only when another fact has one of these values.
    asked_when: dict[str, list[Any]] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.type == "choice" and not self.values:
            raise ValueError("a choice question needs `values`")
        if self.type != "choice" and self.values is not None:
            raise ValueError("only a choice question has `values`")
        if self.default is not None and self.values is not None and self.default not in self.values:
            raise ValueError(f"default {self.default!r} is not one of the values")
        if (self.minimum is not None or self.maximum is not None) and self.type not in ("integer", "number"):
            raise ValueError("only an integer or number question has `minimum` or `maximum`")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is above maximum")
        return self
