import pytest

from priorauth.claims import ClaimRules
from priorauth.core._policy import load_policy


@pytest.fixture(scope="session")
def rules() -> ClaimRules:
    return ClaimRules.from_policy(load_policy("besponsa"))


@pytest.fixture(scope="session")
def spark():
    from priorauth.claims.spark_engine import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()
