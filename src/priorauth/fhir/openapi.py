"""The request bodies of the FHIR door in the OpenAPI document, so that schema-driven fuzzing
(schemathesis) reaches every FHIR endpoint with bodies of the right shape and with wrong ones.

The schemas describe the outline each endpoint reads (a CDS Hooks request, a PAS Bundle with a Claim
first, DTR Parameters, a QuestionnaireResponse); FHIR's own rules are checked by the endpoints.
"""

from __future__ import annotations

from typing import Any

CODING = {
    "type": "object",
    "properties": {"system": {"type": "string"}, "code": {"type": "string"}, "display": {"type": "string"}},
}
CONCEPT = {"type": "object", "properties": {"coding": {"type": "array", "items": CODING}, "text": {"type": "string"}}}
REFERENCE = {"type": "object", "properties": {"reference": {"type": "string"}}}
DATE = {"type": "string", "example": "2026-03-02"}


def _resource(kind: str, properties: dict[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["resourceType", *required],
        "properties": {
            "resourceType": {"type": "string", "enum": [kind]},
            "id": {"type": "string"},
            **(properties or {}),
        },
    }


PATIENT = _resource(
    "Patient",
    {
        "birthDate": DATE,
        "identifier": {"type": "array", "items": {"type": "object", "properties": {"value": {"type": "string"}}}},
        "address": {"type": "array", "items": {"type": "object", "properties": {"state": {"type": "string"}}}},
    },
)
COVERAGE = _resource(
    "Coverage",
    {
        "status": {"type": "string", "enum": ["active", "cancelled"]},
        "type": CONCEPT,
        "subscriberId": {"type": "string"},
    },
)
MEDICATION_REQUEST = _resource(
    "MedicationRequest",
    {
        "status": {"type": "string", "enum": ["draft", "active"]},
        "intent": {"type": "string", "enum": ["order"]},
        "medicationCodeableConcept": CONCEPT,
        "reasonCode": {"type": "array", "items": CONCEPT},
        "subject": REFERENCE,
    },
)
ANSWER = {
    "type": "object",
    "properties": {
        "valueBoolean": {"type": "boolean"},
        "valueDate": DATE,
        "valueCoding": CODING,
        "valueString": {"type": "string"},
        "valueInteger": {"type": "integer"},
        "valueDecimal": {"type": "number"},
    },
}
QUESTIONNAIRE_RESPONSE = _resource(
    "QuestionnaireResponse",
    {
        "questionnaire": {"type": "string"},
        "status": {"type": "string", "enum": ["in-progress", "completed"]},
        "item": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["linkId"],
                "properties": {"linkId": {"type": "string"}, "answer": {"type": "array", "items": ANSWER}},
            },
        },
    },
    ("status",),
)
CLAIM = _resource(
    "Claim",
    {
        "identifier": {
            "type": "array",
            "items": {"type": "object", "properties": {"system": {"type": "string"}, "value": {"type": "string"}}},
        },
        "status": {"type": "string", "enum": ["active"]},
        "type": CONCEPT,
        "use": {"type": "string", "enum": ["preauthorization"]},
        "patient": REFERENCE,
        "created": {"type": "string", "example": "2026-03-02T10:00:00Z"},
        "provider": REFERENCE,
        "insurer": REFERENCE,
        "priority": CONCEPT,
        "insurance": {
            "type": "array",
            "items": {"type": "object", "properties": {"coverage": REFERENCE, "focal": {"type": "boolean"}}},
        },
        "supportingInfo": {"type": "array", "items": {"type": "object", "properties": {"valueReference": REFERENCE}}},
        "diagnosis": {
            "type": "array",
            "items": {"type": "object", "properties": {"diagnosisCodeableConcept": CONCEPT}},
        },
        "item": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "sequence": {"type": "integer", "minimum": 1},
                    "productOrService": CONCEPT,
                    "quantity": {"type": "object", "properties": {"value": {"type": "number"}}},
                },
            },
        },
    },
)
ENTRY_RESOURCES = [CLAIM, PATIENT, COVERAGE, QUESTIONNAIRE_RESPONSE]
PAS_BUNDLE = _resource(
    "Bundle",
    {
        "type": {"type": "string", "enum": ["collection"]},
        "entry": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"fullUrl": {"type": "string"}, "resource": {"oneOf": ENTRY_RESOURCES}},
            },
        },
    },
)
PARAMETERS = _resource(
    "Parameters",
    {
        "parameter": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "enum": ["coverage", "order", "questionnaire", "context", "referenced"]},
                    "resource": {"oneOf": [COVERAGE, MEDICATION_REQUEST, PATIENT]},
                    "valueCanonical": {"type": "string"},
                    "valueString": {"type": "string"},
                },
            },
        }
    },
)
HOOK_REQUEST = {
    "type": "object",
    "required": ["hook", "hookInstance", "context"],
    "properties": {
        "hook": {"type": "string", "enum": ["order-sign", "order-select"]},
        "hookInstance": {"type": "string"},
        "fhirServer": {"type": "string"},
        "context": {
            "type": "object",
            "required": ["patientId", "draftOrders"],
            "properties": {
                "patientId": {"type": "string"},
                "selections": {"type": "array", "items": {"type": "string"}},
                "draftOrders": _resource(
                    "Bundle",
                    {
                        "entry": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"resource": MEDICATION_REQUEST}},
                        }
                    },
                ),
            },
        },
        "prefetch": {"type": "object", "properties": {"patient": PATIENT, "coverage": COVERAGE}},
        "extension": {
            "type": "object",
            "properties": {
                "davinci-crd.configuration": {"type": "object", "properties": {"coverage-info": {"type": "boolean"}}}
            },
        },
    },
}


def body(schema: dict[str, Any], media_type: str = "application/json") -> dict[str, Any]:
    """`openapi_extra` for a route that reads its JSON body itself."""
    return {"requestBody": {"required": True, "content": {media_type: {"schema": schema}}}}
