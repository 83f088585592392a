"""Properties of determinations over random partial requests (hypothesis).

(a) adding a fact to an approved or denied request never changes the decision;
(b) giving every missing fact any valid value never leaves the request pended for them;
(c) every missing fact can change the decision.
"""

from __future__ import annotations

import datetime as dt
import itertools

from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import priorauth
from priorauth import Decision

FIRST_VERSION = dt.date(2025, 6, 24)
dates = st.dates(min_value=FIRST_VERSION, max_value=dt.date(2028, 12, 31))
births = st.dates(min_value=dt.date(1925, 1, 1), max_value=FIRST_VERSION)

VALUES = {
    "request_type": st.sampled_from(["initial", "renewal"]),
    "request_date": dates,
    "birth_date": births,
    "diagnosis": st.sampled_from(["b_cell_precursor_all", "other"]),
    "icd10_codes": st.sampled_from([["C91.02"], ["C92.00"], ["E11.9", "C83.50"], ["C91.00", "C91.01"]]),
    "cd22_positive": st.booleans(),
    "prior_inotuzumab": st.booleans(),
    "baseline_ecg_normal": st.booleans(),
    "ecg_monitoring_planned": st.booleans(),
    "disease_setting": st.sampled_from(["relapsed_refractory", "frontline_consolidation", "frontline_induction",
                                        "other"]),
    "regimen": st.sampled_from(["single_agent", "mini_hyper_cvd", "tki_combination", "other"]),
    "with_blinatumomab": st.booleans(),
    "tki": st.sampled_from(["dasatinib", "ponatinib", "asciminib"]),
    "ph_status": st.sampled_from(["positive", "negative"]),
    "with_rituximab": st.booleans(),
    "substantial_comorbidities": st.booleans(),
    "member_state": st.sampled_from(["OR", "VA", "TX", "PR"]),
    "member_county": st.sampled_from(["Fairfax", "Richmond city", "Alexandria"]),
    "first_authorization_date": dates,
    "cycles_received": st.integers(min_value=0, max_value=8),
}
BASES = [
    {"request_type": "initial", "request_date": "2026-03-02", "birth_date": "1970-05-14",
     "diagnosis": "b_cell_precursor_all", "icd10_codes": ["C91.02"], "cd22_positive": True,
     "prior_inotuzumab": False, "baseline_ecg_normal": True, "ecg_monitoring_planned": True,
     "disease_setting": "relapsed_refractory", "regimen": "single_agent", "ph_status": "negative"},
    {"request_type": "initial", "request_date": "2026-03-02", "birth_date": "1962-03-02",
     "diagnosis": "b_cell_precursor_all", "icd10_codes": ["C91.00"], "cd22_positive": True,
     "prior_inotuzumab": False, "baseline_ecg_normal": True, "ecg_monitoring_planned": True,
     "disease_setting": "frontline_consolidation", "regimen": "mini_hyper_cvd", "ph_status": "negative",
     "with_rituximab": True, "substantial_comorbidities": False},
    {"request_type": "renewal", "request_date": "2026-06-15", "first_authorization_date": "2026-03-02",
     "cycles_received": 4},
    {"request_type": "initial", "request_date": "2026-03-02", "line_of_business": "medicare",
     "member_state": "VA", "member_county": "Fairfax"},
]


@st.composite
def partial_facts(draw):
    """A near-approvable request with some facts changed, dropped or added: a mix of every outcome."""
    facts = dict(draw(st.sampled_from(BASES)))
    for name, strategy in VALUES.items():
        roll = draw(st.integers(0, 9))
        if name in facts and roll < 3:
            del facts[name]
        elif roll == 9 or (name not in facts and roll == 8):
            value = draw(strategy)
            facts[name] = value.isoformat() if isinstance(value, dt.date) else value
    if "birth_date" in facts and "request_date" not in facts:
        facts["request_date"] = draw(dates).isoformat()
    return facts


def decide(facts):
    return priorauth.evaluate({"policy": "besponsa", "facts": facts})


PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


