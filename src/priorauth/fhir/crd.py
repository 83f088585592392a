"""Coverage Requirements Discovery (Da Vinci CRD) as CDS Hooks services.

For a MedicationRequest of a policy's drug, the answer is a systemAction that updates
the order with the `coverage-information` extension. The facts the EHR's data already
settle (age from Patient.birthDate, ICD-10 codes from the order or the Conditions, line
of business from Coverage.type) are decided by the core engine; the rest is what the
questionnaire asks.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from priorauth.determination import AuthorizationPeriod, Decision, Determination
from priorauth.engine import authorization_for, determine
from priorauth.errors import RequestError
from priorauth.facts import validate_facts
from priorauth.fhir import systems
from priorauth.fhir.orders import policy_for_order
from priorauth.fhir.prefill import RecordFacts, read_record
from priorauth.fhir.questionnaire import canonical
from priorauth.fhir.resources import FhirInputError, parse
from priorauth.policy.schema import Policy

SERVICES = {
    "priorauth-crd-order-select": "order-select",
    "priorauth-crd-order-sign": "order-sign",
}
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "coverage": "Coverage?patient={{context.patientId}}&status=active",
    "conditions": "Condition?patient={{context.patientId}}&clinical-status=active",
    "medicationRequests": (
        "MedicationRequest?_id={{context.draftOrders.MedicationRequest.id}}&_include=MedicationRequest:medication"
    ),
}
CONTEXT_CACHE_SIZE = 10_000


@dataclass
class HookError(Exception):
    """A hook request this service cannot answer: HTTP `status` and why (never a value)."""

    status: int
    field: str
    problem: str

    def to_dict(self) -> dict[str, Any]:
        return {"error": f"{self.field}: {self.problem}", "field": self.field, "problem": self.problem}


@dataclass(frozen=True)
class AssertionContext:
    """What CRD learnt about an order, kept under its coverage-assertion-id for DTR."""

    policy_id: str
    record: RecordFacts
    subject: str | None
    order: dict[str, Any]
    coverage: dict[str, Any] | None


class AssertionCache:
    """The most recent assertions, by id, in memory (bounded; lost on restart)."""

    def __init__(self, size: int = CONTEXT_CACHE_SIZE) -> None:
        self._items: OrderedDict[str, AssertionContext] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def put(self, key: str, value: AssertionContext) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, key: str) -> AssertionContext | None:
        with self._lock:
            return self._items.get(key)


ASSERTIONS = AssertionCache()


def discovery() -> dict[str, Any]:
    """The CDS Hooks discovery document."""
    services = []
    for service_id, hook in SERVICES.items():
        services.append(
            {
                "hook": hook,
                "id": service_id,
                "title": f"Prior authorization requirements ({hook})",
                "description": (
                    "Da Vinci CRD: whether the ordered medical drug is covered and needs prior authorization, "
                    "what documentation the payer needs (DTR questionnaire) and the allowed quantity and period."
                ),
                "prefetch": dict(PREFETCH),
            }
        )
    return {"services": services}


# --- reading the hook request ------------------------------------------------------------


def _require(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = obj.get(key)
    if value is None:
        raise HookError(400, f"{where}{key}", "required")
    if not isinstance(value, kind):
        name = {str: "a string", dict: "an object", list: "an array"}.get(kind, "of another type")  # type: ignore[call-overload]
        raise HookError(400, f"{where}{key}", f"expected {name}")
    return value


def _parsed(raw: Any, expected: str | tuple[str, ...], where: str) -> dict[str, Any]:
    try:
        parse(raw, expected, where)
    except FhirInputError as exc:
        issue = exc.issues[0]
        raise HookError(400, issue.expression, f"does not parse as FHIR R4: {issue.diagnostics}") from None
    return raw


def _bundle_resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry") or [] if isinstance(e.get("resource"), dict)]


def _resources_of(raw: Any, kind: str, where: str) -> list[dict[str, Any]]:
    """Resources of `kind` in a prefetch value: the resource itself or a search Bundle."""
    if raw is None:
        return []
    if isinstance(raw, dict) and raw.get("resourceType") == kind:
        return [_parsed(raw, kind, where)]
    bundle = _parsed(raw, (kind, "Bundle"), where)
    return [r for r in _bundle_resources(bundle) if r.get("resourceType") == kind]


@dataclass
class HookRequest:
    hook: str
    hook_instance: str
    patient_id: str
    orders: list[dict[str, Any]]
    resources: dict[str, dict[str, Any]]
    patient: dict[str, Any] | None
    coverage: dict[str, Any] | None
    conditions: list[dict[str, Any]]


def read_hook_request(service_id: str, body: Any) -> HookRequest:
    """A hook call checked against CDS Hooks 2.0 and the order-select/order-sign contexts."""
    hook = SERVICES.get(service_id)
    if hook is None:
        raise HookError(404, "service", f"no CDS service {service_id!r}; see GET /cds-services")
    if not isinstance(body, dict):
        raise HookError(400, "request", "expected a JSON object (a CDS Hooks request)")
    if _require(body, "hook", str, "") != hook:
        raise HookError(400, "hook", f"this service answers {hook}")
    hook_instance = _require(body, "hookInstance", str, "")
    context = _require(body, "context", dict, "")
    patient_id = _require(context, "patientId", str, "context.")
    draft = _parsed(_require(context, "draftOrders", dict, "context."), "Bundle", "context.draftOrders")
    prefetch = body.get("prefetch") or {}
    if not isinstance(prefetch, dict):
        raise HookError(400, "prefetch", "expected an object")
    resources: dict[str, dict[str, Any]] = {}
    entries = list(draft.get("entry") or [])
    extra = _resources_of(prefetch.get("medicationRequests"), "MedicationRequest", "prefetch.medicationRequests")
    medications = []
    if isinstance(prefetch.get("medicationRequests"), dict):
        medications = [
            r for r in _bundle_resources(prefetch["medicationRequests"]) if r.get("resourceType") == "Medication"
        ]
    for resource in [e.get("resource") or {} for e in entries] + extra + medications:
        if resource.get("id"):
            resources[f"{resource.get('resourceType')}/{resource['id']}"] = resource
    for e in entries:
        if e.get("fullUrl") and e.get("resource"):
            resources[e["fullUrl"]] = e["resource"]
    orders = [r for r in (e.get("resource") or {} for e in entries) if r.get("resourceType") == "MedicationRequest"]
    if hook == "order-select":
        selections = _require(context, "selections", list, "context.")
        if not all(isinstance(s, str) for s in selections):
            raise HookError(400, "context.selections", "expected references such as MedicationRequest/123")
        orders = [o for o in orders if f"MedicationRequest/{o.get('id')}" in selections]
    patients = _resources_of(prefetch.get("patient"), "Patient", "prefetch.patient")
    coverages = [
        c
        for c in _resources_of(prefetch.get("coverage"), "Coverage", "prefetch.coverage")
        if c.get("status") != "cancelled"
    ]
    conditions = _resources_of(prefetch.get("conditions"), "Condition", "prefetch.conditions")
    return HookRequest(
        hook,
        hook_instance,
        patient_id,
        orders,
        resources,
        patients[0] if patients else None,
        coverages[0] if coverages else None,
        conditions,
    )


# --- deciding what is known ---------------------------------------------------------------


def _known_facts(policy: Policy, raw: dict[str, Any]) -> dict[str, Any]:
    """The record's facts that validate one by one (a bad value leaves its question open)."""
    kept = {}
    for fact, value in raw.items():
        try:
            validate_facts(policy, {fact: value})
        except RequestError:
            continue
        kept[fact] = value
    return validate_facts(policy, kept)


