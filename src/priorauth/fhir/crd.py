"""Coverage Requirements Discovery (Da Vinci CRD 2.0.1) as CDS Hooks 2.0 services.

Every order of the draft orders (order-sign) or of the selections (order-select) that the
coverage-information extension may sit on gets a systemAction updating it with that
extension, under the member's Coverage:

- an order of a policy's drug (a MedicationRequest by its medication, a ServiceRequest by
  its HCPCS code): the facts the EHR's data settle (age from Patient.birthDate, ICD-10
  codes from the order or the Conditions, line of business from Coverage.type) are decided
  through the service (`evaluate_request`, nothing stored) under the version in force
  today; the rest is what the questionnaire asks;
- any other order: no prior authorization under these policies (`pa-needed` no-auth);
- a Coverage that is not active: `not-covered`.

order-select is a secondary hook: its answers never ask for documentation (CRD 2.0.1
hook-19). A client may switch coverage information off (`davinci-crd.configuration`,
option `coverage-info`). What the call did not prefetch is read from the EHR's FHIR server
when the call gives `fhirServer` and `fhirAuthorization`.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

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
    group_reasons,
    reason_lines,
    validate_facts,
    version_for,
)
from priorauth.fhir import ehr_fhir, systems
from priorauth.fhir.orders import ORDER_TYPES, policies, policy_for_order
from priorauth.fhir.prefill import RecordFacts, read_record
from priorauth.fhir.questionnaire import canonical
from priorauth.fhir.resources import FhirInputError, Issue, operation_outcome, parse

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
COVERAGE_INFO = "coverage-info"
CONFIGURATION_OPTIONS = [
    {
        "code": COVERAGE_INFO,
        "type": "boolean",
        "name": "Coverage Information",
        "description": (
            "Coverage information on each order (covered, prior authorization needed, documentation and the "
            "questionnaire to complete); false returns none."
        ),
        "default": True,
    }
]
USABLE_COVERAGE_STATUSES = {"active"}


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
        if self.status == 412:
            # CDS Hooks: the service could not get the data it needs; said as an OperationOutcome.
            return operation_outcome([Issue(self.field, self.problem, "incomplete")])
        return {
            "error": f"{self.field}: {self.problem}",
            "code": str(self.code),
            "field": self.field,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class AssertionContext:
    """What CRD learnt about an order, kept under its coverage-assertion-id for DTR's pre-fill."""

    policy_id: str
    record: RecordFacts
    subject: str | None

    def encoded(self) -> bytes:
        return orjson.dumps([self.policy_id, self.record.facts, self.record.measurements, self.subject])

    @classmethod
    def decoded(cls, raw: bytes) -> AssertionContext:
        policy_id, facts, measurements, subject = orjson.loads(raw)
        return cls(policy_id, RecordFacts(facts, measurements), subject)


class AssertionCache:
    """The most recent assertions, by id, in memory (bounded; lost on restart).

    Each is kept encoded as JSON bytes: thousands stay alive, and bytes are not tracked by the cyclic
    garbage collector, so full collections never walk the cache (docs/performance.md, the hook's tail).
    """

    def __init__(self, size: int = CONTEXT_CACHE_SIZE) -> None:
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def put(self, key: str, value: AssertionContext) -> None:
        encoded = value.encoded()
        with self._lock:
            self._items[key] = encoded
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, key: str) -> AssertionContext | None:
        with self._lock:
            found = self._items.get(key)
        return AssertionContext.decoded(found) if found is not None else None


ASSERTIONS = AssertionCache()


def discovery() -> dict[str, Any]:
    """The CDS Hooks discovery document, with the CRD version and configuration options."""
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
                "extension": {
                    "davinci-crd.version": [".".join(systems.CRD_VERSION.split(".")[:2])],
                    "davinci-crd.configuration-options": CONFIGURATION_OPTIONS,
                },
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
    """`raw`, checked as FHIR R4. An element that is merely missing (a draft order without its
    `intent`, say) is accepted: drafts are incomplete, and this service reads only their codes."""
    try:
        parse(raw, expected, where)
    except FhirInputError as exc:
        wrong = [i for i in exc.issues if not i.diagnostics.endswith("is required.")]
        if wrong or not exc.issues:
            issue = (wrong or exc.issues)[0]
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


