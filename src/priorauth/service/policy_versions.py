"""The policy versions that decided stored requests: content kept once per digest, read back exactly.

A request stores the digest of the version that decided it. Its explanation (trace, letters,
case page, FHIR inquiry) is always derived from that content: after a newer version is loaded,
after the version file is edited in place (a new digest), or after it leaves the policy path.
"""

from __future__ import annotations

import datetime as dt
import threading

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from priorauth.core import Policy, PolicyVersion, RequestError, load_policy, version_from_content
from priorauth.store.models import PolicyVersionRecord

# Content-addressed: a digest names one content forever, so versions read back are kept
# (bounded) and versions known to be stored are not written again.
_BY_DIGEST: dict[str, PolicyVersion] = {}
_STORED: set[tuple[str, str]] = set()  # (database url, digest)
_LOCK = threading.Lock()
_CACHE_SIZE = 256


def _url(session: Session) -> str:
    return str(session.get_bind().engine.url)


def record_version(session: Session, version: PolicyVersion) -> None:
    """Keep the version's canonical content under its digest (once), in the caller's transaction."""
    key = (_url(session), version.digest)
    if key in _STORED:
        return
    if session.get(PolicyVersionRecord, version.digest) is None:
        content = version.canonical
        try:
            with session.begin_nested():
                session.add(PolicyVersionRecord(digest=version.digest, policy_id=version.id,
                                                effective=version.version, content=content,
                                                source=version.source[-500:], stored_at=dt.datetime.now(dt.UTC)))
        except IntegrityError:  # another writer stored the same content first
            pass
    with _LOCK:
        _STORED.add(key)
        _BY_DIGEST.setdefault(version.digest, version)


def version_by_digest(session: Session, digest: str) -> PolicyVersion | None:
    """The version with this digest: as loaded now, else as stored."""
    cached = _BY_DIGEST.get(digest)
    if cached is not None:
        return cached
    record = session.get(PolicyVersionRecord, digest)
    if record is None:
        return None
    version = version_from_content(orjson.loads(record.content), f"store:{digest}")
    with _LOCK:
        if len(_BY_DIGEST) >= _CACHE_SIZE:
            _BY_DIGEST.clear()
        _BY_DIGEST[digest] = version
    return version


def _loaded(policy_id: str) -> Policy | None:
    try:
        return load_policy(policy_id)
    except RequestError:
        return None  # the policy left the path; its stored versions still explain its requests


def decided_version(
    session: Session, policy_id: str, effective: str, digest: str
) -> tuple[PolicyVersion | None, str | None]:
    """(the version that decided a stored request, the effective date of a newer or edited version now loaded).

    Requests stored before digests were kept (empty digest) are read under the loaded version
    of the same effective date.
    """
    policy = _loaded(policy_id)
    decided = version_by_digest(session, digest) if digest else None
    if decided is None and policy is not None:
        decided = next((v for v in policy.versions if v.version == effective), None)
    if policy is None or decided is None:
        return decided, None
    latest = policy.latest
    if latest.effective > decided.effective:
        return decided, latest.version
    same_date = next((v for v in policy.versions if v.effective == decided.effective), None)
    if same_date is not None and same_date.digest != decided.digest:
        return decided, same_date.version
    return decided, None
