"""The audit trail: append-only, hash-chained, keyed events of who did what, when, under which policy version.

Each event's hash covers the previous event's hash and the event's canonical JSON, so changing,
removing or reordering any stored event breaks the chain from that point on (`verify_chain`,
`priorauth audit verify`). With an audit key (PRIORAUTH_AUDIT_KEY, or the file
PRIORAUTH_AUDIT_KEY_FILE, else var/audit.key under PRIORAUTH_HOME when present) the hash is an
HMAC-SHA-256 under that key, which is never stored in the database: whoever can write the tables
but lacks the key cannot recompute a valid chain. Events written before a key was set (`key_id`
null) keep their plain SHA-256 and still verify; no unkeyed event may follow a keyed one.

An event that changed a coverage request carries `row_hash`, the SHA-256 of the request row as
the service left it: `verify_chain` checks every row against the last hash recorded for it.
Signed checkpoints (`write_checkpoint`) kept outside the database pin (seq, hash) of the head, so
truncation, tail deletion and re-chaining are detected even by someone who rewrites every row.
Appends lock the one-row `audit_head` table, so concurrent writers chain one after another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import JSON, Text, insert, inspect, null, select, type_coerce, update
from sqlalchemy.orm import Session

from priorauth.service.principal import Principal
from priorauth.store.errors import StoreError
from priorauth.store.models import AuditEvent, AuditHead, CoverageRequest, UTCDateTime
from priorauth.store.settings import home

GENESIS = "0" * 64
KEY_ENV = "PRIORAUTH_AUDIT_KEY"
KEY_FILE_ENV = "PRIORAUTH_AUDIT_KEY_FILE"
KEY_FILE = Path("var") / "audit.key"
MIN_KEY_CHARS = 32
CHECKPOINT_DIR = Path("var") / "audit-checkpoints"


class AuditKeyError(StoreError):
    """The audit key is missing, unreadable or not the trail's: one line saying what to set."""


@dataclass(frozen=True)
class AuditKey:
    """The secret of the events' HMACs and the checkpoints' signatures; `id` names it, never reveals it."""

    secret: bytes = field(repr=False)
    id: str

    @classmethod
    def from_text(cls, text: str, source: str) -> AuditKey:
        secret = text.strip()
        if len(secret) < MIN_KEY_CHARS:
            raise AuditKeyError(
                f"{source}: the audit key must have at least {MIN_KEY_CHARS} characters (e.g. `openssl rand -hex 32`)"
            )
        raw = secret.encode("utf-8")
        return cls(raw, hashlib.sha256(b"priorauth audit key id\n" + raw).hexdigest()[:16])

    def mac(self, message: bytes) -> str:
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


def key_file_path() -> Path | None:
    """The key file named by PRIORAUTH_AUDIT_KEY_FILE, else var/audit.key under PRIORAUTH_HOME if it exists."""
    named = os.environ.get(KEY_FILE_ENV)
    if named:
        return Path(named).expanduser()
    default = home() / KEY_FILE
    return default if default.is_file() else None


def current_key() -> AuditKey | None:
    """The configured audit key (PRIORAUTH_AUDIT_KEY, else the key file), or None: events are then unkeyed."""
    value = os.environ.get(KEY_ENV)
    if value:
        return _key_from_env(value)
    path = key_file_path()
    return _key_from_file(str(path)) if path is not None else None


@lru_cache(maxsize=4)
def _key_from_env(value: str) -> AuditKey:
    return AuditKey.from_text(value, KEY_ENV)


@lru_cache(maxsize=4)
def _key_from_file(path: str) -> AuditKey:
    try:
        mode = os.stat(path).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise AuditKeyError(f"audit key file {path} is readable by others: chmod 600 {path}")
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise AuditKeyError(f"audit key file {path}: cannot read it ({exc.strerror})") from None
    return AuditKey.from_text(text, f"{KEY_FILE_ENV} ({path})")


