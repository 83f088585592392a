"""Response to treatment from labs: CR, CRi or neither (Section V definitions)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from priorauth.core._policy.dosing import ResponseDefinitions


class Response(StrEnum):
    """Best response so far."""

    CR = "CR"
    CRI = "CRi"
    NONE = "none"

    @property
    def achieved(self) -> bool:
        """CR or CRi."""
        return self is not Response.NONE


@dataclass(frozen=True, slots=True)
class Labs:
    """Marrow and blood findings; counts in x10^9/L."""

    marrow_blasts_percent: float
    peripheral_blasts: bool
    platelets: float
    anc: float
    extramedullary_resolved: bool = True  # also true when there was none


@dataclass(frozen=True, slots=True)
class ResponseAssessment:
    response: Response
    section: str
    findings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"response": self.response.value, "section": self.section, "findings": list(self.findings)}


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def classify_response(labs: Labs, definitions: ResponseDefinitions) -> ResponseAssessment:
    """CR: remission with full count recovery; CRi: remission with incomplete recovery; else none."""
    d = definitions
    unit = d.counts_unit
    findings = []
    remission = True
    if _dec(labs.marrow_blasts_percent) < d.marrow_blasts_below_percent:
        findings.append(f"marrow blasts under {d.marrow_blasts_below_percent}%")
    else:
        findings.append(f"marrow blasts not under {d.marrow_blasts_below_percent}%")
        remission = False
    if labs.peripheral_blasts:
        findings.append("leukemic blasts in the peripheral blood")
        remission = False
    else:
        findings.append("no leukemic blasts in the peripheral blood")
    if labs.extramedullary_resolved:
        findings.append("no unresolved extramedullary disease")
    else:
        findings.append("extramedullary disease not resolved")
        remission = False
    platelets_ok = _dec(labs.platelets) >= d.platelets_recovered_at_least
    anc_ok = _dec(labs.anc) >= d.anc_recovered_at_least
    findings.append(
        f"platelets {'at least' if platelets_ok else 'under'} {d.platelets_recovered_at_least} {unit}"
    )
    findings.append(f"ANC {'at least' if anc_ok else 'under'} {d.anc_recovered_at_least} {unit}")
    if not remission:
        response = Response.NONE
    elif platelets_ok and anc_ok:
        response = Response.CR
    else:
        response = Response.CRI
    return ResponseAssessment(response, d.section, tuple(findings))
