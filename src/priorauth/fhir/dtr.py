"""Documentation Templates and Rules (Da Vinci DTR 2.0.1): `Questionnaire/$questionnaire-package`.

For each policy the orders, the questionnaires named or the CRD context select, the answer has a
`PackageBundle` (DTR-QPackageBundle): the Questionnaire of the version a new request is asked
(`Policy.current()`) first, its CQL Library (CQL and ELM, for any DTR client to pre-populate), and
a QuestionnaireResponse pre-filled by the service from what is known: the CRD context (by
coverage-assertion-id), the orders, and any Patient, Condition and Observation resources the
caller adds (`referenced`, or this service's own `patient`/`condition`/`observation`).
The decision date is pre-filled as today: PAS decides a request for the day it receives it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from priorauth.core import Policy, PolicyVersion, RequestError, load_policy, policy_ids, validate_facts
from priorauth.fhir import cql, systems
from priorauth.fhir.crd import ASSERTIONS
from priorauth.fhir.orders import policy_for_order
from priorauth.fhir.prefill import questionnaire_response, read_record
from priorauth.fhir.questionnaire import build_questionnaire
from priorauth.fhir.resources import Issue, invalid, operation_outcome, parse

# The order types DTR 2.0.1's input parameters allow.
ORDER_TYPES = (
    "Appointment",
    "Encounter",
    "CommunicationRequest",
    "DeviceRequest",
    "MedicationRequest",
    "NutritionOrder",
    "ServiceRequest",
    "VisionPrescription",
)
# Beyond the DTR parameters, the EHR may send its record for pre-population.
RECORD_PARAMETERS = {"patient": "Patient", "condition": "Condition", "observation": "Observation"}
PACKAGE_BUNDLE = f"{systems.DTR}/StructureDefinition/DTR-QPackageBundle"
OUTPUT_PARAMETERS = f"{systems.DTR}/StructureDefinition/dtr-qpackage-output-parameters"


def _prefill_facts(policy: PolicyVersion, raw: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """Facts fit to pre-fill: each known value that validates, plus today and the defaults."""
    kept: dict[str, Any] = {}
    for fact, value in raw.items():
        try:
            kept[fact] = validate_facts(policy, {fact: value})[fact]
        except RequestError:
            continue
    kept[policy.decided_on] = today  # never an order's date: PAS decides for the day it receives the request
    for q in policy.questions:
        if q.default is not None:
            kept.setdefault(q.id, q.default)
    return kept


def questionnaire_package(parameters: Any, today: dt.date | None = None) -> dict[str, Any]:
    """The $questionnaire-package output Parameters for the input Parameters (FHIR JSON)."""
    parse(parameters, "Parameters")
    today = today or dt.date.today()
    coverage: dict[str, Any] | None = None
    orders: list[dict[str, Any]] = []
    wanted: list[tuple[str, str]] = []
    context_id: str | None = None
    record: dict[str, list[dict[str, Any]]] = {name: [] for name in RECORD_PARAMETERS}
    for i, p in enumerate(parameters.get("parameter") or []):
        name, resource = p.get("name"), p.get("resource")
        where = f"Parameters.parameter[{i}]"
        if name == "coverage":
            if not resource or resource.get("resourceType") != "Coverage":
                raise invalid(f"{where}.resource", "expected a Coverage")
            coverage = resource
        elif name == "order":
            if not resource or resource.get("resourceType") not in ORDER_TYPES:
                raise invalid(f"{where}.resource", f"expected an order: {', '.join(ORDER_TYPES)}")
            orders.append(resource)
        elif name == "referenced":
            kind = (resource or {}).get("resourceType")
            for key, record_type in RECORD_PARAMETERS.items():
                if resource and kind == record_type:
                    record[key].append(resource)
        elif name == "questionnaire":
            if not p.get("valueCanonical"):
                raise invalid(f"{where}.valueCanonical", "expected the canonical URL of a Questionnaire")
            wanted.append((p["valueCanonical"], f"{where}.valueCanonical"))
        elif name == "context":
            context_id = p.get("valueString")
        elif name in RECORD_PARAMETERS:
            if not resource or resource.get("resourceType") != RECORD_PARAMETERS[name]:
                raise invalid(f"{where}.resource", f"expected a {RECORD_PARAMETERS[name]}")
            record[name].append(resource)
    if coverage is None:
        raise invalid("Parameters.parameter", "a `coverage` parameter (the member's Coverage) is required", "required")
    if not (orders or wanted or context_id):
        raise invalid(
            "Parameters.parameter", "at least one of `order`, `questionnaire` or `context` is required", "required"
        )

    warnings: list[Issue] = []
    policies: list[Policy] = []
    context = ASSERTIONS.get(context_id) if context_id else None
    if context_id and context is None:
        warnings.append(
            Issue(
                "Parameters.parameter.where(name='context')",
                "unknown or expired coverage-assertion-id; pre-filled from the parameters only",
                "not-found",
                "warning",
            )
        )

    def add(policy: Policy) -> None:
        if all(p.id != policy.id for p in policies):
            policies.append(policy)

    if context is not None and context.policy_id in policy_ids():
        add(load_policy(context.policy_id))
    for order in orders:
        policy = policy_for_order(order, {})
        if policy is not None:
            add(policy)
    for url, where in wanted:
        base = url.split("|")[0]
        match = next((pid for pid in policy_ids() if systems.questionnaire_url(pid) == base), None)
        if match is None:
            warnings.append(Issue(where, "no such Questionnaire here", "not-found", "warning"))
        else:
            add(load_policy(match))

    subject = (coverage.get("beneficiary") or {}).get("reference")
    out: list[dict[str, Any]] = []
    for policy in policies:
        version = policy.current(today)
        raw: dict[str, Any] = {}
        measurements: dict[str, float] = {}
        if context is not None and context.policy_id == policy.id:
            raw.update(context.record.facts)
            measurements.update(context.record.measurements)
            subject = subject or context.subject
        patient = record["patient"][0] if record["patient"] else None
        policy_order = next((o for o in orders if getattr(policy_for_order(o, {}), "id", None) == policy.id), None)
        found = read_record(version, patient, record["condition"], record["observation"], coverage, policy_order)
        raw.update(found.facts)
        measurements.update(found.measurements)
        facts = _prefill_facts(version, raw, today)
        response = questionnaire_response(version, facts, measurements, subject, str(uuid.uuid4()))
        out.append({"name": "PackageBundle", "resource": _package_bundle(version, response)})
    if not policies:
        warnings.append(
            Issue("Parameters.parameter", "no questionnaire applies to these orders", "not-found", "information")
        )
    if warnings:
        out.append({"name": "operationOutcome", "resource": operation_outcome(warnings)})
    return {
        "resourceType": "Parameters",
        "meta": {"profile": [f"{OUTPUT_PARAMETERS}|{systems.DTR_VERSION}"]},
        "parameter": out,
    }


def _package_bundle(version: PolicyVersion, response: dict[str, Any]) -> dict[str, Any]:
    questionnaire = build_questionnaire(version)
    library = cql.library_resource(version)
    return {
        "resourceType": "Bundle",
        "id": uuid.uuid4().hex,
        "meta": {"profile": [f"{PACKAGE_BUNDLE}|{systems.DTR_VERSION}"]},
        "type": "collection",
        "timestamp": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "entry": [
            {"fullUrl": systems.questionnaire_url(version.id), "resource": questionnaire},
            {"fullUrl": f"{systems.CANONICAL_BASE}/Library/{library['id']}", "resource": library},
            {"fullUrl": f"urn:uuid:{response['id']}", "resource": response},
        ],
    }
