"""A new version of the policy document is a data change: dated values, no code."""

from __future__ import annotations

from pathlib import Path

import pytest

import priorauth
from priorauth.core._engine import determine
from priorauth.core._facts import validate_facts
from priorauth.core._policy import parse_policy

BUNDLED = Path(__file__).resolve().parents[2] / "src" / "priorauth" / "policies" / "besponsa.yaml"
APPROVABLE = {
    "request_type": "initial", "birth_date": "1970-05-14", "diagnosis": "b_cell_precursor_all",
    "icd10_codes": ["C91.02"], "cd22_positive": True, "prior_inotuzumab": False, "baseline_ecg_normal": True,
    "ecg_monitoring_planned": True, "disease_setting": "relapsed_refractory", "regimen": "single_agent",
}


@pytest.fixture(scope="module")
def next_version():
    """The bundled policy plus a made-up 2027-01-01 version: 84 units, 4-month approvals."""
    text = BUNDLED.read_text(encoding="utf-8")
    text = text.replace(
        "    note: Document approved 06/24/2025 (review of 06/2025). Earlier versions are not encoded.\n",
        "    note: Document approved 06/24/2025 (review of 06/2025). Earlier versions are not encoded.\n"
        '  - effective: "2027-01-01"\n    note: A later review (test only).\n',
    )
    text = text.replace('values: {"2025-06-24": 63}', 'values: {"2025-06-24": 63, "2027-01-01": 84}')
    text = text.replace(
        "text: An approval covers this many calendar months from its start date.\n"
        '    values: {"2025-06-24": 6}',
        "text: An approval covers this many calendar months from its start date.\n"
        '    values: {"2025-06-24": 6, "2027-01-01": 4}',
    )
    return parse_policy(text, "besponsa-next.yaml")


def decide(policy, day):
    return determine(policy, validate_facts(policy, dict(APPROVABLE, request_date=day)))


def test_each_request_is_decided_under_the_version_in_force_on_its_date(next_version):
    before = decide(next_version, "2026-12-31")
    after = decide(next_version, "2027-01-01")
    assert before.policy_version == "2025-06-24"
    assert (before.authorization.max_units, str(before.authorization.end)) == (63, "2027-06-30")
    assert after.policy_version == "2027-01-01"
    assert (after.authorization.max_units, str(after.authorization.end)) == (84, "2027-04-30")


def test_a_variant_policy_does_not_change_the_bundled_one(next_version):
    decide(next_version, "2027-03-01")
    bundled = priorauth.evaluate({"policy": "besponsa", "facts": dict(APPROVABLE, request_date="2027-03-01")})
    assert bundled.policy_version == "2025-06-24" and bundled.authorization.max_units == 63


def test_a_changed_criterion_in_a_variant_is_used_for_that_variant():
    text = BUNDLED.read_text(encoding="utf-8").replace("age_at_least: 18", "age_at_least: 21")
    stricter = parse_policy(text, "besponsa-21.yaml")
    facts = dict(APPROVABLE, request_date="2026-03-02", birth_date="2006-03-02", regimen="mini_hyper_cvd",
                 ph_status="negative")
    assert decide(stricter, "2026-03-02").decision is priorauth.Decision.APPROVED  # 50-year-old: still fine
    assert determine(stricter, validate_facts(stricter, facts)).decision is priorauth.Decision.DENIED
    assert priorauth.evaluate({"policy": "besponsa", "facts": facts}).decision is priorauth.Decision.APPROVED
