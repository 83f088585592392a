"""Truth tables of the three-valued operators (Kleene's strong logic)."""

import pytest

from priorauth.core._logic import MET, NOT_MET, UNKNOWN, all_of, any_of, negate  # the private operators under test

AND = [
    (MET, MET, MET),
    (MET, NOT_MET, NOT_MET),
    (MET, UNKNOWN, UNKNOWN),
    (NOT_MET, MET, NOT_MET),
    (NOT_MET, NOT_MET, NOT_MET),
    (NOT_MET, UNKNOWN, NOT_MET),  # false and unknown = false
    (UNKNOWN, MET, UNKNOWN),
    (UNKNOWN, NOT_MET, NOT_MET),
    (UNKNOWN, UNKNOWN, UNKNOWN),
]
OR = [
    (MET, MET, MET),
    (MET, NOT_MET, MET),
    (MET, UNKNOWN, MET),  # true or unknown = true
    (NOT_MET, MET, MET),
    (NOT_MET, NOT_MET, NOT_MET),
    (NOT_MET, UNKNOWN, UNKNOWN),
    (UNKNOWN, MET, MET),
    (UNKNOWN, NOT_MET, UNKNOWN),
    (UNKNOWN, UNKNOWN, UNKNOWN),
]


@pytest.mark.parametrize(("a", "b", "expected"), AND)
def test_and(a, b, expected):
    assert all_of([a, b]) is expected


@pytest.mark.parametrize(("a", "b", "expected"), OR)
def test_or(a, b, expected):
    assert any_of([a, b]) is expected


@pytest.mark.parametrize(("a", "expected"), [(MET, NOT_MET), (NOT_MET, MET), (UNKNOWN, UNKNOWN)])
def test_not(a, expected):
    assert negate(a) is expected
    assert ~a is expected


def test_empty_and_is_met_and_empty_or_is_not_met():
    assert all_of([]) is MET
    assert any_of([]) is NOT_MET


def test_unknown_is_never_a_boolean():
    assert UNKNOWN not in (True, False, None)
    assert not isinstance(UNKNOWN.value, bool)
