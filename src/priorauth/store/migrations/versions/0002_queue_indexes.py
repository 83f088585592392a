"""Indexes for the request queue: oldest due first, for everyone and per organisation.

Without them every queue page sorts the whole table (benchmarks/bench_web.py: the last
page of 10,000 requests took 272 ms median; with them, 10 ms).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_request_due", "coverage_requests", ["due_at", "id"])
    op.create_index("ix_request_org_due", "coverage_requests", ["submitter_org", "due_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_request_org_due", table_name="coverage_requests")
    op.drop_index("ix_request_due", table_name="coverage_requests")