def _configuration(body: dict[str, Any]) -> dict[str, Any]:
    """The client's `davinci-crd.configuration` (CRD 2.0.1): option code -> value, checked against the options."""
    extension = body.get("extension")
    if extension is None:
        return {}
    if not isinstance(extension, dict):
        raise HookError(400, "extension", "expected an object")
    config = extension.get("davinci-crd.configuration")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise HookError(400, "extension.davinci-crd.configuration", "expected an object of option code -> value")
    for option in CONFIGURATION_OPTIONS:
        value = config.get(option["code"])
        if value is not None and not isinstance(value, bool):
            raise HookError(400, f"extension.davinci-crd.configuration.{option['code']}", "expected true or false")
    return config


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
    coverage_info: bool = True
    prefetched: set[str] = field(default_factory=set)
    read: ehr_fhir.Reader | None = None

    def fill_from_ehr(self) -> None:
        """Read from the EHR's FHIR server what the call did not prefetch (patient, coverage, conditions,
        medications its orders reference)."""
        if self.read is None:
            return
        if "patient" not in self.prefetched:
            found = _safe_resources(ehr_fhir.patient(self.read, self.patient_id), "Patient")
            self.patient = found[0] if found else self.patient
        if "coverage" not in self.prefetched:
            found = _safe_resources(ehr_fhir.coverage(self.read, self.patient_id), "Coverage")
            self.coverage = _primary_coverage(found) or self.coverage
        if "conditions" not in self.prefetched:
            self.conditions = _safe_resources(ehr_fhir.conditions(self.read, self.patient_id), "Condition")
        for order in self.orders:
            ref = (order.get("medicationReference") or {}).get("reference") or ""
            if ref.startswith("Medication/") and ref not in self.resources:
                found = _safe_resources(ehr_fhir.resource(self.read, ref), "Medication")
                if found:
                    self.resources[ref] = found[0]


def _safe_resources(raw: Any, kind: str) -> list[dict[str, Any]]:
    """Resources of `kind` in what the EHR returned; anything that does not parse is left out."""
    try:
        return _resources_of(raw, kind, kind)
    except HookError:
        return []


