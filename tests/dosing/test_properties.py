"""Properties of the billing arithmetic and the dose plan, for any plausible patient."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from priorauth import load_policy, plan_doses
from priorauth.core._dosing import vial_use

POLICY = load_policy("besponsa")
BILLING = POLICY.latest.billing
UNIT = Decimal(str(BILLING.hcpcs.amount_per_unit))
UNITS_PER_VIAL = int(Decimal(str(BILLING.ndc[0].vial_amount)) / UNIT)

doses_mg = st.decimals(min_value=0, max_value=20, places=4, allow_nan=False, allow_infinity=False)
bsas = st.decimals(min_value=Decimal("0.1"), max_value=5, places=2)


@given(doses_mg)
def test_billing_identities_for_any_dose(mg):
    use = vial_use(mg, BILLING)
    assert use.units * UNIT >= mg  # billed units cover the administered amount
    assert (use.units - 1) * UNIT < mg or use.units == 0  # ... by less than one unit
    assert use.units + use.discarded_units == use.vials * UNITS_PER_VIAL
    assert min(use.units, use.vials, use.discarded_units, use.discarded_mg) >= 0
    assert use.modifier == ("JW" if use.discarded_units else "JZ")


@settings(max_examples=60)
@given(bsas, bsas, st.integers(min_value=1, max_value=6), st.sampled_from(["CR", "CRi", "none"]))
def test_doses_never_decrease_when_bsa_grows(a, b, cycle, response):
    small, large = sorted((a, b))
    p, q = (plan_doses(POLICY, bsa_m2=float(x), cycle=cycle, response=response) for x in (small, large))
    for d, e in zip(p.days, q.days, strict=True):
        assert d.mg <= e.mg and d.billing.units <= e.billing.units and d.billing.vials <= e.billing.vials
    assert p.total_units <= q.total_units


@settings(max_examples=60)
@given(st.floats(min_value=60, max_value=220), st.floats(min_value=8, max_value=200),
       st.sampled_from(["mosteller", "dubois", "haycock"]))
def test_plans_for_plausible_patients_are_consistent(height, weight, method):
    bmi = weight / (height / 100) ** 2
    if not 7 <= bmi <= 150:
        return
    plan = plan_doses(POLICY, height_cm=height, weight_kg=weight, bsa_method=method)
    for day in plan.days:
        assert day.mg == day.mg_per_m2 * plan.bsa.m2
        assert day.billing.units * UNIT >= day.mg
    assert plan.window.units == plan.total_units + plan.total_discarded_units  # one cycle = one window
    assert plan.within_limit == (plan.window.units <= 63)
