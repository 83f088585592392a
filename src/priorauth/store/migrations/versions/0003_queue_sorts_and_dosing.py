"""Indexes for the queue's other sort orders (received, urgency, status; ties by id), and the
request's dosing block.

`ix_request_status_due` and `ix_request_org_created` gain the id so that their order is the
queue's order, tie-break included; `ix_request_created` and `ix_request_urgency_due` are new.
Descending orders scan the same indexes backwards.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("coverage_requests", sa.Column("dosing", sa.JSON(), nullable=True))
    op.drop_index("ix_request_status_due", table_name="coverage_requests")
    op.create_index("ix_request_status_due", "coverage_requests", ["status", "due_at", "id"])
    op.drop_index("ix_request_org_created", table_name="coverage_requests")
    op.create_index("ix_request_org_created", "coverage_requests", ["submitter_org", "created_at", "id"])
    op.create_index("ix_request_created", "coverage_requests", ["created_at", "id"])
    op.create_index("ix_request_urgency_due", "coverage_requests", ["urgency", "due_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_request_urgency_due", table_name="coverage_requests")
    op.drop_index("ix_request_created", table_name="coverage_requests")
    op.drop_index("ix_request_org_created", table_name="coverage_requests")
    op.create_index("ix_request_org_created", "coverage_requests", ["submitter_org", "created_at"])
    op.drop_index("ix_request_status_due", table_name="coverage_requests")
    op.create_index("ix_request_status_due", "coverage_requests", ["status", "due_at"])
    with op.batch_alter_table("coverage_requests") as batch:
        batch.drop_column("dosing")
