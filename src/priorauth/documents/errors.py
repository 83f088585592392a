"""The one error of the document reader: what it could not read, each problem named by line."""

from __future__ import annotations

from priorauth.core import ErrorCode, PriorAuthError


class DocumentError(PriorAuthError):
    """A document that is empty, binary, not of the plan's template, or has parts the reader cannot read.

    `problems` holds one line per problem (`line 112: ...`); the message is the first,
    with a count of the others.
    """

    code = ErrorCode.DOCUMENT_INVALID

    def __init__(self, *problems: str) -> None:
        self.problems: tuple[str, ...] = problems or ("the document cannot be read",)
        more = len(self.problems) - 1
        super().__init__(self.problems[0] + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""))
