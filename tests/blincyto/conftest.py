import pytest
from tests.web.live import browser, server  # noqa: F401 - the browser tests' fixtures


@pytest.fixture(scope="session")
def spark():
    from priorauth.claims.spark_engine import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()
