import datetime as dt

import polars as pl
import pytest

from priorauth.claims import ClaimRules
from priorauth.policy import load_policy

DAY0 = dt.date(2025, 7, 1)


@pytest.fixture(scope="session")
def rules() -> ClaimRules:
    return ClaimRules.from_policy(load_policy("besponsa"))


@pytest.fixture(scope="session")
def spark():
    from priorauth.claims.spark_engine import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


def line(claim, member, day, units, ndc="00008-0100-01", icd10="C91.00", modifier="JZ", hcpcs="J9229"):
    """A claim line dated `day` days after 2025-07-01 (day may be a string for bad dates)."""
    date = (DAY0 + dt.timedelta(days=day)).isoformat() if isinstance(day, int) else day
    return {
        "claim_id": claim,
        "member_id": member,
        "service_date": date,
        "hcpcs": hcpcs,
        "units": units,
        "ndc": ndc,
        "icd10": icd10,
        "modifier": modifier,
    }


def frame(rows) -> pl.DataFrame:
    """Claim lines as a CSV reader gives them: every cell text."""
    return pl.DataFrame(
        [{k: None if v is None else str(v) for k, v in r.items()} for r in rows],
        schema={c: pl.String for c in rows[0]},
    )
