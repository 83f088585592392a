"""Codes used by dosing and billing: ICD-10-CM existence, NDC readings, HCPCS."""

from __future__ import annotations

import pytest

from priorauth import RequestError, load_policy
from priorauth.core._codes import NdcError, icd10_code_set, icd10_exists, ndc_readings, normalize_hcpcs
from priorauth.core._dosing.billing import product_for_ndc

BILLING = load_policy("besponsa").latest.billing


@pytest.mark.parametrize(("code", "exists"), [
    ("C91.02", True), ("c9102", True), ("C91.0", True), ("C91", True), ("C83.50", True),
    ("C91.09", False), ("Z99.999", False), ("C9", False), ("not a code", False),
])
def test_icd10cm_existence(code, exists):
    assert icd10_exists(code) is exists


def test_every_appendix_1_code_exists_in_the_code_set():
    codes = load_policy("besponsa").latest.code_lists["appendix_1"].codes
    assert all(icd10_exists(c) for c in codes)
    assert icd10_code_set().startswith("ICD-10-CM")


def test_ten_digit_ndc_has_three_readings_and_the_policy_resolves_it():
    assert ndc_readings("0008010001") == ["00008-0100-01", "00080-0100-01", "00080-1000-01"]
    assert ndc_readings("0008-0100-01") == ["00008-0100-01"]
    assert product_for_ndc("0008010001", BILLING).vial_amount == 0.9
    assert product_for_ndc("00002-1234-01", BILLING) is None
    with pytest.raises(RequestError) as exc:
        product_for_ndc("12-34", BILLING, "dosing.ndc")
    assert exc.value.field == "dosing.ndc"
    with pytest.raises(NdcError):
        ndc_readings("123")


def test_hcpcs_normalisation():
    assert normalize_hcpcs(" j9229 ") == "J9229"
    with pytest.raises(ValueError):
        normalize_hcpcs("J92290")
