import pytest

from priorauth.claims import ClaimRules


@pytest.fixture(scope="session")
def rules() -> ClaimRules:
    return ClaimRules.from_policy("besponsa")


@pytest.fixture(scope="session")
def spark():
    from priorauth.claims.spark_engine import java_problem, spark_session

    problem = java_problem()
    if problem:  # `make test` installs Debian's default-jre-headless when it can
        pytest.skip(f"Spark tests skipped: {problem}")
    session = spark_session("local[2]")
    yield session
    session.stop()
