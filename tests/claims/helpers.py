"""Building claim lines and policy variants for the claims tests."""

import datetime as dt

import polars as pl

DAY0 = dt.date(2025, 7, 1)


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


def waste_policy(values: str):
    """The bundled policy with `waste_counts_toward_limit` set to `values` (a YAML mapping of date -> bool)."""
    import re
    from importlib import resources

    from priorauth.core._policy import parse_policy

    text = (resources.files("priorauth") / "policies" / "besponsa.yaml").read_text(encoding="utf-8")
    text, count = re.subn(
        r"(\n  waste_counts_toward_limit:\n(?:    .*\n|      .*\n)*?    values: )\{[^}\n]*\}", rf"\g<1>{values}", text
    )
    assert count == 1, "the bundled policy no longer has waste_counts_toward_limit where expected"
    for date in sorted(set(re.findall(r'"(\d{4}-\d{2}-\d{2})"', values))):
        if f'effective: "{date}"' not in text:  # a parameter may only change on a listed version
            text = text.replace("\nversions:\n", f'\nversions:\n  - effective: "{date}"\n    note: Test variant.\n', 1)
    return parse_policy(text, "besponsa-waste-variant.yaml")