def decide_known(policy: Policy, raw: dict[str, Any]) -> tuple[Determination, dict[str, Any]]:
    """The core's determination on what the record settles; inconsistent facts are set aside."""
    facts = _known_facts(policy, raw)
    for _ in range(len(facts) + 1):
        try:
            return determine(policy, facts), facts
        except RequestError as exc:
            fact = exc.field.removeprefix("facts.")
            if fact not in facts:
                raise
            facts.pop(fact)
    raise AssertionError("unreachable")


# --- the coverage-information extension -----------------------------------------------------


def _sub(url: str, **value: Any) -> dict[str, Any]:
    return {"url": url, **value}


def _detail(code: str, value: dict[str, Any], qualification: str) -> dict[str, Any]:
    return {
        "url": "detail",
        "extension": [
            _sub("code", valueCodeableConcept={"coding": [{"system": systems.CRD_TEMP, "code": code}]}),
            _sub("value", **value),
            _sub("qualification", valueString=qualification),
        ],
    }


def allowed_period(policy: Policy, det: Determination, facts: dict[str, Any], today: dt.date) -> AuthorizationPeriod:
    """The approval's period and limits; before approval, those an approval would carry (the core's
    `authorization_for`), starting on the request date, else today. A renewal whose first
    authorization date or cycles are not known yet gets a new authorization's period: at most that.
    """
    if det.authorization is not None:
        return det.authorization
    start = None if facts.get("request_date") else today
    try:
        return authorization_for(policy, facts, start)
    except RequestError:
        return authorization_for(policy, {k: v for k, v in facts.items() if k != "request_type"}, start)


