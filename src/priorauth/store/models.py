"""Database tables: coverage requests, the policy versions that decided them, API tokens, the audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class ApiToken(Base):
    """A bearer token: only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    org: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WebSession(Base):
    """A signed-in browser: only the SHA-256 of its random id is stored; the token it signed in with."""

    __tablename__ = "web_sessions"
    __table_args__ = (
        Index("ix_web_sessions_token", "token_id"),
        Index("ix_web_sessions_expires", "expires_at"),
    )

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[str] = mapped_column(String(32), ForeignKey("api_tokens.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CoverageRequest(Base):
    """A submitted prior-authorization request, its determination and its review."""

    __tablename__ = "coverage_requests"
    __table_args__ = (
        UniqueConstraint("submitter_org", "idempotency_key", name="uq_request_idempotency"),
        Index("ix_request_status_due", "status", "due_at", "id"),
        Index("ix_request_org_created", "submitter_org", "created_at", "id"),
        Index("ix_request_due", "due_at", "id"),
        Index("ix_request_org_due", "submitter_org", "due_at", "id"),
        Index("ix_request_created", "created_at", "id"),
        Index("ix_request_urgency_due", "urgency", "due_at", "id"),
        Index("ix_request_member_due", "member_id", "due_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[str] = mapped_column(String(10))
    # The exact version content that decided (policy_versions.digest); "" for requests stored before 0004.
    policy_digest: Mapped[str] = mapped_column(String(64), default="")
    urgency: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(24))
    version: Mapped[int] = mapped_column(Integer)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    patient: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The prescriber (name, NPI) and the submitting contact (name, phone, email); PHI like `patient`.
    prescriber: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    contact: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Search keys of the queue: the patient's member id as given, the name lower-cased with single spaces.
    member_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    patient_name_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # A reviewer's back-dating of the request date: {request_date, previous, note, by, at}.
    backdating: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    dosing: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    determination: Mapped[dict[str, Any]] = mapped_column(JSON)
    engine_decision: Mapped[str] = mapped_column(String(16))
    submitter_org: Mapped[str] = mapped_column(String(100))
    submitted_by: Mapped[str] = mapped_column(String(32), ForeignKey("api_tokens.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    review_action: Mapped[str | None] = mapped_column(String(32), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    authorization: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class PolicyVersionRecord(Base):
    """One policy version's canonical content, kept once per digest: what decided a stored request."""

    __tablename__ = "policy_versions"
    __table_args__ = (Index("ix_policy_versions_policy", "policy_id", "effective"),)

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    effective: Mapped[str] = mapped_column(String(10))
    content: Mapped[str] = mapped_column(Text)  # canonical JSON (docs/policy-files.md)
    source: Mapped[str] = mapped_column(String(500), default="")
    stored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AuditHead(Base):
    """One row: the last sequence number and hash of the audit chain (locked to append)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    # The id of the audit key the chain is keyed with (null: unkeyed); appends refuse another key or none.
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)


class AuditEvent(Base):
    """One audited action; `hash` covers the event and the previous hash (HMAC under the audit key when `key_id`)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_request", "request_id", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(32))
    actor_role: Mapped[str] = mapped_column(String(16))
    actor_org: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    policy_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    policy_version: Mapped[str | None] = mapped_column(String(10), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    # SHA-256 of the coverage request row this event changed, as the service left it (null: changed none).
    row_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The audit key the hash is an HMAC under (null: a plain SHA-256, for events written without a key).
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CdsClient(Base):
    """A CDS Hooks client (an EHR) trusted by the issuer of its JWTs and its JWK Set (CDS Hooks 2.0)."""

    __tablename__ = "cds_clients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500), unique=True)
    jwks_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    org: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class PasSubmission(Base):
    """What a PAS $submit said beyond the facts: the identifiers $inquire matches on and the submitted items."""

    __tablename__ = "pas_submissions"
    __table_args__ = (
        Index("ix_pas_submission_org_claim", "submitter_org", "claim_identifier"),
        Index("ix_pas_submission_org_created", "submitter_org", "created_at"),
    )

    # The coverage request's id (no foreign key: the request is written first and never deleted).
    request_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    submitter_org: Mapped[str] = mapped_column(String(100))
    claim_identifier: Mapped[str | None] = mapped_column(String(255), nullable=True)
    pas_version: Mapped[str] = mapped_column(String(8))
    # Member ids (Patient MB identifiers, Coverage.subscriberId) and provider identifiers ("system|value").
    members: Mapped[list[str]] = mapped_column(JSON)
    providers: Mapped[list[str]] = mapped_column(JSON)
    # The submitted Claim.items this request decides: sequence, productOrService, quantity, serviced[x].
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
