"""CDS Hooks clients trusted by JWT (issuer + JWK Set), and what each PAS submission said beyond its
facts (the identifiers $inquire matches on: claim identifier, member and provider ids; the submitted items).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_clients",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("issuer", sa.String(500), nullable=False, unique=True),
        sa.Column("jwks_url", sa.String(1000), nullable=True),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("org", sa.String(100), nullable=False),
        sa.Column("label", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "pas_submissions",
        sa.Column("request_id", sa.String(32), primary_key=True),
        sa.Column("submitter_org", sa.String(100), nullable=False),
        sa.Column("claim_identifier", sa.String(255), nullable=True),
        sa.Column("pas_version", sa.String(8), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("providers", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_pas_submission_org_claim", "pas_submissions", ["submitter_org", "claim_identifier"])
    op.create_index("ix_pas_submission_org_created", "pas_submissions", ["submitter_org", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_pas_submission_org_created", table_name="pas_submissions")
    op.drop_index("ix_pas_submission_org_claim", table_name="pas_submissions")
    op.drop_table("pas_submissions")
    op.drop_table("cds_clients")
