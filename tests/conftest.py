"""Shared fixtures: a migrated database, the API app and client, token helpers.

    def test_x(client, auth):
        r = client.post("/v1/requests", json=..., headers=auth("submitter", "clinic-a"))

`database_url` is a fresh SQLite file per test; tests/service overrides it to run on
PostgreSQL as well.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from priorauth.service import Settings, create_token
from priorauth.store.db import Database


@pytest.fixture
def database_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/priorauth.db"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database.open(settings.database_url, settings)
    yield database
    database.dispose()


@pytest.fixture
def app(settings: Settings, db: Database):
    from priorauth.http.app import create_app

    return create_app(settings, db)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def token(db: Database) -> Callable[..., str]:
    """token(role, org) -> a new bearer token's secret."""

    def issue(role: str, org: str = "clinic-a") -> str:
        with db.session() as session:
            return create_token(session, role, org).secret

    return issue


@pytest.fixture
def auth(token) -> Callable[..., dict[str, str]]:
    """auth(role, org) -> headers carrying a new bearer token."""

    def headers(role: str, org: str = "clinic-a") -> dict[str, str]:
        return {"Authorization": f"Bearer {token(role, org)}"}

    return headers