def generate_key_file(path: Path | None = None) -> Path | None:
    """Write a new random key to `path` (default var/audit.key under PRIORAUTH_HOME) with mode 0600, unless a key
    is already configured or the file exists; returns the path written, else None."""
    if os.environ.get(KEY_ENV):
        return None
    path = path or key_file_path() or home() / KEY_FILE
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_hex(32) + "\n")
    return path


def check_key(session: Session) -> AuditKey | None:
    """The key appends will use; AuditKeyError when the trail is keyed and the key is missing or another one."""
    key = current_key()
    head_key = session.execute(select(AuditHead.key_id).where(AuditHead.id == 1)).scalar_one_or_none()
    _check_head_key(head_key, key)
    return key


def _check_head_key(head_key: str | None, key: AuditKey | None) -> None:
    if head_key is None:
        return
    if key is None:
        raise AuditKeyError(
            f"the audit trail is keyed (key id {head_key}) and no audit key is set: set {KEY_ENV} or {KEY_FILE_ENV} "
            "to the key it was written with"
        )
    if key.id != head_key:
        raise AuditKeyError(
            f"the audit trail is keyed with key id {head_key}, not the configured key (id {key.id}): "
            f"set {KEY_ENV} or {KEY_FILE_ENV} to the key it was written with"
        )


def text_digest(text: str) -> str:
    """SHA-256 of free text kept outside the trail: the event proves what was written without holding it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_hash(prev_hash: str, event: dict[str, Any], key: AuditKey | None = None) -> str:
    """SHA-256 (unkeyed events) or HMAC-SHA-256 under `key` of the previous hash and the event's canonical JSON."""
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    message = (prev_hash + "\n" + canonical).encode("utf-8")
    return key.mac(message) if key is not None else hashlib.sha256(message).hexdigest()


# --- request rows -----------------------------------------------------------------------------

_JSON_COLUMNS = frozenset(c.key for c in CoverageRequest.__table__.columns if isinstance(c.type, JSON))
_TIME_COLUMNS = frozenset(c.key for c in CoverageRequest.__table__.columns if isinstance(c.type, UTCDateTime))


