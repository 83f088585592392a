"""The Alembic migrations build exactly the schema the models describe, and the queue is indexed."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from priorauth.store import db as store_db
from priorauth.store.models import Base


def test_migrated_database_matches_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = store_db.make_engine(url)
    store_db.upgrade(url, engine=engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_queue_order_uses_an_index_not_a_sort(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    engine = store_db.make_engine(url)
    store_db.upgrade(url, engine=engine)
    with engine.connect() as conn:
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                sa.text("EXPLAIN QUERY PLAN SELECT id FROM coverage_requests ORDER BY due_at, id LIMIT 50 OFFSET 9950")
            )
        )
        org_plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                sa.text(
                    "EXPLAIN QUERY PLAN SELECT id FROM coverage_requests WHERE submitter_org = 'a' "
                    "ORDER BY due_at, id LIMIT 50"
                )
            )
        )
    engine.dispose()
    assert "TEMP B-TREE" not in plan and "ix_request_due" in plan
    assert "TEMP B-TREE" not in org_plan and "ix_request_org_due" in org_plan


def test_every_queue_sort_and_the_urgency_filter_use_an_index(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    engine = store_db.make_engine(url)
    store_db.upgrade(url, engine=engine)
    queries = {
        "ORDER BY due_at DESC, id DESC": "ix_request_due",
        "ORDER BY created_at, id": "ix_request_created",
        "ORDER BY created_at DESC, id DESC": "ix_request_created",
        "ORDER BY urgency, due_at, id": "ix_request_urgency_due",
        "ORDER BY status, due_at, id": "ix_request_status_due",
        "WHERE urgency = 'expedited' ORDER BY due_at, id": "ix_request_urgency_due",
        "WHERE submitter_org = 'a' ORDER BY created_at DESC, id DESC": "ix_request_org_created",
    }
    with engine.connect() as conn:
        for tail, index in queries.items():
            sql = f"EXPLAIN QUERY PLAN SELECT id FROM coverage_requests {tail} LIMIT 50"
            plan = " ".join(str(row[-1]) for row in conn.execute(sa.text(sql)))
            assert "TEMP B-TREE" not in plan and index in plan, (tail, plan)
    engine.dispose()
