"""FastAPI dependencies shared by every router (REST, FHIR, web): database session, caller, JSON body.

from priorauth.http.deps import SessionDep, PrincipalDep, JsonBody

@router.get("/thing")
def thing(session: SessionDep, principal: PrincipalDep): ...
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from priorauth.core import load_json
from priorauth.service import Principal, authenticate, token_digest
from priorauth.store.db import Database

# How long a verified token is trusted without asking the database again. Revoking through
# the API clears this process's cache at once; other processes notice within this time.
TOKEN_CACHE_SECONDS = 5.0


class TokenCache:
    """token digest -> (principal, verified at)."""

    def __init__(self, ttl: float = TOKEN_CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None or time.monotonic() - entry[1] > self.ttl:
            return None
        return entry[0]

    def put(self, digest: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (principal, time.monotonic())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def database(request: Request) -> Database:
    return request.app.state.db


def session(request: Request) -> Iterator[Session]:
    """A session for this request; service functions commit, the rest is rolled back."""
    with request.app.state.db.session() as s:
        yield s


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _authenticate(db: Database, token: str | None) -> Principal:
    with db.session() as s:
        return authenticate(s, token)


async def principal(request: Request) -> Principal:
    """The authenticated caller (401 problem otherwise); verified tokens are cached briefly, never past their expiry."""
    token = bearer_token(request)
    cache: TokenCache = request.app.state.token_cache
    digest = token_digest(token) if token else ""
    hit = cache.get(digest) if token else None
    if hit is not None and not hit.expired():
        return hit
    who = await run_in_threadpool(_authenticate, request.app.state.db, token)
    cache.put(digest, who)
    return who


async def json_body(request: Request) -> Any:
    """The parsed JSON body: 400 problem for anything that is not JSON or nests too deep (core load_json)."""
    return load_json(await request.body())


SessionDep = Annotated[Session, Depends(session)]
PrincipalDep = Annotated[Principal, Depends(principal)]
JsonBody = Annotated[Any, Depends(json_body)]