def _as_utc(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise ValueError("not a time")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _row_digest(values: dict[str, Any]) -> str:
    """SHA-256 of a request row: every column but nulls (SQL or JSON), times as UTC ISO text, JSON as stored."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in _JSON_COLUMNS and isinstance(value, str | bytes):
            value = orjson.loads(value)  # a JSON column's None is stored as JSON null
        if value is None:
            continue
        out[key] = _as_utc(value).isoformat() if key in _TIME_COLUMNS else value
    return hashlib.sha256(orjson.dumps(out, option=orjson.OPT_SORT_KEYS)).hexdigest()


def request_row_hash(row: CoverageRequest) -> str:
    """The row hash of a request as the service is about to store it.

    JSON columns are serialised as the store writes them (orjson), so the digest equals the one of
    the values read back: no round trip is needed.
    """
    return _row_digest({column.key: getattr(row, column.key) for column in CoverageRequest.__table__.columns})


# --- events -----------------------------------------------------------------------------------

HASHED = (
    "seq",
    "at",
    "actor",
    "actor_role",
    "actor_org",
    "action",
    "request_id",
    "policy_id",
    "policy_version",
    "detail",
)


def _hashed(values: dict[str, Any]) -> dict[str, Any]:
    """The fields an event's hash covers; `row_hash` and `key_id` only when set (older events have neither)."""
    out = {k: values[k] for k in HASHED}
    out["at"] = _as_utc(values["at"]).isoformat()
    for extra in ("row_hash", "key_id"):
        if values.get(extra) is not None:
            out[extra] = values[extra]
    return out


def _hashed_fields(e: AuditEvent) -> dict[str, Any]:
    return _hashed({k: getattr(e, k) for k in (*HASHED, "row_hash", "key_id")})


def event_to_dict(e: AuditEvent) -> dict[str, Any]:
    return {**_hashed_fields(e), "prev_hash": e.prev_hash, "hash": e.hash}


def append_event(
    session: Session,
    principal: Principal,
    action: str,
    *,
    request_id: str | None = None,
    policy_id: str | None = None,
    policy_version: str | None = None,
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
    row: CoverageRequest | None = None,
) -> dict[str, Any]:
    """Add one event to the chain in the caller's transaction (the caller commits). No PHI in `detail`.

    `row`: the request row this event changed, as it now stands (its hash goes into the event).
    """
    event: dict[str, Any] = {
        "at": (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC),
        "actor": principal.token_id,
        "actor_role": principal.role,
        "actor_org": principal.org,
        "action": action,
        "request_id": request_id,
        "policy_id": policy_id,
        "policy_version": policy_version,
        "detail": detail or {},
    }
    if row is not None:
        event["request_row"] = row
    return append_events(session, [event])[0]


def append_events(session: Session, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chain several events (dicts of AuditEvent columns but seq and hashes) under one lock of the head.

    An event's optional `request_row` (a CoverageRequest it changed) is recorded as its `row_hash`.
    Keyed with the configured audit key; AuditKeyError when the trail is keyed and that key is not set.
    """
    key = current_key()
    seq, prev, head_key = session.execute(
        select(AuditHead.seq, AuditHead.hash, AuditHead.key_id).where(AuditHead.id == 1).with_for_update()
    ).one()
    _check_head_key(head_key, key)
    key_id = key.id if key is not None else None
    rows = []
    row_hashes: dict[int, str] = {}  # one hash per request row, however many of its events
    for event in events:
        seq += 1
        request_row = event.get("request_row")
        row = {k: v for k, v in event.items() if k != "request_row"}
        row.update(seq=seq, prev_hash=prev, key_id=key_id, row_hash=None)
        if request_row is not None:
            if id(request_row) not in row_hashes:
                row_hashes[id(request_row)] = request_row_hash(request_row)
            row["row_hash"] = row_hashes[id(request_row)]
        row["hash"] = prev = event_hash(prev, _hashed(row), key)
        rows.append(row)
    session.execute(insert(AuditEvent), rows)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev, key_id=key_id))
    return rows


# --- checkpoints ------------------------------------------------------------------------------


def _checkpoint_message(body: dict[str, Any]) -> bytes:
    fields = {k: body[k] for k in ("seq", "hash", "at", "key_id")}
    return ("priorauth audit checkpoint\n" + json.dumps(fields, sort_keys=True, separators=(",", ":"))).encode()


def write_checkpoint(session: Session, folder: Path, key: AuditKey | None = None) -> tuple[Path, dict[str, Any]]:
    """Sign (seq, hash, time) of the chain's last event with the audit key and write it to a new file in `folder`."""
    key = key or current_key()
    if key is None:
        raise AuditKeyError(f"a checkpoint is signed with the audit key: set {KEY_ENV} or {KEY_FILE_ENV}")
    seq, head_hash, head_key = session.execute(
        select(AuditHead.seq, AuditHead.hash, AuditHead.key_id).where(AuditHead.id == 1)
    ).one()
    _check_head_key(head_key, key)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    body: dict[str, Any] = {"seq": seq, "hash": head_hash, "at": now.isoformat(), "key_id": key.id}
    body["signature"] = key.mac(_checkpoint_message(body))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"checkpoint-{seq:012d}-{now:%Y%m%dT%H%M%SZ}.json"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"checkpoint-{seq:012d}-{now:%Y%m%dT%H%M%SZ}-{n}.json"
    path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return path, body


@dataclass(frozen=True)
class Checkpoint:
    name: str
    seq: int
    hash: str


def read_checkpoints(folder: Path, key: AuditKey | None) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints in `folder` whose signature holds under `key`, and a problem for each file that fails."""
    good: list[Checkpoint] = []
    problems: list[str] = []
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not folder.is_dir():
        return good, [f"checkpoints: {folder} is not a folder"]
    if not files:
        return good, [f"checkpoints: no checkpoint files in {folder}"]
    if key is None:
        return good, [f"checkpoints: verifying them needs the audit key ({KEY_ENV} or {KEY_FILE_ENV})"]
    for path in files:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            seq, head_hash, signature = int(body["seq"]), str(body["hash"]), str(body["signature"])
            message = _checkpoint_message(body)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            problems.append(f"checkpoint {path.name}: not a checkpoint file")
            continue
        if body.get("key_id") != key.id or not hmac.compare_digest(signature, key.mac(message)):
            problems.append(
                f"checkpoint {path.name}: its signature does not hold under the audit key (forged or altered)"
            )
            continue
        good.append(Checkpoint(path.name, seq, head_hash))
    return good, problems


# --- verification -----------------------------------------------------------------------------


@dataclass
class ChainVerification:
    """The outcome of checking the whole chain (and the request rows and checkpoints it covers)."""

    events: int = 0
    problems: list[str] = field(default_factory=list)
    keyed_events: int = 0
    key_missing: str | None = None  # the trail's key id when events are keyed and no key was given
    requests_checked: int = 0
    requests_unproven: int = 0  # rows whose events predate row hashes
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


_EVENT_COLUMNS = (*HASHED, "row_hash", "key_id", "prev_hash", "hash")


def _raw(session: Session, table: Any, names: Iterable[str]) -> list[Any]:
    """Columns selected without the model's result processing, so one unreadable value names its row.

    A column the database lacks (a backup from before a migration) reads as null.
    """
    present = {c["name"] for c in inspect(session.connection()).get_columns(table.name)}
    cols: list[Any] = []
    for name in names:
        column = table.c[name]
        if name not in present:
            cols.append(null().label(name))
        elif isinstance(column.type, JSON | UTCDateTime):
            cols.append(type_coerce(column, Text).label(name))
        else:
            cols.append(column)
    return cols


def _detail(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def verify_chain(
    session: Session,
    limit_problems: int = 20,
    key: AuditKey | None = None,
    checkpoints: list[Checkpoint] | None = None,
) -> ChainVerification:
    """Recompute every hash in order, then check each request row and checkpoint; report the first problems.

    `key`: default the configured key. Problems name the event, request or checkpoint: sequence gaps,
    broken links, bad hashes or HMACs, unkeyed events after keyed ones, unreadable values, request
    rows that differ from the hash their last event recorded, checkpoints the chain no longer holds.
    """
    if key is None:
        try:
            key = current_key()
        except AuditKeyError as exc:
            return ChainVerification(problems=[str(exc)])
    result = ChainVerification()
    wanted = {c.seq for c in checkpoints or []}
    seen: dict[int, str] = {}
    last_row_hash: dict[str, tuple[int, str | None]] = {}  # request id -> (seq, row hash of its last changing event)
    prev_hash, expected_seq, keyed_since = GENESIS, 1, None
    table = AuditEvent.__table__
    rows = session.execute(
        select(*_raw(session, table, _EVENT_COLUMNS)).order_by(table.c.seq).execution_options(yield_per=1000)
    ).mappings()

    def problem(text: str) -> bool:
        result.problems.append(text)
        return len(result.problems) >= limit_problems

    for e in rows:
        result.events += 1
        seq = e["seq"]
        if seq != expected_seq and problem(f"event {seq}: expected sequence number {expected_seq} (events missing)"):
            return result
        if e["prev_hash"] != prev_hash and problem(f"event {seq}: does not link to the event before it"):
            return result
        try:
            values = dict(e)
            values["detail"] = _detail(values["detail"])
            hashed = _hashed(values)
        except Exception:  # noqa: BLE001 - any unreadable value is named, never raised
            if problem(f"event {seq}: a hashed column holds a value that cannot be read (altered)"):
                return result
            prev_hash, expected_seq = e["hash"], seq + 1
            continue
        if e["key_id"] is None:
            if keyed_since is not None:
                if problem(
                    f"event {seq}: not keyed, after keyed event {keyed_since} (written without the key: forged)"
                ):
                    return result
            elif event_hash(e["prev_hash"], hashed) != e["hash"]:
                if problem(f"event {seq}: contents do not match its hash (altered)"):
                    return result
        else:
            keyed_since = keyed_since or seq
            result.keyed_events += 1
            if key is None:
                if result.key_missing is None:
                    result.key_missing = e["key_id"]
                    if problem(
                        f"event {seq}: keyed (key id {e['key_id']}) and no audit key is set: set {KEY_ENV} or "
                        f"{KEY_FILE_ENV} to verify the trail"
                    ):
                        return result
            elif e["key_id"] != key.id:
                if problem(f"event {seq}: keyed with key id {e['key_id']}, not the audit key (id {key.id})"):
                    return result
            elif not hmac.compare_digest(event_hash(e["prev_hash"], hashed, key), str(e["hash"])):
                if problem(f"event {seq}: contents do not match its keyed hash (altered or forged)"):
                    return result
        if seq in wanted:
            seen[seq] = e["hash"]
        request_id = e["request_id"]
        if request_id is not None and (e["row_hash"] is not None or request_id not in last_row_hash):
            last_row_hash[request_id] = (seq, e["row_hash"])
        prev_hash, expected_seq = e["hash"], seq + 1
    head = session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one_or_none()
    if head is None or head.seq != expected_seq - 1 or head.hash != prev_hash:
        if problem("the chain head does not match the last event (events removed at the end)"):
            return result
    for checkpoint in checkpoints or []:
        result.checkpoints += 1
        if checkpoint.seq == 0 and checkpoint.hash == GENESIS:
            continue  # taken of an empty trail
        if checkpoint.seq not in seen:
            text = (
                f"checkpoint {checkpoint.name}: event {checkpoint.seq} is gone (the trail ends at "
                f"{expected_seq - 1}: truncated or its tail deleted)"
            )
        elif seen[checkpoint.seq] != checkpoint.hash:
            text = f"checkpoint {checkpoint.name}: event {checkpoint.seq} no longer has the signed hash (re-chained)"
        else:
            continue
        if problem(text):
            return result
    _verify_requests(session, result, last_row_hash, problem)
    return result


def _verify_requests(
    session: Session, result: ChainVerification, last: dict[str, tuple[int, str | None]], problem: Any
) -> None:
    table = CoverageRequest.__table__
    names = [c.key for c in table.columns]
    rows = session.execute(select(*_raw(session, table, names)).order_by(table.c.id).execution_options(yield_per=1000))
    present: set[str] = set()
    for r in rows.mappings():
        request_id = r["id"]
        present.add(request_id)
        result.requests_checked += 1
        recorded = last.get(request_id)
        if recorded is None:
            if problem(f"request {request_id}: no audit event records it (added outside the service)"):
                return
            continue
        seq, row_hash = recorded
        if row_hash is None:
            result.requests_unproven += 1
            continue
        try:
            actual = _row_digest(dict(r))
        except Exception:  # noqa: BLE001 - an unreadable value is named, never raised
            actual = None
        if actual != row_hash and problem(
            f"request {request_id}: its row differs from the hash event {seq} recorded (changed outside the service)"
        ):
            return
    for request_id, (seq, row_hash) in last.items():
        if row_hash is not None and request_id not in present:
            if problem(f"request {request_id}: recorded by event {seq} but gone from coverage_requests (deleted)"):
                return


def request_events(session: Session, request_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(AuditEvent).where(AuditEvent.request_id == request_id).order_by(AuditEvent.seq)
    ).scalars()
    return [event_to_dict(e) for e in rows]
