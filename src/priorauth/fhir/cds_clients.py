"""CDS Hooks clients trusted by JWT (CDS Hooks 2.0, "Trusting CDS Clients").

An EHR calling a hook sends `Authorization: Bearer <JWT>` signed with one of its keys. A
client is registered by the issuer (`iss`) of its JWTs with its JWK Set, given inline (a
file read at registration) or as a URL fetched when needed (`priorauth cds-clients add`).
A call is accepted when the JWT's header names a key of that set (`kid`), its signature is
RS384 or ES384 and verifies, `aud` is the URL of the service called, `exp` is in the future
and at most five minutes ahead, and its `jti` was not seen before (replay); the caller is
then the client's organisation, as a submitter that may only evaluate (hooks store nothing).

The service's own bearer tokens (`pa_...`) stay valid on every door for the project's tools.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from priorauth.core import RequestError
from priorauth.service import Principal, Unauthenticated
from priorauth.store.models import CdsClient

ALGORITHMS = ("RS384", "ES384")
MAX_LIFETIME_SECONDS = 300  # CDS Hooks: exp no more than 5 minutes in the future
LEEWAY_SECONDS = 60
REGISTRATION_TTL_SECONDS = 5.0  # like bearer tokens: a removed client is refused within this time
JWKS_TTL_SECONDS = 600.0
JWKS_REFRESH_MIN_SECONDS = 30.0  # an unknown kid refetches a JWK Set URL at most this often
JWKS_FETCH_TIMEOUT_SECONDS = 5.0
ORG_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


# --- registrations -------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientRegistration:
    id: str
    issuer: str
    org: str
    label: str
    jwks_url: str | None
    jwks: dict[str, Any] | None
    created_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "issuer": self.issuer,
            "org": self.org,
            "label": self.label,
            "jwks_url": self.jwks_url,
            "keys": [k.get("kid") for k in (self.jwks or {}).get("keys", [])] if self.jwks else None,
            "created_at": self.created_at.isoformat(),
        }


def _registration(row: CdsClient) -> ClientRegistration:
    return ClientRegistration(row.id, row.issuer, row.org, row.label, row.jwks_url, row.jwks, row.created_at)


def check_jwks(raw: Any, where: str = "jwks") -> dict[str, Any]:
    """A JWK Set this service can verify with: at least one RSA or EC P-384 public key, each with a kid."""
    if not isinstance(raw, dict) or not isinstance(raw.get("keys"), list) or not raw["keys"]:
        raise RequestError(where, "expected a JWK Set: an object with a non-empty `keys` array")
    for i, key in enumerate(raw["keys"]):
        if not isinstance(key, dict) or key.get("kty") not in ("RSA", "EC"):
            raise RequestError(f"{where}.keys[{i}].kty", "expected RSA or EC")
        if not isinstance(key.get("kid"), str) or not key["kid"]:
            raise RequestError(f"{where}.keys[{i}].kid", "required (the JWT header names its key by kid)")
        if "d" in key:
            raise RequestError(f"{where}.keys[{i}]", "a private key: register the public keys only")
        try:
            jwt.PyJWK(key, "ES384" if key["kty"] == "EC" else "RS384")
        except jwt.PyJWTError:
            raise RequestError(f"{where}.keys[{i}]", "not a usable public key") from None
    return {"keys": raw["keys"]}


def read_jwks_file(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise RequestError("jwks-file", "cannot be read") from None
    except ValueError:
        raise RequestError("jwks-file", "not valid JSON") from None
    return check_jwks(raw, "jwks-file")


def add_client(
    session: Session,
    issuer: str,
    org: str,
    jwks_url: str | None = None,
    jwks: dict[str, Any] | None = None,
    label: str = "",
) -> ClientRegistration:
    """Register a client (commits). Exactly one of `jwks_url`, `jwks`."""
    if not isinstance(issuer, str) or not issuer.strip() or len(issuer) > 500:
        raise RequestError("issuer", "expected the JWT issuer (iss), 1-500 characters")
    if not ORG_PATTERN.match(org or ""):
        raise RequestError("org", "expected 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if (jwks_url is None) == (jwks is None):
        raise RequestError("jwks", "give either a JWK Set URL or a JWK Set file")
    if jwks_url is not None and (not re.match(r"^https?://[^\s]+$", jwks_url) or len(jwks_url) > 1000):
        raise RequestError("jwks-url", "expected an http(s) URL")
    if jwks is not None:
        jwks = check_jwks(jwks)
    if len(label) > 200:
        raise RequestError("label", "expected at most 200 characters")
    if session.execute(select(CdsClient).where(CdsClient.issuer == issuer)).scalar_one_or_none() is not None:
        raise RequestError("issuer", "already registered (remove it first)")
    row = CdsClient(
        id="cds_" + secrets.token_hex(8),
        issuer=issuer,
        org=org,
        label=label,
        jwks_url=jwks_url,
        jwks=jwks,
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(row)
    session.commit()
    return _registration(row)


def list_clients(session: Session) -> list[ClientRegistration]:
    rows = session.execute(select(CdsClient).order_by(CdsClient.created_at, CdsClient.id)).scalars()
    return [_registration(r) for r in rows]


def remove_client(session: Session, issuer_or_id: str) -> ClientRegistration | None:
    """Remove a client by issuer or id (commits); None if there is none."""
    row = session.execute(
        select(CdsClient).where((CdsClient.issuer == issuer_or_id) | (CdsClient.id == issuer_or_id))
    ).scalar_one_or_none()
    if row is None:
        return None
    found = _registration(row)
    session.delete(row)
    session.commit()
    return found


def client_by_issuer(session: Session, issuer: str) -> ClientRegistration | None:
    row = session.execute(select(CdsClient).where(CdsClient.issuer == issuer)).scalar_one_or_none()
    return _registration(row) if row is not None else None


# --- verification --------------------------------------------------------------------------


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and not token.startswith("pa_")


@dataclass
class _KeySet:
    keys: dict[str, Any]
    fetched: float
    tried: float = 0.0


@dataclass
class ClientTrust:
    """What a process knows of its CDS clients: registrations (briefly cached), key sets and seen jti."""

    fetch_timeout: float = JWKS_FETCH_TIMEOUT_SECONDS
    _registrations: dict[str, tuple[ClientRegistration | None, float]] = field(default_factory=dict)
    _keysets: dict[str, _KeySet] = field(default_factory=dict)
    _seen: dict[tuple[str, str], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_purge: float = 0.0

    def needs_io(self, token: str) -> bool:
        """Whether verifying `token` may read the database or fetch a JWK Set (so it is done off the event
        loop); a token whose client and key are known is verified in a fraction of a millisecond."""
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return False
        hit = self._registrations.get(issuer) if isinstance(issuer, str) else None
        if hit is None or time.monotonic() - hit[1] > REGISTRATION_TTL_SECONDS:
            return True
        client = hit[0]
        if client is None:
            return False
        held = self._keysets.get(f"{client.id}:{client.jwks_url or ''}")
        if held is None:
            return True
        stale = client.jwks_url is not None and time.monotonic() - held.fetched > JWKS_TTL_SECONDS
        return stale or (kid not in held.keys and client.jwks_url is not None)

    def registration(self, session_factory: Any, issuer: str) -> ClientRegistration | None:
        now = time.monotonic()
        hit = self._registrations.get(issuer)
        if hit is not None and now - hit[1] <= REGISTRATION_TTL_SECONDS:
            return hit[0]
        with session_factory() as session:
            found = client_by_issuer(session, issuer)
        with self._lock:
            if len(self._registrations) > 10_000:
                self._registrations.clear()
            self._registrations[issuer] = (found, now)
        return found

    def _load(self, client: ClientRegistration) -> dict[str, Any]:
        if client.jwks is not None:
            raw = client.jwks
        else:
            assert client.jwks_url is not None
            try:
                response = httpx.get(client.jwks_url, timeout=self.fetch_timeout, follow_redirects=False)
                response.raise_for_status()
                raw = check_jwks(response.json(), "jwks_url")
            except (httpx.HTTPError, ValueError, RequestError):
                raise Unauthenticated("the client's JWK Set could not be fetched") from None
        keys = {}
        for key in raw.get("keys", []):
            if isinstance(key, dict) and key.get("kid") and key.get("use", "sig") == "sig":
                keys[key["kid"]] = key
        return keys

    def key(self, client: ClientRegistration, kid: str) -> dict[str, Any] | None:
        """The JWK named `kid` (a JWK Set URL is refetched when stale or when the kid is new to it)."""
        now = time.monotonic()
        cache_key = f"{client.id}:{client.jwks_url or ''}"
        held = self._keysets.get(cache_key)
        stale = held is None or (client.jwks_url is not None and now - held.fetched > JWKS_TTL_SECONDS)
        missing = held is not None and kid not in held.keys
        if stale or (missing and client.jwks_url is not None and now - held.tried > JWKS_REFRESH_MIN_SECONDS):  # type: ignore[union-attr]
            keys = self._load(client)
            held = _KeySet(keys, now, now)
            with self._lock:
                self._keysets[cache_key] = held
        assert held is not None
        return held.keys.get(kid)

    def first_use(self, issuer: str, jti: str, expires: float) -> bool:
        """Record a jti until its token expires; False when it was seen before (a replay)."""
        now = time.time()
        with self._lock:
            if now >= self._next_purge:
                for k in [k for k, exp in self._seen.items() if exp < now - LEEWAY_SECONDS]:
                    del self._seen[k]
                self._next_purge = now + 30
            if (issuer, jti) in self._seen:
                return False
            self._seen[(issuer, jti)] = expires
            return True


def verify(trust: ClientTrust, session_factory: Any, token: str, audiences: list[str]) -> Principal:
    """The principal of a CDS client's JWT; Unauthenticated (never naming the token) otherwise."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Unauthenticated("the bearer JWT does not parse") from None
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in ALGORITHMS:
        raise Unauthenticated(f"the JWT must be signed with {' or '.join(ALGORITHMS)}")
    if header.get("typ", "JWT") != "JWT":
        raise Unauthenticated("the JWT header's typ must be JWT")
    if not isinstance(kid, str) or not kid:
        raise Unauthenticated("the JWT header must name its key (kid)")
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise Unauthenticated("the JWT has no issuer (iss)")
    client = trust.registration(session_factory, issuer)
    if client is None:
        raise Unauthenticated("the JWT's issuer is not a registered CDS client")
    if header.get("jku") is not None and header.get("jku") != client.jwks_url:
        raise Unauthenticated("the JWT's jku is not the client's registered JWK Set URL")
    jwk = trust.key(client, kid)
    if jwk is None:
        raise Unauthenticated("the JWT's kid is not a key of the client's JWK Set")
    try:
        key = jwt.PyJWK(jwk, alg).key
        payload = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=audiences,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.InvalidAudienceError:
        raise Unauthenticated("the JWT's aud is not the URL of this CDS service") from None
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the JWT has expired") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthenticated(f"the JWT lacks the {exc.claim} claim") from None
    except jwt.PyJWTError:
        raise Unauthenticated("the JWT's signature does not verify with the client's key") from None
    exp = float(payload["exp"])
    if exp > time.time() + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
        raise Unauthenticated("the JWT expires more than five minutes from now")
    jti = payload["jti"]
    if not isinstance(jti, str) or not jti:
        raise Unauthenticated("the JWT's jti must be a non-empty string")
    if not trust.first_use(issuer, jti, exp):
        raise Unauthenticated("the JWT was already used (jti replay)")
    label = f"CDS client {client.label}" if client.label else "CDS client"
    return Principal(token_id=client.id, role="submitter", org=client.org, label=label)
