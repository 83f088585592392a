"""Recognising orders of a policy's drug: RxNorm, HCPCS or NDC codes from the policy file."""

from __future__ import annotations

from functools import cache
from typing import Any

from priorauth.codes import NdcError, ndc_matches, normalize_ndc
from priorauth.fhir import systems
from priorauth.policy import bundled_policy_ids, load_policy
from priorauth.policy.schema import Policy


def _rxnorm_codes(policy: Policy) -> frozenset[str]:
    return frozenset(c.code for c in getattr(policy.billing, "rxnorm", None) or [])


def coding_is_drug(policy: Policy, coding: dict[str, Any]) -> bool:
    """Whether one Coding names the policy's drug."""
    system, code = coding.get("system"), str(coding.get("code") or "").strip()
    if not code:
        return False
    if system == systems.RXNORM:
        return code in _rxnorm_codes(policy)
    if system in systems.HCPCS_SYSTEMS:
        return code.upper() == policy.billing.hcpcs.code
    if system == systems.NDC:
        try:
            ndc = normalize_ndc(code)
        except NdcError:
            return False
        return any(ndc_matches(ndc, p.pattern) for p in policy.billing.ndc)
    return False


def concept_is_drug(policy: Policy, concept: dict[str, Any] | None) -> bool:
    return any(coding_is_drug(policy, c) for c in (concept or {}).get("coding") or [])


def medication_concept(order: dict[str, Any], resources: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The medication of a MedicationRequest: its CodeableConcept, or the referenced Medication's code."""
    if order.get("medicationCodeableConcept"):
        return order["medicationCodeableConcept"]
    ref = (order.get("medicationReference") or {}).get("reference")
    if not ref:
        return None
    if ref.startswith("#"):
        for contained in order.get("contained") or []:
            if contained.get("resourceType") == "Medication" and contained.get("id") == ref[1:]:
                return contained.get("code")
        return None
    medication = resources.get(ref)
    return (medication or {}).get("code")


@cache
def _policies() -> tuple[Policy, ...]:
    return tuple(load_policy(pid) for pid in bundled_policy_ids())


def policy_for_order(order: dict[str, Any], resources: dict[str, dict[str, Any]]) -> Policy | None:
    """The bundled policy governing the drug of this MedicationRequest, if any."""
    concept = medication_concept(order, resources)
    for policy in _policies():
        if concept_is_drug(policy, concept):
            return policy
    return None
