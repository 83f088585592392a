"""Protect the audit trail as a whole, not only row by row (issue 14, H2).

PostgreSQL: TRUNCATE of audit_events or audit_head is refused (a statement-level trigger; the row
triggers of 0001 never fire on TRUNCATE), and audit_head may only move forward to the last
event actually written: a larger seq whose hash is that event's hash. `TRUNCATE audit_events;
UPDATE audit_head SET seq = 0` no longer passes. SQLite has no TRUNCATE; the head rule holds there too.

A database superuser or the tables' owner can still drop or disable these triggers: that is what
the keyed hashes and the checkpoints outside the database detect (docs/service.md, threat model).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

HEAD_RULE_PG = """
CREATE FUNCTION priorauth_audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'audit_head cannot be deleted';
  END IF;
  IF NEW.id <> OLD.id OR NEW.seq < OLD.seq
     OR NEW.hash IS DISTINCT FROM (SELECT e.hash FROM audit_events e WHERE e.seq = NEW.seq)
        AND NOT (NEW.seq = OLD.seq AND NEW.hash = OLD.hash) THEN
    RAISE EXCEPTION 'audit_head may only move forward to the last written event';
  END IF;
  RETURN NEW;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION priorauth_audit_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% cannot be truncated: the audit trail is append-only', TG_TABLE_NAME; END $$"
        )
        for table in ("audit_events", "audit_head"):
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION priorauth_audit_no_truncate()"
            )
        op.execute(HEAD_RULE_PG)
        op.execute(
            "CREATE TRIGGER audit_head_forward BEFORE UPDATE OR DELETE ON audit_head "
            "FOR EACH ROW EXECUTE FUNCTION priorauth_audit_head_forward()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head "
            "WHEN NEW.id <> OLD.id OR NEW.seq < OLD.seq OR (NOT (NEW.seq = OLD.seq AND NEW.hash = OLD.hash) "
            "AND NEW.hash IS NOT (SELECT e.hash FROM audit_events e WHERE e.seq = NEW.seq)) "
            "BEGIN SELECT RAISE(ABORT, 'audit_head may only move forward to the last written event'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
            "BEGIN SELECT RAISE(ABORT, 'audit_head cannot be deleted'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_head_forward ON audit_head")
        op.execute("DROP FUNCTION IF EXISTS priorauth_audit_head_forward()")
        for table in ("audit_events", "audit_head"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS priorauth_audit_no_truncate()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_head_forward")
        op.execute("DROP TRIGGER IF EXISTS audit_head_no_delete")
