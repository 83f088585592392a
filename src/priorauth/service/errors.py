"""Errors of the service layer; each door maps them to its own answer (HTTP status, exit code)."""

from __future__ import annotations

from priorauth.errors import PriorAuthError


class ServiceError(PriorAuthError):
    """Base; `code` is stable, `status` is the HTTP status the REST door answers with."""

    code = "service_error"
    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Unauthenticated(ServiceError):
    """No token, or a token that is unknown or revoked."""

    code = "unauthenticated"
    status = 401


class Forbidden(ServiceError):
    """The caller's role may not do this."""

    code = "forbidden"
    status = 403


class NotFound(ServiceError):
    """No such request, or one outside the caller's organisation (indistinguishable on purpose)."""

    code = "not_found"
    status = 404


class VersionConflict(ServiceError):
    """The request changed since the caller read it (expected_version is stale)."""

    code = "version_conflict"
    status = 409


class StateConflict(ServiceError):
    """The request is not in a state that allows this action (e.g. already decided)."""

    code = "state_conflict"
    status = 409


class IdempotencyKeyReused(ServiceError):
    """The Idempotency-Key was already used for a different request body."""

    code = "idempotency_key_reused"
    status = 422