@PROPERTY_SETTINGS
@given(facts=partial_facts(), data=st.data())
def test_a_adding_a_fact_never_changes_a_decided_request(facts, data):
    det = decide(facts)
    assume(det.decision in (Decision.APPROVED, Decision.DENIED))
    absent = sorted(set(VALUES) - set(facts))
    assume(absent)
    name = data.draw(st.sampled_from(absent))
    value = data.draw(VALUES[name])
    more = dict(facts, **{name: value.isoformat() if isinstance(value, dt.date) else value})
    assert decide(more).decision is det.decision


@PROPERTY_SETTINGS
@given(facts=partial_facts(), data=st.data())
def test_b_answering_every_missing_fact_settles_them(facts, data):
    det = decide(facts)
    assume(det.missing_facts)
    more = dict(facts)
    for name in det.missing_facts:
        value = data.draw(VALUES[name])
        more[name] = value.isoformat() if isinstance(value, dt.date) else value
    try:
        after = decide(more)
    except priorauth.RequestError:
        assume(False)  # e.g. a drawn birth date after the drawn request date
    assert not set(after.missing_facts) & set(det.missing_facts)
    if det.decision is Decision.PENDED:
        assert after.decision is not Decision.PENDED


def witnesses(name: str, facts: dict) -> list:
    """Values of one fact that reach each side of every test the policy makes on it."""
    day = dt.date.fromisoformat(facts.get("request_date", "2026-03-02"))
    if name == "birth_date":
        return [(day - relativedelta(years=y) + relativedelta(days=d)).isoformat()
                for y in (1, 18, 65) for d in (0, 1)]
    if name == "request_date":
        return ["2026-03-02", "2026-12-01"]
    if name == "first_authorization_date":
        return [day.isoformat(), (day - relativedelta(months=7)).isoformat()]
    if name == "cycles_received":
        return [0, 6]
    if name == "icd10_codes":
        return [["C91.02"], ["C92.00"]]
    if name == "member_county":
        return ["Fairfax", "Richmond city"]
    if name == "member_state":
        return ["OR", "VA"]
    strategy_values = {
        "request_type": ["initial", "renewal"], "diagnosis": ["b_cell_precursor_all", "other"],
        "disease_setting": ["relapsed_refractory", "frontline_consolidation", "frontline_induction", "other"],
        "regimen": ["single_agent", "mini_hyper_cvd", "tki_combination", "other"],
        "ph_status": ["positive", "negative"], "tki": ["dasatinib", "asciminib"],
    }
    return strategy_values.get(name, [True, False])


def outcome(det):
    return (det.decision, det.routing.jurisdiction if det.routing else None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(facts=partial_facts())
def test_c_every_missing_fact_can_change_the_decision(facts):
    det = decide(facts)
    missing = list(det.missing_facts)
    assume(missing and len(missing) <= 4 and "request_date" not in missing)
    domains = {name: witnesses(name, facts) for name in missing}
    results = {}
    for combo in itertools.product(*(range(len(domains[n])) for n in missing)):
        trial = dict(facts, **{n: domains[n][k] for n, k in zip(missing, combo, strict=True)})
        try:
            results[combo] = outcome(decide(trial))
        except priorauth.RequestError:
            continue
    for position, name in enumerate(missing):
        groups = {}
        for combo, result in results.items():
            groups.setdefault(combo[:position] + combo[position + 1:], set()).add(result)
        assert any(len(g) > 1 for g in groups.values()), f"{name} cannot change the decision"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(facts=partial_facts())
def test_generated_evaluator_agrees_with_the_plain_loop(facts):
    from priorauth.core import validate_facts

    version = priorauth.load_policy("besponsa").first
    try:
        valid = validate_facts(version, facts)
    except priorauth.RequestError:
        assume(False)
    criteria = version.runtime.criteria
    params = version.runtime.params
    assert criteria.evaluate(valid, params) == criteria.evaluate_by_loop(valid, params)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(facts=partial_facts())
def test_residual_cache_never_changes_a_determination(facts):
    from priorauth.core import _residual as engine  # the private cache switch under test

    try:
        warm = decide(facts)
        warm_again = decide(facts)
    except priorauth.RequestError:
        assume(False)
    size = engine.RESIDUAL_CACHE_SIZE
    engine.RESIDUAL_CACHE_SIZE = 0
    try:
        cold = decide(facts)
    finally:
        engine.RESIDUAL_CACHE_SIZE = size
    assert warm.to_dict() == warm_again.to_dict() == cold.to_dict()