def _primary_coverage(coverages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The Coverage to answer under: the first active one, else the first (whose status is then said)."""
    active = [c for c in coverages if c.get("status") in USABLE_COVERAGE_STATUSES]
    chosen = active or coverages
    return chosen[0] if chosen else None


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
    config = _configuration(body)
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
    orders = [r for r in (e.get("resource") or {} for e in entries) if r.get("resourceType") in ORDER_TYPES]
    if hook == "order-select":
        selections = _require(context, "selections", list, "context.")
        if not all(isinstance(s, str) for s in selections):
            raise HookError(400, "context.selections", "expected references such as MedicationRequest/123")
        orders = [o for o in orders if f"{o.get('resourceType')}/{o.get('id')}" in selections]
    patients = _resources_of(prefetch.get("patient"), "Patient", "prefetch.patient")
    coverages = _resources_of(prefetch.get("coverage"), "Coverage", "prefetch.coverage")
    conditions = _resources_of(prefetch.get("conditions"), "Condition", "prefetch.conditions")
    prefetched = {k for k in ("patient", "coverage", "conditions") if prefetch.get(k) is not None}
    read = None
    if prefetched != {"patient", "coverage", "conditions"} and body.get("fhirServer"):
        read = ehr_fhir.reader(body.get("fhirServer"), body.get("fhirAuthorization") or {})  # type: ignore[arg-type]
    return HookRequest(
        hook,
        hook_instance,
        patient_id,
        orders,
        resources,
        patients[0] if patients else None,
        _primary_coverage(coverages),
        conditions,
        coverage_info=config.get(COVERAGE_INFO, True) is not False,
        prefetched=prefetched,
        read=read,
    )


def needs_ehr(body: Any) -> bool:
    """Whether answering this call may read the EHR's FHIR server (so it is answered off the event loop)."""
    if not isinstance(body, dict) or not body.get("fhirServer"):
        return False
    prefetch = body.get("prefetch")
    return not isinstance(prefetch, dict) or any(prefetch.get(k) is None for k in ("patient", "coverage", "conditions"))


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

# Detail codes this service adds beside CRD's own (the CRD temp code system has no policy link).
DETAIL_SYSTEM = f"{systems.CANONICAL_BASE}/CodeSystem/coverage-detail"


def _sub(url: str, **value: Any) -> dict[str, Any]:
    return {"url": url, **value}


def _detail(code: str, value: dict[str, Any], qualification: str, system: str = systems.CRD_TEMP) -> dict[str, Any]:
    return {
        "url": "detail",
        "extension": [
            _sub("code", valueCodeableConcept={"coding": [{"system": system, "code": code}]}),
            _sub("value", **value),
            _sub("qualification", valueString=qualification),
        ],
    }


def _reason(text: str) -> dict[str, Any]:
    return _sub("reason", valueCodeableConcept={"text": text})


def allowed_period(
    policy: Policy | PolicyVersion, det: Determination, facts: dict[str, Any], today: dt.date
) -> AuthorizationPeriod | None:
    """The approval's period and limits; before approval, those an approval would carry (the core's
    `authorization_for`), starting on the request date, else today. A renewal whose first
    authorization date or cycles are not known yet gets a new authorization's period: at most that.
    None when the terms depend on answers not known yet (a policy whose terms differ by indication).
    """
    if det.authorization is not None:
        return det.authorization
    start = None if facts.get(policy.decided_on) else today
    for known in (facts, {k: v for k, v in facts.items() if k != "request_type"}):
        try:
            return authorization_for(policy, known, start)
        except RequestError:
            continue
    return None


def coverage_information(
    policy: PolicyVersion,
    det: Determination,
    facts: dict[str, Any],
    coverage_ref: dict[str, Any],
    assertion_id: str,
    today: dt.date,
    policy_link: str,
    questionnaire: str | None = None,
    hook: str = "order-sign",
) -> dict[str, Any]:
    """The CRD 2.0.1 coverage-information extension for one order of a policy's drug under one coverage.

    `policy` is the version that decided `det`; `questionnaire` the canonical of the
    Questionnaire DTR gives for the order (default: that version's). On order-select no
    documentation is asked (CRD hook-19), so neither doc-needed nor the questionnaire is given.
    """
    asks_documents = hook == "order-sign"
    ext: list[dict[str, Any]] = [_sub("coverage", valueReference=coverage_ref)]
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
        # Whether it is covered and needs authorization is the Medicare contractor's rule, not this policy's.
        ext += [
            _sub("covered", valueCode="conditional"),
            _sub("pa-needed", valueCode="conditional"),
            _reason(why),
        ]
    elif det.decision is Decision.DENIED:
        why = "\n".join(reason_lines(group_reasons(det.reasons)))  # by branch, alternatives as "One of:"
        ext += [_sub("covered", valueCode="not-covered"), _reason(why)]
    else:
        covered = "covered" if det.decision is Decision.APPROVED else "conditional"
        ext += [_sub("covered", valueCode=covered), _sub("pa-needed", valueCode="auth-needed")]
        if asks_documents:
            ext += [_sub("doc-needed", valueCode="clinical"), _sub("doc-purpose", valueCode="withpa")]
        if covered == "conditional":
            asked = ", ".join(det.missing_facts)
            ext += [
                _sub("info-needed", valueCode="OTH"),
                _reason(f"Coverage depends on answers the questionnaire asks: {asked}."),
            ]
        ext.append(
            _sub("billingCode", valueCoding={"system": systems.HCPCS, "code": hcpcs.code, "display": hcpcs.description})
        )
        period = allowed_period(policy, det, facts, today)
        if period is not None:
            hcpcs_code = period.hcpcs or hcpcs.code
            months = f"{period.months} months" if period.months is not None else "its period"
            ext += [
                _detail(
                    "allowed-quantity",
                    {"valueQuantity": {"value": period.max_units, "unit": f"{hcpcs_code} units"}},
                    f"At most {period.max_units} billable units of {hcpcs_code} ({hcpcs.description}) in any "
                    f"{period.unit_window_days} days (section {period.limit_section}).",
                ),
                _detail(
                    "allowed-period",
                    {"valuePeriod": {"start": period.start.isoformat(), "end": period.end.isoformat()}},
                    f"An approval covers {months} from its start (section {period.section}); the start is the "
                    "day the request is received.",
                ),
            ]
        ext.append(
            _detail(
                "policy-link",
                {"valueString": policy_link},
                f"{policy.title}, {policy.metadata.document_number}",
                DETAIL_SYSTEM,
            )
        )
        if asks_documents:
            ext.append(_sub("questionnaire", valueCanonical=questionnaire or canonical(policy)))
    ext += [_sub("date", valueDate=today.isoformat()), _sub("coverage-assertion-id", valueString=assertion_id)]
    return {"url": systems.COVERAGE_INFORMATION, "extension": ext}


def no_policy_information(coverage_ref: dict[str, Any], assertion_id: str, today: dt.date) -> dict[str, Any]:
    """Coverage information for an order none of the policies governs: no prior authorization under them."""
    codes = ", ".join(sorted({p.current(today).billing.hcpcs.code for p in policies()}))
    return {
        "url": systems.COVERAGE_INFORMATION,
        "extension": [
            _sub("coverage", valueReference=coverage_ref),
            _sub("covered", valueCode="conditional"),
            _sub("pa-needed", valueCode="no-auth"),
            _reason(
                f"No prior authorization is required for this order under the drug policies this service applies "
                f"({codes}); whether it is covered follows the member's benefits."
            ),
            _sub("date", valueDate=today.isoformat()),
            _sub("coverage-assertion-id", valueString=assertion_id),
        ],
    }


def inactive_coverage_information(
    coverage: dict[str, Any], coverage_ref: dict[str, Any], assertion_id: str, today: dt.date
) -> dict[str, Any]:
    """Coverage information under a Coverage that is not in force: nothing is covered by it."""
    status = coverage.get("status") or "unknown"
    return {
        "url": systems.COVERAGE_INFORMATION,
        "extension": [
            _sub("coverage", valueReference=coverage_ref),
            _sub("covered", valueCode="not-covered"),
            _reason(f"The member's Coverage is not in force (status {status}, or its period has ended)."),
            _sub("date", valueDate=today.isoformat()),
            _sub("coverage-assertion-id", valueString=assertion_id),
        ],
    }


def _coverage_in_force(coverage: dict[str, Any], today: dt.date) -> bool:
    if coverage.get("status") not in USABLE_COVERAGE_STATUSES:
        return False
    end = (coverage.get("period") or {}).get("end")
    return not (isinstance(end, str) and len(end) >= 10 and end[:10] < today.isoformat())


def _with_extension(order: dict[str, Any], extension: dict[str, Any], coverage_ref: dict[str, Any]) -> dict[str, Any]:
    updated = orjson.loads(orjson.dumps(order))  # a deep copy of JSON, several times faster than deepcopy
    kept = []
    for e in updated.get("extension") or []:
        same = e.get("url") == systems.COVERAGE_INFORMATION and any(
            s.get("url") == "coverage" and s.get("valueReference") == coverage_ref for s in e.get("extension") or []
        )
        if not same:
            kept.append(e)
    updated["extension"] = kept + [extension]
    return updated


def _read_record(policy: Policy, request: HookRequest, order: dict[str, Any], today: dt.date) -> RecordFacts:
    """What the record says, in the vocabulary of the version in force on the decision date (today)."""
    asked = policy.current(today)
    record = read_record(asked, request.patient, request.conditions, (), request.coverage, order)
    version = deciding_version(policy, {policy.decided_on: today.isoformat(), **record.facts}, today)
    if version is not asked:
        record = read_record(version, request.patient, request.conditions, (), request.coverage, order)
    return record


def _coverage_reference(coverage: dict[str, Any]) -> dict[str, Any]:
    if coverage.get("id"):
        return {"reference": f"Coverage/{coverage['id']}"}
    identifier = next((i for i in coverage.get("identifier") or [] if i.get("value")), None)
    if identifier:
        return {"identifier": {k: v for k, v in identifier.items() if k in ("system", "value")}}
    return {"display": "the member's coverage"}


def _order_description(order: dict[str, Any]) -> str:
    return f"{order.get('resourceType')}/{order.get('id')}" if order.get("id") else str(order.get("resourceType"))


def answer_hook(
    principal: service.Principal,
    service_id: str,
    body: Any,
    policy_link_base: str = "",
    today: dt.date | None = None,
    fill: Callable[[HookRequest], None] | None = None,
) -> dict[str, Any]:
    """The CDS Hooks response: a systemAction with coverage-information for each order it may sit on.

    `principal` is the hook's caller: the determinations are the service's (`evaluate_request`).
    `policy_link_base` is the service's public URL (the policy link is relative without it).
    """
    request = read_hook_request(service_id, body)
    today = today or dt.date.today()
    if not request.coverage_info or not request.orders:
        return {"cards": [], "systemActions": []}
    (fill or HookRequest.fill_from_ehr)(request)
    if request.coverage is None:
        raise HookError(
            412,
            "prefetch.coverage",
            "the patient's Coverage is needed: prefetch it, or give fhirServer and fhirAuthorization to read it",
        )
    coverage_ref = _coverage_reference(request.coverage)
    in_force = _coverage_in_force(request.coverage, today)
    actions = []
    for order in request.orders:
        assertion_id = uuid.uuid4().hex
        policy = policy_for_order(order, request.resources)
        if not in_force:
            extension = inactive_coverage_information(request.coverage, coverage_ref, assertion_id, today)
            description = f"Coverage information for {_order_description(order)} (coverage not in force)"
        elif policy is None:
            extension = no_policy_information(coverage_ref, assertion_id, today)
            description = f"Coverage information for {_order_description(order)} (no prior authorization needed)"
        else:
            record = _read_record(policy, request, order, today)
            raw = dict(record.facts)
            raw[policy.decided_on] = today.isoformat()  # a request is decided for the day it is received
            det, version, facts = decide_known(principal, policy, raw, today)
            ASSERTIONS.put(
                assertion_id,
                AssertionContext(policy.id, RecordFacts(raw, record.measurements), f"Patient/{request.patient_id}"),
            )
            link = f"{policy_link_base.rstrip('/')}/v1/policies/{policy.id}"
            questionnaire = canonical(policy.current(today))  # what DTR's $questionnaire-package gives
            extension = coverage_information(
                version, det, facts, coverage_ref, assertion_id, today, link, questionnaire, request.hook
            )
            description = f"Coverage information for {version.drug} ({_summary(det)})"
        actions.append(
            {"type": "update", "description": description, "resource": _with_extension(order, extension, coverage_ref)}
        )
    return {"cards": [], "systemActions": actions}


def _summary(det: Determination) -> str:
    return {
        Decision.APPROVED: "covered; prior authorization needed",
        Decision.PENDED: "prior authorization needed; documentation required",
        Decision.DENIED: "not covered",
        Decision.NOT_APPLICABLE: "decided outside this policy",
    }[det.decision]
