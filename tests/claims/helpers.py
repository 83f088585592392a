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
    """The bundled policy with `waste_counts_toward_limit` set per version: `values` is a YAML mapping of
    effective date -> value, one version (a copy of the bundled file) per date."""
    import re
    from importlib import resources

    import yaml

    from priorauth.core import Policy, parse_policy_version

    text = (resources.files("priorauth") / "policies" / "besponsa" / "2025-06-24.yaml").read_text(encoding="utf-8")
    versions = []
    for date, value in yaml.safe_load(values).items():
        variant, count = re.subn(
            r"(\n  waste_counts_toward_limit:\n(?:    .*\n|      .*\n)*?    value: )[^\n]*",
            rf"\g<1>{str(value).lower()}",
            text,
        )
        assert count == 1, "the bundled policy no longer has waste_counts_toward_limit where expected"
        variant = variant.replace('\neffective: "2025-06-24"', f'\neffective: "{date}"', 1)
        versions.append(parse_policy_version(variant, f"besponsa-waste-variant/{date}.yaml"))
    return Policy.of(versions)
