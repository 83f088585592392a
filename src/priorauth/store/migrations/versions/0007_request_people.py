"""Patient, prescriber and submitting contact on stored requests; received date (issue 12, items 9-10).

Adds the prescriber and contact of a request, the queue's search keys (member id, and the patient's
name lower-cased with single spaces, filled from the stored `patient` of earlier requests) with an
index for the member-id search in due order, and the reviewer's back-dating record.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None



def _columns() -> list[sa.Column]:
    return [
        sa.Column("prescriber", sa.JSON(), nullable=True),
        sa.Column("contact", sa.JSON(), nullable=True),
        sa.Column("member_id", sa.String(64), nullable=True),
        sa.Column("patient_name_key", sa.String(200), nullable=True),
        sa.Column("backdating", sa.JSON(), nullable=True),
    ]


def upgrade() -> None:
    for column in _columns():
        op.add_column("coverage_requests", column)
    requests = sa.table(
        "coverage_requests",
        sa.column("id", sa.String),
        sa.column("patient", sa.JSON),
        sa.column("member_id", sa.String),
        sa.column("patient_name_key", sa.String),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(requests.c.id, requests.c.patient).where(requests.c.patient.is_not(None)))
    for request_id, patient in rows.fetchall():
        if isinstance(patient, str):
            patient = json.loads(patient)
        if not isinstance(patient, dict):
            continue
        name = patient.get("name")
        key = " ".join(name.split()).lower()[:200] if isinstance(name, str) else None
        member = patient.get("member_id") if isinstance(patient.get("member_id"), str) else None
        if key or member:
            bind.execute(
                requests.update()
                .where(requests.c.id == request_id)
                .values(member_id=member, patient_name_key=key or None)
            )
    op.create_index("ix_request_member_due", "coverage_requests", ["member_id", "due_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_request_member_due", table_name="coverage_requests")
    with op.batch_alter_table("coverage_requests") as batch:
        for column in reversed(_columns()):
            batch.drop_column(column.name)
