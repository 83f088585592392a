"""Errors of the service layer; each door maps them to its own answer (HTTP status, exit code)."""

from __future__ import annotations

from priorauth.core import ErrorCode, PriorAuthError


class ServiceError(PriorAuthError):
    """Base; `code` is stable, `status` is the HTTP status the REST door answers with."""

    code = ErrorCode.SERVICE_ERROR
    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Unauthenticated(ServiceError):
    """No token, or a token that is unknown or revoked."""

    code = ErrorCode.UNAUTHENTICATED
    status = 401


class Forbidden(ServiceError):
    """The caller's role may not do this."""

    code = ErrorCode.FORBIDDEN
    status = 403


class NotFound(ServiceError):
    """No such request, or one outside the caller's organisation (indistinguishable on purpose)."""

    code = ErrorCode.NOT_FOUND
    status = 404


class VersionConflict(ServiceError):
    """The request changed since the caller read it (expected_version is stale)."""

    code = ErrorCode.VERSION_CONFLICT
    status = 409


class StateConflict(ServiceError):
    """The request is not in a state that allows this action (e.g. already decided)."""

    code = ErrorCode.STATE_CONFLICT
    status = 409


class IdempotencyKeyReused(ServiceError):
    """The Idempotency-Key was already used for a different request body."""

    code = ErrorCode.IDEMPOTENCY_KEY_REUSED
    status = 422
