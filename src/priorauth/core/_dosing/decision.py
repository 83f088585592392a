"""How a dose check combines with the criteria decision. Never silently:

| criteria \\ doses | approved | with modification | denied | pended |
| approved         | approved | approved (A6)     | denied | pended |
| pended           | pended   | pended            | denied | pended |
| denied           | denied   | denied            | denied | denied |

An approval whose doses are modified stays `approved` (coverage is granted) and says
so three times: `dose_check.outcome` is `approved_with_modification`, its
`x12_action` is A6 with the allowed amounts, and `reasons` gains the modification.
A policy that does not govern the request (not_applicable) checks no doses.
"""

from __future__ import annotations

from dataclasses import replace

from priorauth.core._determination import Decision, Determination, Reason
from priorauth.core._dosing.check import DoseCheck, DoseOutcome


def _reasons(check: DoseCheck) -> tuple[Reason, ...]:
    return tuple(Reason(f"dose.{f.rule}", f.section, f.status, f.text) for f in check.reasons)


def apply_dose_check(det: Determination, check: DoseCheck | None) -> Determination:
    """The determination with the dose check attached and its outcome combined (table above)."""
    if check is None or det.decision is Decision.NOT_APPLICABLE:
        return det
    dose_reasons = _reasons(check)
    outcome = check.outcome
    if outcome is DoseOutcome.DENIED:
        if det.decision is Decision.DENIED:
            return replace(det, reasons=det.reasons + dose_reasons, dose_check=check)
        return replace(det, decision=Decision.DENIED, reasons=dose_reasons, missing_facts=(), authorization=None,
                       dose_check=check)
    if det.decision is Decision.DENIED:
        return replace(det, dose_check=check)
    if outcome is DoseOutcome.PENDED:
        missing = tuple(dict.fromkeys(det.missing_facts + check.missing))
        reasons = dose_reasons if det.decision is Decision.APPROVED else det.reasons + dose_reasons
        return replace(det, decision=Decision.PENDED, reasons=reasons, missing_facts=missing, authorization=None,
                       dose_check=check)
    if det.decision is Decision.PENDED:
        return replace(det, dose_check=check)
    return replace(det, reasons=det.reasons + dose_reasons, dose_check=check)
