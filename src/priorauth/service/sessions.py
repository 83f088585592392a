"""Web sessions: signing in with a token opens a server-side session; the browser holds only its random id.

    opened = open_session(session, token, idle=dt.timedelta(minutes=30), lifetime=dt.timedelta(hours=8))
    who = resume_session(session, opened.id, idle=dt.timedelta(minutes=30))   # -> Principal
    end_session(session, opened.id)                                            # sign-out

The id (256 random bits) is stored only as its SHA-256. A session ends at sign-out, after `idle`
without a request, `lifetime` after sign-in, or when its token is revoked or expires. A session
id is never a bearer token (it lacks the token prefix, and tokens are looked up elsewhere).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from priorauth.service.auth import authenticate, principal_of
from priorauth.service.errors import Unauthenticated
from priorauth.service.principal import Principal
from priorauth.store.models import ApiToken, WebSession

__all__ = ["SESSION_PREFIX", "OpenedSession", "end_session", "open_session", "resume_session", "session_digest"]

SESSION_PREFIX = "ws_"
SESSION_ID_LENGTH = len(SESSION_PREFIX) + 43  # token_urlsafe(32): 256 bits
# last_seen_at is written at most this often (and at most every quarter of the idle timeout), so
# pages do not each write to the database; a session may so end up to this much before `idle`.
SEEN_STEP = dt.timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """A new session: `id` goes into the browser's cookie and is never stored."""

    id: str
    principal: Principal
    expires_at: dt.datetime


def session_digest(session_id: str) -> str:
    return hashlib.sha256(("priorauth-web-session:" + session_id).encode("utf-8")).hexdigest()


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def open_session(
    session: Session, token: str | None, *, idle: dt.timedelta, lifetime: dt.timedelta, now: dt.datetime | None = None
) -> OpenedSession:
    """Sign in with a bearer token: a new session (commits); Unauthenticated for a bad, revoked or expired token.

    The session ends `lifetime` after now, or earlier when the token expires; ended sessions are deleted."""
    principal = authenticate(session, token)
    at = _now(now)
    expires_at = at + lifetime
    if principal.expires_at is not None:
        expires_at = min(expires_at, principal.expires_at)
    session_id = SESSION_PREFIX + secrets.token_urlsafe(32)
    session.execute(delete(WebSession).where(WebSession.expires_at <= at))
    session.execute(delete(WebSession).where(WebSession.last_seen_at <= at - idle))
    session.add(
        WebSession(id_sha256=session_digest(session_id), token_id=principal.token_id, created_at=at, last_seen_at=at,
                   expires_at=expires_at)
    )
    session.commit()
    return OpenedSession(session_id, principal, expires_at)


def resume_session(
    session: Session, session_id: str | None, *, idle: dt.timedelta, now: dt.datetime | None = None
) -> Principal:
    """The principal of a signed-in browser; Unauthenticated when the session is unknown, ended, idle for
    `idle` or longer, past its expiry, or its token is revoked or expired. May commit (last seen)."""
    if not session_id or len(session_id) != SESSION_ID_LENGTH or not session_id.startswith(SESSION_PREFIX):
        raise Unauthenticated("sign in again")
    at = _now(now)
    found = session.execute(
        select(WebSession, ApiToken)
        .join(ApiToken, ApiToken.id == WebSession.token_id)
        .where(WebSession.id_sha256 == session_digest(session_id))
    ).one_or_none()
    if found is None:
        raise Unauthenticated("sign in again")
    row, token = found
    if row.expires_at <= at or at - row.last_seen_at >= idle:
        raise Unauthenticated("sign in again")
    principal = principal_of(token, at)
    if at - row.last_seen_at >= min(SEEN_STEP, idle / 4):
        row.last_seen_at = at
        session.commit()
    return principal


def end_session(session: Session, session_id: str | None) -> None:
    """Sign out: the session is deleted, so its id no longer works anywhere (commits). Unknown ids are ignored."""
    if session_id and len(session_id) == SESSION_ID_LENGTH:
        session.execute(delete(WebSession).where(WebSession.id_sha256 == session_digest(session_id)))
        session.commit()
