"""A response to treatment from lab values, by the policy's response definitions (Section V)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from priorauth.core._policy.dosing import LabFinding, ResponseDefinitions


@dataclass(frozen=True, slots=True)
class Response:
    """A value of the policy's response input (what its response definitions classify labs into)."""

    value: str
    input: str = "response"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class ResponseAssessment:
    response: Response
    section: str
    findings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"response": self.response.value, "section": self.section, "findings": list(self.findings)}


def _field(labs: Any, name: str) -> Any:
    return labs.get(name) if isinstance(labs, Mapping) else getattr(labs, name, None)


def _dec(value: Any) -> Decimal:
    return Decimal(repr(float(value)))


def _holds(finding: LabFinding, value: Any) -> bool:
    if value is None:
        return False
    if finding.equals is not None:
        return bool(value) is finding.equals
    if finding.below is not None:
        return _dec(value) < finding.below
    assert finding.at_least is not None
    return _dec(value) >= finding.at_least


def classify_response(labs: Any, definitions: ResponseDefinitions) -> ResponseAssessment:
    """The first class whose findings all hold, else `otherwise`; with every finding in words.

    `labs` is the lab-values input (a parsed object or a mapping); an absent value holds no finding.
    """
    held = {f.id: _holds(f, _field(labs, f.field)) for f in definitions.findings}
    findings = tuple(f.met if held[f.id] else f.not_met for f in definitions.findings)
    value = next((c.value for c in definitions.classes if all(held[r] for r in c.requires)), definitions.otherwise)
    return ResponseAssessment(Response(value, definitions.input), definitions.section, findings)
