"""Coverage Requirements Discovery (Da Vinci CRD) as CDS Hooks services.

For a MedicationRequest of a policy's drug, the answer is a systemAction that updates
the order with the `coverage-information` extension. The facts the EHR's data already
settle (age from Patient.birthDate, ICD-10 codes from the order or the Conditions, line
of business from Coverage.type) are decided through the service (`evaluate_request`,
nothing stored) under the version in force on the order's date; the rest is what the
questionnaire (of the version a new request is asked) asks.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from priorauth import service
from priorauth.core import (
    AuthorizationPeriod,
    Decision,
    Determination,
    ErrorCode,
    Policy,
    PolicyVersion,
    PriorAuthError,
    RequestError,
    authorization_for,
    validate_facts,
    version_for,
)
from priorauth.fhir import systems
from priorauth.fhir.orders import policy_for_order
from priorauth.fhir.prefill import RecordFacts, read_record
from priorauth.fhir.questionnaire import canonical
from priorauth.fhir.resources import FhirInputError, parse

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
class HookError(PriorAuthError):
    """A hook request this service cannot answer: HTTP `status` and why (never a value)."""

    code = ErrorCode.HOOK_INPUT_INVALID

    status: int
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": f"{self.field}: {self.problem}",
            "code": str(self.code),
            "field": self.field,
            "problem": self.problem,
        }


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


def deciding_version(policy: Policy, raw: dict[str, Any], today: dt.date) -> PolicyVersion:
    """The version in force on the record's decision date (the one a new request is asked
    when that date is unusable: the service then says why)."""
    try:
        return version_for(policy, raw)
    except RequestError:
        return policy.current(today)


def _known_facts(version: PolicyVersion, raw: dict[str, Any]) -> dict[str, Any]:
    """The record's raw facts that validate one by one (a bad value leaves its question open)."""
    kept = {}
    for fact, value in raw.items():
        try:
            validate_facts(version, {fact: value})
        except RequestError:
            continue
        kept[fact] = value
    return kept


def decide_known(
    principal: service.Principal, policy: Policy, raw: dict[str, Any], today: dt.date | None = None
) -> tuple[Determination, PolicyVersion, dict[str, Any]]:
    """The service's determination on what the record settles (nothing stored), the version
    that decided it, and the validated facts it was decided on; inconsistent facts are set aside."""
    today = today or dt.date.today()
    facts = _known_facts(deciding_version(policy, raw, today), raw)
    for _ in range(len(facts) + 1):
        try:
            det = service.evaluate_request(principal, policy.id, facts)
        except RequestError as exc:
            fact = exc.field.removeprefix("facts.").split(".")[0].split("[")[0]
            if fact not in facts:
                raise
            facts.pop(fact)
            continue
        version = policy.by_digest(det.policy_digest) or next(
            (v for v in policy.versions if v.version == det.policy_version), None
        )
        if version is None:  # the policy was replaced meanwhile: decide under the one now in force
            version = deciding_version(policy, facts, today)
        return det, version, validate_facts(version, facts)
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


def allowed_period(
    policy: Policy | PolicyVersion, det: Determination, facts: dict[str, Any], today: dt.date
) -> AuthorizationPeriod:
    """The approval's period and limits; before approval, those an approval would carry (the core's
    `authorization_for`), starting on the request date, else today. A renewal whose first
    authorization date or cycles are not known yet gets a new authorization's period: at most that.
    """
    if det.authorization is not None:
        return det.authorization
    start = None if facts.get(policy.decided_on) else today
    try:
        return authorization_for(policy, facts, start)
    except RequestError:
        return authorization_for(policy, {k: v for k, v in facts.items() if k != "request_type"}, start)


def coverage_information(
    policy: PolicyVersion,
    det: Determination,
    facts: dict[str, Any],
    coverage_ref: str,
    assertion_id: str,
    today: dt.date,
    policy_link: str,
    questionnaire: str | None = None,
) -> dict[str, Any]:
    """The CRD coverage-information extension for one order under one coverage.

    `policy` is the version that decided `det`; `questionnaire` the canonical of the
    Questionnaire DTR gives for the order (default: that version's).
    """
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
        months = policy.parameter("authorization_months")
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
            _sub("questionnaire", valueCanonical=questionnaire or canonical(policy)),
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


def _read_record(policy: Policy, request: HookRequest, order: dict[str, Any], today: dt.date) -> RecordFacts:
    """What the record says, in the vocabulary of the version in force on the order's date."""
    asked = policy.current(today)
    record = read_record(asked, request.patient, request.conditions, (), request.coverage, order)
    version = deciding_version(policy, {policy.decided_on: today.isoformat(), **record.facts}, today)
    if version is not asked:
        record = read_record(version, request.patient, request.conditions, (), request.coverage, order)
    return record


def answer_hook(
    principal: service.Principal, service_id: str, body: Any, base_url: str = "", today: dt.date | None = None
) -> dict[str, Any]:
    """The CDS Hooks response: a systemAction per order of a covered drug; nothing otherwise.

    `principal` is the hook's caller: the determinations are the service's (`evaluate_request`).
    """
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
        record = _read_record(policy, request, order, today)
        raw = dict(record.facts)
        raw.setdefault(policy.decided_on, today.isoformat())
        det, version, facts = decide_known(principal, policy, raw, today)
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
        questionnaire = canonical(policy.current(today))  # what DTR's $questionnaire-package gives
        extension = coverage_information(version, det, facts, coverage_ref, assertion_id, today, link, questionnaire)
        actions.append(
            {
                "type": "update",
                "description": f"Coverage information for {version.drug} ({_summary(det)})",
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
