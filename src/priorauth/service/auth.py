"""Bearer tokens (stored as SHA-256 only), roles and the principal behind each call."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from priorauth.core import RequestError
from priorauth.service.audit import append_event
from priorauth.service.errors import NotFound, Unauthenticated
from priorauth.service.principal import ENGINE, ROLES, SYSTEM, Principal
from priorauth.store.models import ApiToken, WebSession

__all__ = ["ENGINE", "ROLES", "SYSTEM", "IssuedToken", "Principal", "authenticate", "create_token", "list_tokens",
           "parse_expires_in", "revoke_token", "token_digest"]
TOKEN_PREFIX = "pa_"
ORG_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
EXPIRES_IN_PATTERN = re.compile(r"^([1-9][0-9]{0,5})([dhm])$")
EXPIRES_IN_UNITS = {"d": dt.timedelta(days=1), "h": dt.timedelta(hours=1), "m": dt.timedelta(minutes=1)}
MAX_EXPIRES_IN = dt.timedelta(days=3650)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: `secret` is shown once and never stored."""

    id: str
    secret: str
    role: str
    org: str
    label: str
    created_at: dt.datetime
    expires_at: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "token": self.secret,
            "role": self.role,
            "org": self.org,
            "label": self.label,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


def parse_expires_in(text: str) -> dt.timedelta:
    """`90d`, `12h` or `30m` as a duration (at most 3650 days); RequestError naming `expires_in` otherwise."""
    match = EXPIRES_IN_PATTERN.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise RequestError("expires_in", "expected a whole number of days, hours or minutes, such as 90d, 12h or 30m")
    duration = int(match.group(1)) * EXPIRES_IN_UNITS[match.group(2)]
    if duration > MAX_EXPIRES_IN:
        raise RequestError("expires_in", "at most 3650 days")
    return duration


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def principal_of(row: ApiToken, now: dt.datetime | None = None) -> Principal:
    """The principal of a stored token; Unauthenticated when it is revoked or has expired."""
    expired = row.expires_at is not None and row.expires_at <= (now or dt.datetime.now(dt.UTC))
    if row.revoked_at is not None or expired:
        raise Unauthenticated("a valid bearer token is required")
    return Principal(token_id=row.id, role=row.role, org=row.org, label=row.label, expires_at=row.expires_at)


def authenticate(session: Session, token: str | None) -> Principal:
    """The principal of a bearer token; Unauthenticated when missing, unknown, revoked or expired."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthenticated("a valid bearer token is required")
    row = session.execute(select(ApiToken).where(ApiToken.token_sha256 == token_digest(token))).scalar_one_or_none()
    if row is None:
        raise Unauthenticated("a valid bearer token is required")
    return principal_of(row)


def _check_token_fields(role: str, org: str, label: str) -> None:
    if role not in ROLES:
        raise RequestError("role", f"not one of {', '.join(ROLES)}")
    if not isinstance(org, str) or not ORG_PATTERN.match(org):
        raise RequestError("org", "expected 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if not isinstance(label, str) or len(label) > 200:
        raise RequestError("label", "expected a string of at most 200 characters")
    if "\x00" in label:
        raise RequestError("label", "contains a NUL character")


def create_token(
    session: Session, role: str, org: str, label: str = "", principal: Principal = SYSTEM,
    expires_in: dt.timedelta | None = None,
) -> IssuedToken:
    """Issue a token (admins only), valid for `expires_in` if given, else until revoked; commits;
    the secret is in the result only."""
    principal.require("admin")
    _check_token_fields(role, org, label)
    if expires_in is not None and not (dt.timedelta(0) < expires_in <= MAX_EXPIRES_IN):
        raise RequestError("expires_in", "expected a positive duration of at most 3650 days")
    now = dt.datetime.now(dt.UTC)
    expires_at = now + expires_in if expires_in is not None else None
    token_id = "tok_" + secrets.token_hex(8)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(id=token_id, token_sha256=token_digest(secret), role=role, org=org, label=label, created_at=now,
                 expires_at=expires_at)
    )
    detail: dict[str, Any] = {"token": token_id, "role": role, "org": org}
    if expires_at is not None:
        detail["expires_at"] = expires_at.isoformat()
    append_event(session, principal, "token_create", detail=detail, at=now)
    session.commit()
    return IssuedToken(token_id, secret, role, org, label, now, expires_at)


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
            "expires_at": r.expires_at.isoformat() if r.expires_at else None,
        }
        for r in rows
    ]


def revoke_token(session: Session, principal: Principal, token_id: str) -> None:
    """Revoke a token (admins only), ending its web sessions; commits. Revoking twice is harmless."""
    principal.require("admin")
    row = session.get(ApiToken, token_id) if len(token_id) <= 32 and "\x00" not in token_id else None
    if row is None:
        raise NotFound("no such token")
    if row.revoked_at is None:
        now = dt.datetime.now(dt.UTC)
        row.revoked_at = now
        append_event(session, principal, "token_revoke", detail={"token": token_id}, at=now)
    session.execute(delete(WebSession).where(WebSession.token_id == token_id))
    session.commit()
