"""Facts and measurements read from the EHR's FHIR data (Patient, Condition, Coverage,
Observation, the order), and the pre-filled QuestionnaireResponse built from them.

Read with one policy version's vocabulary (the version whose questions are asked).
Only what the record states is read; nothing is guessed. A value that does not fit the
policy's vocabulary is left out (the question stays open), never coerced.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from priorauth.core import PolicyVersion, normalize_icd10, normalize_state
from priorauth.fhir import systems
from priorauth.fhir.questionnaire import MEASUREMENT_GROUP, MEASUREMENTS, answer_value, canonical

FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INACTIVE_CONDITION = {"inactive", "resolved"}
NOT_A_DIAGNOSIS = {"refuted", "entered-in-error"}
# Source of Payment Typology: first digit 1 Medicare, 2 Medicaid, 5 and 6 private insurance.
PAYER_TYPOLOGY = {"1": "medicare", "2": "medicaid", "5": "commercial", "6": "commercial"}
_UNITS = {
    "body_height": {"cm": 1.0, "m": 100.0, "[in_i]": 2.54, "in": 2.54},
    "body_weight": {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237},
}


@dataclass
class RecordFacts:
    """What the record says: raw facts (contract vocabulary) and measurements (cm, kg)."""

    facts: dict[str, Any] = field(default_factory=dict)
    measurements: dict[str, float] = field(default_factory=dict)


def _codings(concept: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((concept or {}).get("coding") or [])


def icd10_codes(concepts: list[dict[str, Any] | None]) -> list[str]:
    """ICD-10-CM codes in the concepts, normalised, in order, without repeats."""
    out: list[str] = []
    for concept in concepts:
        for coding in _codings(concept):
            if coding.get("system") != systems.ICD10CM or not coding.get("code"):
                continue
            try:
                code = normalize_icd10(coding["code"])
            except ValueError:
                continue
            if code not in out:
                out.append(code)
    return out


def _condition_counts(condition: dict[str, Any]) -> bool:
    clinical = {c.get("code") for c in _codings(condition.get("clinicalStatus"))}
    verification = {c.get("code") for c in _codings(condition.get("verificationStatus"))}
    return not (clinical & INACTIVE_CONDITION) and not (verification & NOT_A_DIAGNOSIS)


def _home_address(patient: dict[str, Any]) -> dict[str, Any] | None:
    addresses = [a for a in patient.get("address") or [] if not (a.get("period") or {}).get("end")]
    homes = [a for a in addresses if a.get("use") in ("home", None)]
    return (homes or addresses or [None])[0]


def _line_of_business(policy: PolicyVersion, coverage: dict[str, Any]) -> str | None:
    try:
        values = policy.question("line_of_business").values or []
    except KeyError:
        return None
    for coding in _codings(coverage.get("type")):
        if coding.get("system") == systems.SOURCE_OF_PAYMENT and coding.get("code"):
            value = PAYER_TYPOLOGY.get(str(coding["code"])[0])
            if value in values:
                return value
    return None


def _measurement(observation: dict[str, Any]) -> tuple[str, float, str] | None:
    if observation.get("status") in ("entered-in-error", "cancelled"):
        return None
    codes = {c.get("code") for c in _codings(observation.get("code")) if c.get("system") == systems.LOINC}
    quantity = observation.get("valueQuantity") or {}
    for name, (_, loinc, _) in MEASUREMENTS.items():
        if loinc in codes and quantity.get("value") is not None:
            factor = _UNITS[name].get(quantity.get("code") or quantity.get("unit") or "")
            if factor is None:
                return None
            when = observation.get("effectiveDateTime") or observation.get("issued") or ""
            return name, round(float(quantity["value"]) * factor, 2), str(when)
    return None


def read_record(
    policy: PolicyVersion,
    patient: dict[str, Any] | None = None,
    conditions: Sequence[dict[str, Any]] = (),
    observations: Sequence[dict[str, Any]] = (),
    coverage: dict[str, Any] | None = None,
    order: dict[str, Any] | None = None,
) -> RecordFacts:
    """Facts the FHIR resources state (FHIR JSON that already parsed)."""
    declared = {q.id for q in policy.questions}
    facts: dict[str, Any] = {}
    if patient:
        birth = patient.get("birthDate")
        if isinstance(birth, str) and FULL_DATE.match(birth):
            facts["birth_date"] = birth
        address = _home_address(patient)
        if address and address.get("state"):
            try:
                facts["member_state"] = normalize_state(address["state"])
            except ValueError:
                pass
            if address.get("district"):
                facts["member_county"] = address["district"]
    # The order's own reasons name the diagnoses of the request; else the active problems.
    codes = icd10_codes(list((order or {}).get("reasonCode") or []))
    if not codes:
        codes = icd10_codes([c.get("code") for c in conditions if _condition_counts(c)])
    if codes:
        facts["icd10_codes"] = codes
    if coverage:
        lob = _line_of_business(policy, coverage)
        if lob:
            facts["line_of_business"] = lob
    # The order's authoredOn is not the request date: a request is decided for the day PAS receives it.
    latest: dict[str, tuple[str, float]] = {}
    for obs in observations:
        m = _measurement(obs)
        if m and (m[0] not in latest or m[2] >= latest[m[0]][0]):
            latest[m[0]] = (m[2], m[1])
    return RecordFacts(
        {k: v for k, v in facts.items() if k in declared},
        {name: value for name, (_, value) in latest.items()},
    )


def questionnaire_response(
    policy: PolicyVersion,
    facts: dict[str, Any],
    measurements: dict[str, float] | None = None,
    subject: str | None = None,
    response_id: str | None = None,
) -> dict[str, Any]:
    """A QuestionnaireResponse (status in-progress) answering what is known, in question order."""
    items = []
    for q in policy.questions:
        value = facts.get(q.id)
        if value is None:
            continue
        values = value if q.type == "code_list" else [value]
        items.append({"linkId": q.id, "text": q.text, "answer": [answer_value(policy, q, v) for v in values]})
    measured = [
        {"linkId": name, "answer": [{"valueDecimal": measurements[name]}]}
        for name in MEASUREMENTS
        if measurements and name in measurements
    ]
    if measured:
        items.append({"linkId": MEASUREMENT_GROUP, "item": measured})
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": canonical(policy),
        "status": "in-progress",
        "authored": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }
    if response_id:
        response["id"] = response_id
    if subject:
        response["subject"] = {"reference": subject}
    if items:
        response["item"] = items
    return response
