"""Three-valued (Kleene) logic: met, not met, unknown. Never collapsed into bool/None."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class Truth(Enum):
    """Status of a criterion."""

    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"

    # Members are singletons compared by identity: hash them the same way (Enum's
    # default hashes the name in Python code, a hot spot when decisions are cached).
    __hash__ = object.__hash__

    def __invert__(self) -> Truth:
        return negate(self)


MET, NOT_MET, UNKNOWN = Truth.MET, Truth.NOT_MET, Truth.UNKNOWN


def all_of(values: Iterable[Truth]) -> Truth:
    """Kleene AND. false and unknown = false; true and unknown = unknown; empty = true."""
    result = MET
    for v in values:
        if v is NOT_MET:
            return NOT_MET
        if v is UNKNOWN:
            result = UNKNOWN
    return result


def any_of(values: Iterable[Truth]) -> Truth:
    """Kleene OR. true or unknown = true; false or unknown = unknown; empty = false."""
    result = NOT_MET
    for v in values:
        if v is MET:
            return MET
        if v is UNKNOWN:
            result = UNKNOWN
    return result


def negate(value: Truth) -> Truth:
    """Kleene NOT. not unknown = unknown."""
    if value is MET:
        return NOT_MET
    if value is NOT_MET:
        return MET
    return UNKNOWN


def from_bool(value: bool) -> Truth:
    return MET if value else NOT_MET