def coverage_information(
    policy: Policy,
    det: Determination,
    facts: dict[str, Any],
    coverage_ref: str,
    assertion_id: str,
    today: dt.date,
    policy_link: str,
) -> dict[str, Any]:
    """The CRD coverage-information extension for one order under one coverage."""
    day = facts.get("request_date") or today
    ext: list[dict[str, Any]] = [_sub("coverage", valueReference={"reference": coverage_ref})]
    hcpcs = policy.billing.hcpcs
    if det.decision is Decision.NOT_APPLICABLE:
        if det.routing is not None:
            why = (
                f"Not decided under this policy ({policy.scope.section if policy.scope else 'scope'}): "
                f"{det.routing.contractor} (Medicare jurisdiction {det.routing.jurisdiction}) decides."
            )
        else:
            needed = ", ".join(det.missing_facts) or "the member's state"
            why = f"Not decided under this policy; the Medicare contractor depends on {needed}."
        ext += [_sub("covered", valueCode="indeterminate"), _sub("reason", valueCodeableConcept={"text": why})]
    elif det.decision is Decision.DENIED:
        why = "; ".join(f"{r.text} (section {r.section})" for r in det.reasons)
        ext += [_sub("covered", valueCode="not-covered"), _sub("reason", valueCodeableConcept={"text": why})]
    else:
        covered = "covered" if det.decision is Decision.APPROVED else "conditional"
        ext += [
            _sub("covered", valueCode=covered),
            _sub("pa-needed", valueCode="auth-needed"),
            _sub("doc-needed", valueCode="clinical"),
            _sub("doc-purpose", valueCode="withpa"),
        ]
        if covered == "conditional":
            asked = ", ".join(det.missing_facts)
            ext += [
                _sub("info-needed", valueCode="OTH"),
                _sub(
                    "reason",
                    valueCodeableConcept={"text": f"Coverage depends on answers the questionnaire asks: {asked}."},
                ),
            ]
        ext.append(
            _sub("billingCode", valueCoding={"system": systems.HCPCS, "code": hcpcs.code, "display": hcpcs.description})
        )
        period = allowed_period(policy, det, facts, today)
        max_units, window = period.max_units, period.unit_window_days
        months = policy.parameter("authorization_months", day)
        ext += [
            _detail(
                "allowed-quantity",
                {"valueQuantity": {"value": max_units, "unit": f"{hcpcs.code} units"}},
                f"At most {max_units} billable units of {hcpcs.code} ({hcpcs.description}) in any {window} days "
                f"(section {policy.parameters['max_units'].section}).",
            ),
            _detail(
                "allowed-period",
                {"valuePeriod": {"start": period.start.isoformat(), "end": period.end.isoformat()}},
                f"An approval covers {months} months from its start "
                f"(section {policy.parameters['authorization_months'].section}); the start is the request date.",
            ),
            _detail("policy-link", {"valueString": policy_link}, f"{policy.title}, {policy.metadata.document_number}"),
            _sub("questionnaire", valueCanonical=canonical(policy)),
        ]
    ext += [_sub("date", valueDate=today.isoformat()), _sub("coverage-assertion-id", valueString=assertion_id)]
    return {"url": systems.COVERAGE_INFORMATION, "extension": ext}


def _with_extension(order: dict[str, Any], extension: dict[str, Any], coverage_ref: str) -> dict[str, Any]:
    updated = copy.deepcopy(order)
    kept = []
    for e in updated.get("extension") or []:
        same = e.get("url") == systems.COVERAGE_INFORMATION and any(
            s.get("url") == "coverage" and (s.get("valueReference") or {}).get("reference") == coverage_ref
            for s in e.get("extension") or []
        )
        if not same:
            kept.append(e)
    updated["extension"] = kept + [extension]
    return updated


def answer_hook(service_id: str, body: Any, base_url: str = "", today: dt.date | None = None) -> dict[str, Any]:
    """The CDS Hooks response: a systemAction per order of a covered drug; nothing otherwise."""
    request = read_hook_request(service_id, body)
    today = today or dt.date.today()
    actions = []
    for order in request.orders:
        policy = policy_for_order(order, request.resources)
        if policy is None:
            continue
        if request.coverage is None:
            raise HookError(
                412,
                "prefetch.coverage",
                "the patient's active Coverage is needed (this service does not query the EHR)",
            )
        coverage_ref = f"Coverage/{request.coverage.get('id')}" if request.coverage.get("id") else "#coverage"
        record = read_record(policy, request.patient, request.conditions, (), request.coverage, order)
        raw = dict(record.facts)
        raw.setdefault("request_date", today.isoformat())
        det, facts = decide_known(policy, raw)
        assertion_id = uuid.uuid4().hex
        ASSERTIONS.put(
            assertion_id,
            AssertionContext(
                policy.id,
                RecordFacts(raw, record.measurements),
                f"Patient/{request.patient_id}",
                order,
                request.coverage,
            ),
        )
        link = f"{base_url.rstrip('/')}/v1/policies/{policy.id}"
        extension = coverage_information(policy, det, facts, coverage_ref, assertion_id, today, link)
        actions.append(
            {
                "type": "update",
                "description": f"Coverage information for {policy.drug} ({_summary(det)})",
                "resource": _with_extension(order, extension, coverage_ref),
            }
        )
    return {"cards": [], "systemActions": actions}


def _summary(det: Determination) -> str:
    return {
        Decision.APPROVED: "covered; prior authorization needed",
        Decision.PENDED: "prior authorization needed; documentation required",
        Decision.DENIED: "not covered",
        Decision.NOT_APPLICABLE: "decided outside this policy",
    }[det.decision]
