"""Whole-policy versions: each request keeps the digest of the version that decided it, and
each version's canonical content is kept once per digest, so a stored request is always
explained under exactly the content that decided it.

Requests stored before this migration have an empty digest; they are shown under the
loaded version of the same effective date (the only one there was).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("effective", sa.String(10), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("source", sa.String(500), nullable=False, server_default=""),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_policy_versions_policy", "policy_versions", ["policy_id", "effective"])
    op.add_column("coverage_requests", sa.Column("policy_digest", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("coverage_requests", "policy_digest")
    op.drop_index("ix_policy_versions_policy", table_name="policy_versions")
    op.drop_table("policy_versions")
