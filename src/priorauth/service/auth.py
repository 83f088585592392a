"""Bearer tokens (stored as SHA-256 only), roles and the principal behind each call."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from priorauth.core import RequestError
from priorauth.service.audit import append_event
from priorauth.service.errors import NotFound, Unauthenticated
from priorauth.service.principal import ENGINE, ROLES, SYSTEM, Principal
from priorauth.store.models import ApiToken

__all__ = ["ENGINE", "ROLES", "SYSTEM", "IssuedToken", "Principal", "authenticate", "create_token", "list_tokens",
           "revoke_token", "token_digest"]
TOKEN_PREFIX = "pa_"
ORG_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: `secret` is shown once and never stored."""

    id: str
    secret: str
    role: str
    org: str
    label: str
    created_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "token": self.secret,
            "role": self.role,
            "org": self.org,
            "label": self.label,
            "created_at": self.created_at.isoformat(),
        }


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def authenticate(session: Session, token: str | None) -> Principal:
    """The principal of a bearer token; Unauthenticated when missing, unknown or revoked."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthenticated("a valid bearer token is required")
    row = session.execute(select(ApiToken).where(ApiToken.token_sha256 == token_digest(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("a valid bearer token is required")
    return Principal(token_id=row.id, role=row.role, org=row.org, label=row.label)


def _check_token_fields(role: str, org: str, label: str) -> None:
    if role not in ROLES:
        raise RequestError("role", f"not one of {', '.join(ROLES)}")
    if not isinstance(org, str) or not ORG_PATTERN.match(org):
        raise RequestError("org", "expected 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if not isinstance(label, str) or len(label) > 200:
        raise RequestError("label", "expected a string of at most 200 characters")
    if "\x00" in label:
        raise RequestError("label", "contains a NUL character")


def create_token(session: Session, role: str, org: str, label: str = "", principal: Principal = SYSTEM) -> IssuedToken:
    """Issue a token (admins only); commits; the secret is in the result only."""
    principal.require("admin")
    _check_token_fields(role, org, label)
    now = dt.datetime.now(dt.UTC)
    token_id = "tok_" + secrets.token_hex(8)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(id=token_id, token_sha256=token_digest(secret), role=role, org=org, label=label, created_at=now)
    )
    append_event(session, principal, "token_create", detail={"token": token_id, "role": role, "org": org}, at=now)
    session.commit()
    return IssuedToken(token_id, secret, role, org, label, now)


def list_tokens(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Every token's id, role, organisation and dates (never the secret); admins only."""
    principal.require("admin")
    rows = session.execute(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)).scalars()
    return [
        {
            "id": r.id,
            "role": r.role,
            "org": r.org,
            "label": r.label,
            "created_at": r.created_at.isoformat(),
            "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
        }
        for r in rows
    ]


def revoke_token(session: Session, principal: Principal, token_id: str) -> None:
    """Revoke a token (admins only); commits. Revoking twice is harmless."""
    principal.require("admin")
    row = session.get(ApiToken, token_id) if len(token_id) <= 32 and "\x00" not in token_id else None
    if row is None:
        raise NotFound("no such token")
    if row.revoked_at is None:
        now = dt.datetime.now(dt.UTC)
        row.revoked_at = now
        append_event(session, principal, "token_revoke", detail={"token": token_id}, at=now)
    session.commit()
