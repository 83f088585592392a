"""Keyed audit events and request-row hashes (issue 14, M2).

audit_events gains `key_id` (the audit key its hash is an HMAC under; null for the events written
before, whose plain SHA-256 still verifies) and `row_hash` (SHA-256 of the coverage request row the
event changed). audit_head gains `key_id`, so an append without the trail's key is refused. The key
itself is never in the database (PRIORAUTH_AUDIT_KEY / PRIORAUTH_AUDIT_KEY_FILE, docs/operations.md).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns: SQLite adds them in place (no table copy, so the append-only triggers stay).
    op.add_column("audit_events", sa.Column("row_hash", sa.String(64), nullable=True))
    op.add_column("audit_events", sa.Column("key_id", sa.String(16), nullable=True))
    op.add_column("audit_head", sa.Column("key_id", sa.String(16), nullable=True))


def downgrade() -> None:
    # Keyed events cannot be verified without these columns: downgrading a keyed trail loses that proof.
    op.drop_column("audit_head", "key_id")
    op.drop_column("audit_events", "key_id")
    op.drop_column("audit_events", "row_hash")
