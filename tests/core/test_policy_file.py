"""Loading policy files: the bundled one is complete; malformed ones fail with file, path and problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from priorauth import PolicyError
from priorauth import load_policy as load_policies
from priorauth.core import parse_policy_version as parse_policy
from priorauth.core import walk

BUNDLED = Path(__file__).resolve().parents[2] / "src" / "priorauth" / "policies" / "besponsa" / "2025-06-24.yaml"


def load_policy(policy_id: str):
    return load_policies(policy_id).first


@pytest.fixture(scope="module")
def text() -> str:
    return BUNDLED.read_text(encoding="utf-8")


def test_bundled_policy_holds_every_section():
    p = load_policy("besponsa")
    assert p.metadata.document_number == "OHSU HEALTHSERVICES-0453"
    assert p.metadata.date_approved == dt.date(2025, 6, 24)
    assert p.metadata.date_of_origin == dt.date(2019, 5, 1)
    assert p.metadata.dates_reviewed[-1] == "2025-06"
    assert (p.parameter("authorization_months"), p.parameter("max_cycles")) == (6, 6)
    assert p.parameter("renewable") is False
    assert (p.parameter("max_units"), p.parameter("unit_window_days")) == (63, 21)
    assert {p.parameters[n].section for n in ("authorization_months", "max_cycles", "renewable")} == {"I"}
    assert p.parameters["max_units"].section == "II"
    assert p.billing.hcpcs.code == "J9229" and p.billing.hcpcs.mg_per_unit == 0.1
    assert p.billing.ndc[0].pattern == "00008-0100-xx" and p.billing.ndc[0].vial_mg == 0.9
    assert len(p.code_lists["appendix_1"].codes) == 13
    assert {r.section for r in p.references} == {"VII", "VIII"}
    assert len(p.references) == 17
    states = [s for j in p.mac_jurisdictions.jurisdictions for s in j.states]
    assert len(states) == len(set(states)) == 56  # 50 states, DC and 5 territories
    assert p.dosing.section == "V"
    sections = {node.section for _, node in walk(p.criteria)}
    assert {"I", "III", "IV", "Appendix 1"} <= sections


def test_every_criterion_cites_real_evidence_and_ambiguities_carry_a_reading():
    p = load_policy("besponsa")
    refs = {r.id for r in p.references}
    nodes = {node.id: node for _, node in walk(p.criteria)}
    for node in nodes.values():
        assert set(node.evidence) <= refs
    for cid in ("adult_use", "adult_rr_regimen", "adult_frontline_consolidation", "fc_rituximab",
                "rr_tki_combination", "pediatric", "adult_age", "pediatric_age", "covered_diagnosis_code"):
        assert nodes[cid].reading, cid


def _broken(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("route: intravenous\n", "route: intravenous\ncolour: blue\n", "besponsa.yaml: colour: unknown key"),
        ("drug: inotuzumab ozogamicin\n", "drug: inotuzumab ozogamicin\ndrug: x\n", "duplicate key 'drug'"),
        ('effective: "2025-06-24"', 'effective: "2025-13-01"', "effective: not a valid calendar date"),
        ("    value: 63\n", "    value: 63\n    values: 64\n", "parameters.max_units.values: unknown key"),
        ('date_approved: "2025-06-24"', 'date_approved: "2025-02-30"', "metadata.date_approved: "),
        ("equals: {cd22_positive: true}", "equals: {cd22_status: true}",
         "reads fact 'cd22_status', which is not declared"),
        ("equals: {regimen: single_agent}", "equals: {regimen: solo}", "value 'solo' is not one of the values"),
        ("          equals: {request_type: initial}",
         "          equals: {request_type: initial}\n          age_below: 3", "needs exactly one operator"),
        ("decided_on: request_date", "decided_on: birth_day", "decided_on: 'birth_day' is not a date question"),
        ("age_at_least: {fact: birth_date, years: 18}", "age_at_least: {fact: birth_date, decades: 2}",
         "`age_at_least` takes fact, optional months, optional years; found decades, fact"),
        ('evidence: ["VIII.6e"]', 'evidence: ["VIII.99e"]', "unknown reference 'VIII.99e'"),
    ],
)
def test_malformed_policy_names_file_path_and_problem(text, old, new, message):
    with pytest.raises(PolicyError) as info:
        parse_policy(_broken(text, old, new), "besponsa.yaml")
    assert str(info.value).startswith("besponsa.yaml: ")
    assert message in str(info.value)


def test_criterion_path_is_named_for_an_undeclared_fact(text):
    with pytest.raises(PolicyError) as info:
        parse_policy(_broken(text, "equals: {cd22_positive: true}", "equals: {cd22: true}"), "p.yaml")
    assert "criteria.any[0].all[1].all[1]" in str(info.value)


def test_unreadable_yaml_names_the_line():
    with pytest.raises(PolicyError) as info:
        parse_policy("id: x\n  bad: [\n", "bad.yaml")
    assert str(info.value).startswith("bad.yaml: line ")
