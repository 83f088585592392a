"""BSA formulas and limits, Section V cycle rules and the CR / CRi definitions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from priorauth import RequestError, load_policy
from priorauth.core import Truth
from priorauth.core._dosing import body_surface_area, classify_response, cycle_eligibility

MET, NOT_MET, UNKNOWN = Truth.MET, Truth.NOT_MET, Truth.UNKNOWN
RULES = load_policy("besponsa").latest.dosing


def Labs(marrow_blasts_percent, peripheral_blasts, platelets, anc, extramedullary_resolved=True):  # noqa: N802
    """Lab values as the request's `labs` input carries them."""
    return {"marrow_blasts_percent": marrow_blasts_percent, "peripheral_blasts": peripheral_blasts,
            "platelets": platelets, "anc": anc, "extramedullary_resolved": extramedullary_resolved}


@pytest.mark.parametrize(("method", "expected"), [
    ("mosteller", "1.82"),  # sqrt(170 x 70 / 3600) = 1.8181
    ("dubois", "1.81"),  # 0.007184 x 70^0.425 x 170^0.725 = 1.8097
    ("haycock", "1.83"),  # 0.024265 x 70^0.5378 x 170^0.3964 = 1.8257
])
def test_bsa_formulas(method, expected):
    bsa = body_surface_area(RULES, height_cm=170, weight_kg=70, method=method)
    assert bsa.m2 == Decimal(expected) and bsa.method == method


def test_given_bsa_is_rounded_and_a_cap_applies_only_when_asked():
    assert body_surface_area(RULES, bsa_m2=2.345).m2 == Decimal("2.35")  # half up
    assert body_surface_area(RULES, bsa_m2=2.6).capped is False
    capped = body_surface_area(RULES, bsa_m2=2.6, cap_m2=2.0)
    assert (capped.m2, capped.capped) == (Decimal("2.00"), True)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"height_cm": 0, "weight_kg": 70}, "height_cm"),
    ({"height_cm": -170, "weight_kg": 70}, "height_cm"),
    ({"height_cm": 170, "weight_kg": 900}, "weight_kg"),
    ({"height_cm": 170, "weight_kg": -1}, "weight_kg"),
    ({"height_cm": 240, "weight_kg": 3}, "weight_kg"),  # each plausible, together not (BMI 0.5)
    ({"bsa_m2": 0}, "bsa_m2"),
    ({"bsa_m2": 9}, "bsa_m2"),
    ({"bsa_m2": float("nan")}, "bsa_m2"),
    ({"height_cm": 170}, "weight_kg"),
    ({"bsa_m2": 1.8, "height_cm": 170, "weight_kg": 70}, "bsa_m2"),
])
def test_implausible_or_incomplete_measurements_are_refused_naming_the_field(kwargs, field):
    with pytest.raises(RequestError) as exc:
        body_surface_area(RULES, **kwargs)
    assert exc.value.field == field
    for value in kwargs.values():
        if value not in (0, 1, 2, 3):
            assert str(value) not in exc.value.problem  # messages never echo values


CR, CRI, NONE = "CR", "CRi", "none"


@pytest.mark.parametrize(("cycle", "response", "hsct", "mrd", "status", "missing"), [
    (1, None, None, None, MET, ()),
    (3, NONE, False, None, MET, ()),  # no response yet, but within 3 cycles
    (4, NONE, False, None, NOT_MET, ()),  # no CR/CRi within 3 cycles: stop
    (4, CRI, False, None, MET, ()),
    (6, CR, False, None, MET, ()),
    (7, CR, False, None, NOT_MET, ()),  # at most 6
    (4, None, False, None, UNKNOWN, ("response",)),
    (2, CR, True, True, MET, ()),  # HSCT: 2 cycles
    (3, CR, True, True, NOT_MET, ()),  # CR with MRD negativity after 2: no third
    (3, CR, True, False, MET, ()),  # MRD positive: a third may be given
    (3, NONE, True, None, MET, ()),  # no CR/CRi: a third may be given
    (3, CR, True, None, UNKNOWN, ("mrd_negative",)),
    (4, CR, True, False, NOT_MET, ()),  # never a fourth before HSCT
    (3, CR, None, True, UNKNOWN, ("proceeding_to_hsct",)),
    (5, CR, None, None, UNKNOWN, ("proceeding_to_hsct",)),
    (2, None, None, None, MET, ()),  # same answer either way: no need to ask
    (7, None, None, None, NOT_MET, ()),
])
def test_cycle_rules(cycle, response, hsct, mrd, status, missing):
    eligibility = cycle_eligibility(RULES, cycle, {"response": response, "proceeding_to_hsct": hsct,
                                                   "mrd_negative": mrd})
    assert eligibility.status is status
    assert eligibility.missing == missing
    assert all(rule.section == "V" for rule in eligibility.rules)


@pytest.mark.parametrize(("labs", "expected"), [
    (Labs(2, False, 150, 1.5), CR),
    (Labs(4.9, False, 100, 1.0), CR),  # thresholds: platelets >= 100, ANC >= 1
    (Labs(2, False, 99, 1.5), CRI),
    (Labs(2, False, 150, 0.9), CRI),
    (Labs(2, False, 20, 0.2), CRI),
    (Labs(5, False, 150, 1.5), NONE),  # blasts must be under 5%
    (Labs(2, True, 150, 1.5), NONE),  # peripheral blasts
    (Labs(2, False, 150, 1.5, extramedullary_resolved=False), NONE),
])
def test_response_classification(labs, expected):
    assessment = classify_response(labs, RULES.response_definitions)
    assert assessment.response.value == expected and assessment.section == "V"
