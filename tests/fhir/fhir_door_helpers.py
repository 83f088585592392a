"""Helpers for reading FHIR answers in the FHIR door tests."""

from __future__ import annotations


def coverage_information(order: dict) -> dict[str, list]:
    """The coverage-information extension of an order as url -> values."""
    from priorauth.fhir import systems

    (ext,) = [e for e in order.get("extension", []) if e["url"] == systems.COVERAGE_INFORMATION]
    out: dict[str, list] = {}
    for sub in ext["extension"]:
        value = sub.get("extension") or next(v for k, v in sub.items() if k.startswith("value"))
        out.setdefault(sub["url"], []).append(value)
    return out


def detail(info: dict[str, list], code: str) -> dict:
    for d in info["detail"]:
        parts = {p["url"]: p for p in d}
        if parts["code"]["valueCodeableConcept"]["coding"][0]["code"] == code:
            return parts
    raise KeyError(code)


def review_action(bundle: dict, item: int = 0) -> str:
    from priorauth.fhir import systems

    response = bundle["entry"][0]["resource"]
    assert response["resourceType"] == "ClaimResponse"
    # Where the PAS profile puts the decision and the Inferno kit reads it: item.adjudication.extension.
    assert all(e["url"] != systems.REVIEW_ACTION for e in response["item"][item].get("extension", []))
    (adjudication,) = response["item"][item]["adjudication"]
    assert adjudication["category"]["coding"][0]["code"] == "submitted"
    (action,) = [e for e in adjudication["extension"] if e["url"] == systems.REVIEW_ACTION]
    (code,) = [e for e in action["extension"] if e["url"] == systems.REVIEW_ACTION_CODE]
    (coding,) = code["valueCodeableConcept"]["coding"]
    assert coding["system"] == "https://codesystem.x12.org/005010/306"
    return coding["code"]
