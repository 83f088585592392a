"""Errors a user of priorauth can get, each with a stable code."""

from __future__ import annotations


class PriorAuthError(Exception):
    """Base class; `code` is stable, the message may change."""

    code = "priorauth_error"


class PolicyError(PriorAuthError):
    """A policy file is malformed; the message names the file, the path in it and the problem."""

    code = "policy_invalid"


class RequestError(PriorAuthError):
    """A request cannot be decided as given; names the field and the problem, never its value."""

    def __init__(self, field: str, problem: str, code: str = "request_invalid") -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
        self.code = code

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "problem": self.problem}
