"""Recognising orders of a policy's drug: RxNorm, HCPCS or NDC codes from the policy file.

An order is recognised by the billing codes of the version in force today (what a new
request is asked), for every policy of the registry in use: a MedicationRequest by its
medication (a CodeableConcept, a contained Medication or one the request carries), a
ServiceRequest or DeviceRequest by its code (a HCPCS drug code such as J-codes).
"""

from __future__ import annotations

from typing import Any

from priorauth.core import NdcError, Policy, PolicyVersion, ndc_matches, normalize_ndc, policy_registry
from priorauth.fhir import systems


def _version(policy: Policy | PolicyVersion) -> PolicyVersion:
    return policy.current() if isinstance(policy, Policy) else policy


def _rxnorm_codes(version: PolicyVersion) -> frozenset[str]:
    return frozenset(c.code for c in getattr(version.billing, "rxnorm", None) or [])


def coding_is_drug(policy: Policy | PolicyVersion, coding: dict[str, Any]) -> bool:
    """Whether one Coding names the policy's drug (by the billing codes of the current version)."""
    version = _version(policy)
    system, code = coding.get("system"), str(coding.get("code") or "").strip()
    if not code:
        return False
    if system == systems.RXNORM:
        return code in _rxnorm_codes(version)
    if system in systems.HCPCS_SYSTEMS:
        return code.upper() == version.billing.hcpcs.code
    if system == systems.NDC:
        try:
            ndc = normalize_ndc(code)
        except NdcError:
            return False
        return any(ndc_matches(ndc, p.pattern) for p in version.billing.ndc)
    return False


def concept_is_drug(policy: Policy | PolicyVersion, concept: dict[str, Any] | None) -> bool:
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


def policies() -> list[Policy]:
    """Every policy of the registry in use (read on each call: the registry may be replaced)."""
    return list(policy_registry())


# The order types the CRD coverage-information extension may sit on (its context in CRD 2.0.1).
ORDER_TYPES = ("MedicationRequest", "ServiceRequest", "DeviceRequest", "NutritionOrder", "CommunicationRequest")


def order_concept(order: dict[str, Any], resources: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """What an order asks for, as a CodeableConcept: the medication of a MedicationRequest, the code
    of a ServiceRequest, the device code of a DeviceRequest."""
    kind = order.get("resourceType")
    if kind == "MedicationRequest":
        return medication_concept(order, resources)
    if kind == "ServiceRequest":
        return order.get("code")
    if kind == "DeviceRequest":
        return order.get("codeCodeableConcept")
    return None


def policy_for_order(order: dict[str, Any], resources: dict[str, dict[str, Any]]) -> Policy | None:
    """The policy governing what this order asks for, if any."""
    concept = order_concept(order, resources)
    if concept is None:
        return None
    for policy in policies():
        if concept_is_drug(policy, concept):
            return policy
    return None
