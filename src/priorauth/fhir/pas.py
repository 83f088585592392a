"""Prior Authorization Support (Da Vinci PAS): a request Bundle read into contract facts,
and the ClaimResponse Bundle built from a stored request.

The facts of a request: the QuestionnaireResponse named in Claim.supportingInfo (its
answers), ICD-10-CM codes from Claim.diagnosis (they are the codes on the request and
replace any answered in the questionnaire), and what the Patient and Coverage state
where the questionnaire leaves a fact open. They are read with the questions of the
version the QuestionnaireResponse answers and checked under the version in force on
the request's date (the one the service decides it under).

Everything said about a stored request (its ClaimResponse, on submit and on inquiry) is
derived from `stored.decided_under`, the exact version that decided it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from priorauth.core import Policy, PolicyVersion, normalize_icd10
from priorauth.fhir import systems
from priorauth.fhir.orders import concept_is_drug, policies
from priorauth.fhir.prefill import read_record
from priorauth.fhir.questionnaire import answered_version, deciding_version, response_answers, validate_answers
from priorauth.fhir.resources import invalid, parse
from priorauth.service import StoredRequest

EXPEDITED_PRIORITIES = {"stat"}


@dataclass
class PasSubmission:
    """A PAS request Bundle, read: what the service needs to store and decide it.

    `policy` is the policy of the drug; `version` the one in force on the request's date
    (the service decides under it), against which `facts` were checked.
    """

    policy: Policy
    version: PolicyVersion
    claim: dict[str, Any]
    facts: dict[str, Any]
    urgency: str
    idempotency_key: str | None
    patient: dict[str, Any] | None
    drug_items: list[int]
    requested_units: dict[int, float] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)


def _index(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        if entry.get("fullUrl"):
            out[entry["fullUrl"]] = resource
        if resource.get("id"):
            out[f"{resource['resourceType']}/{resource['id']}"] = resource
    return out


def _resolve(resources: dict[str, dict[str, Any]], ref: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    target = resources.get((ref or {}).get("reference") or "")
    if target is None:
        # A full URL resolves to an entry with the same type/id at its end.
        text = (ref or {}).get("reference") or ""
        tail = "/".join(text.rstrip("/").split("/")[-2:])
        target = resources.get(tail)
    return target if target is not None and target.get("resourceType") == kind else None


def _claim(bundle: dict[str, Any], use: str) -> dict[str, Any]:
    entries = bundle.get("entry") or []
    if not entries or (entries[0].get("resource") or {}).get("resourceType") != "Claim":
        raise invalid("Bundle.entry[0].resource", "the first entry of a PAS Bundle must be the Claim", "structure")
    claim = entries[0]["resource"]
    if claim.get("use") != use:
        raise invalid("Bundle.entry[0].resource.use", f"expected {use}", "value")
    return claim


def _policy_items(claim: dict[str, Any]) -> tuple[Policy, list[int]]:
    known_policies = policies()
    chosen: Policy | None = None
    items: list[int] = []
    for i, item in enumerate(claim.get("item") or []):
        where = f"Bundle.entry[0].resource.item[{i}].productOrService"
        match = next((p for p in known_policies if concept_is_drug(p, item.get("productOrService"))), None)
        if match is None or (chosen is not None and match.id != chosen.id):
            known = ", ".join(p.current().billing.hcpcs.code for p in known_policies)
            raise invalid(
                where, f"not a drug this service decides ({known}); submit other items separately", "not-supported"
            )
        chosen = match
        items.append(i)
    if chosen is None:
        raise invalid("Bundle.entry[0].resource.item", "no item to authorize", "required")
    return chosen, items


def _diagnosis_codes(claim: dict[str, Any]) -> list[str]:
    codes: list[str] = []
    for i, dx in enumerate(claim.get("diagnosis") or []):
        for coding in (dx.get("diagnosisCodeableConcept") or {}).get("coding") or []:
            if coding.get("system") != systems.ICD10CM:
                continue
            try:
                code = normalize_icd10(str(coding.get("code") or ""))
            except ValueError as exc:
                raise invalid(
                    f"Bundle.entry[0].resource.diagnosis[{i}].diagnosisCodeableConcept.coding", str(exc)
                ) from None
            if code not in codes:
                codes.append(code)
    return codes


def _patient_details(patient: dict[str, Any] | None, coverage: dict[str, Any] | None) -> dict[str, Any] | None:
    """Name and member id for the reviewers' screens (PHI: stored, never logged)."""
    details: dict[str, Any] = {}
    names = (patient or {}).get("name") or []
    if names:
        n = names[0]
        text = n.get("text") or " ".join([*(n.get("given") or []), n.get("family") or ""]).strip()
        if text:
            details["name"] = text[:200]
    member = (coverage or {}).get("subscriberId") or next(
        (i.get("value") for i in (coverage or {}).get("identifier") or [] if i.get("value")), None
    )
    if member:
        details["member_id"] = str(member)[:64]
    return details or None


def read_submission(bundle: Any) -> PasSubmission:
    """A PAS request Bundle (Claim first) read and checked; FhirInputError names the element at fault."""
    parse(bundle, "Bundle")
    claim = _claim(bundle, "preauthorization")
    resources = _index(bundle)
    policy, items = _policy_items(claim)
    patient = _resolve(resources, claim.get("patient"), "Patient")
    coverage = None
    for ins in claim.get("insurance") or []:
        if ins.get("focal", True):
            coverage = _resolve(resources, ins.get("coverage"), "Coverage")
            break
    responses = []
    for info in claim.get("supportingInfo") or []:
        response = _resolve(resources, info.get("valueReference"), "QuestionnaireResponse")
        if response is not None:
            entry = next(k for k, e in enumerate(bundle["entry"]) if e.get("resource") is response)
            responses.append((response, f"Bundle.entry[{entry}].resource"))
    # The questions asked: those of the version the (first) response answers, else today's.
    asked = answered_version(policy, responses[0][0]) if responses else policy.current()
    record = read_record(asked, patient, (), (), coverage, None)
    facts: dict[str, Any] = dict(record.facts)
    where: dict[str, str] = {}
    for response, root in responses:
        answers = response_answers(asked, response, root)
        facts.update(answers.facts)
        where.update(answers.where)
    codes = _diagnosis_codes(claim)
    if codes:
        facts["icd10_codes"] = codes
        where["icd10_codes"] = "Bundle.entry[0].resource.diagnosis"
    if policy.decided_on not in facts and isinstance(claim.get("created"), str):
        facts[policy.decided_on] = claim["created"][:10]
    version = deciding_version(policy, facts, where, "Bundle")
    valid = validate_answers(version, facts, where, "Bundle")
    priority = {c.get("code") for c in (claim.get("priority") or {}).get("coding") or []}
    identifier = next((i for i in claim.get("identifier") or [] if i.get("value")), None)
    key = f"{identifier.get('system', '')}|{identifier['value']}"[:255] if identifier else None
    units = {}
    for i in items:
        quantity = (claim["item"][i].get("quantity") or {}).get("value")
        if quantity is not None:
            units[i] = float(quantity)
    return PasSubmission(
        policy=policy,
        version=version,
        claim=claim,
        facts=valid,
        urgency="expedited" if priority & EXPEDITED_PRIORITIES else "standard",
        idempotency_key=key,
        patient=_patient_details(patient, coverage),
        drug_items=items,
        requested_units=units,
        resources=resources,
    )


def read_inquiry(bundle: Any) -> tuple[dict[str, Any], str | None, str | None]:
    """(inquiry Claim, authorization number, submission identifier key) from a PAS inquiry Bundle."""
    parse(bundle, "Bundle")
    claim = _claim(bundle, "preauthorization")
    number = None
    key = None
    for ident in claim.get("identifier") or []:
        if ident.get("system") == systems.PRE_AUTH_REF and ident.get("value"):
            number = ident["value"]
        elif ident.get("value") and key is None:
            key = f"{ident.get('system', '')}|{ident['value']}"[:255]
    for item in claim.get("item") or []:
        for ext in item.get("extension") or []:
            if ext.get("url", "").endswith("/extension-authorizationNumber") and ext.get("valueString"):
                number = number or ext["valueString"]
    if number is None and key is None:
        raise invalid(
            "Bundle.entry[0].resource.identifier",
            "identify the request: its Claim.identifier, or the preAuthRef as an identifier with system "
            f"{systems.PRE_AUTH_REF}",
            "required",
        )
    return claim, number, key


# --- ClaimResponse ---------------------------------------------------------------------


def review_action(stored: StoredRequest, requested_units: float | None) -> str:
    """The X12 306 action code for a stored request's state."""
    if stored.status == "approved":
        allowed = (stored.authorization or {}).get("max_units")
        modified = stored.review_action == "approve_with_modification"
        if modified or (requested_units is not None and allowed is not None and requested_units > allowed):
            return "A6"
        return "A1"
    if stored.status in ("denied", "not_applicable"):
        return "A3"
    return "A4"


def _notes(stored: StoredRequest, action: str, requested: float | None) -> list[str]:
    # Said under the version that decided the request; without it (not in the store), without its texts.
    policy = stored.decided_under
    det = stored.determination or {}
    notes: list[str] = []
    if stored.status == "pended":
        for fact in det.get("missing_facts") or []:
            question = policy.questions_by_id.get(fact) if policy is not None else None
            if question is not None:
                notes.append(f"Information needed ({fact}): {question.text}")
            else:
                notes.append(f"Information needed: {fact}")
    elif stored.status == "awaiting_review":
        failed = "; ".join(f"{r['text']} (section {r['section']})" for r in det.get("reasons") or [])
        notes.append(f"Referred to a clinical reviewer. Criteria not met as submitted: {failed}")
    elif stored.status == "not_applicable":
        routing = det.get("routing")
        if routing:
            notes.append(
                f"Not decided under this policy: {routing['contractor']} (Medicare jurisdiction "
                f"{routing['jurisdiction']}) decides this request."
            )
        else:
            notes.append("Not decided under this policy (Medicare); name the member's state to learn the contractor.")
    elif stored.status == "denied":
        notes.append("Denied by a clinical reviewer.")
    else:
        auth = stored.authorization or {}
        notes.append(
            f"Approved: up to {auth.get('max_units')} units of {auth.get('hcpcs')} per {auth.get('unit_window_days')} "
            f"days, {auth.get('start')} to {auth.get('end')}, at most {auth.get('max_cycles')} cycles."
        )
        if (
            action == "A6"
            and requested is not None
            and auth.get("max_units") is not None
            and requested > auth["max_units"]
        ):
            limit = policy.parameters.get("max_units") if policy is not None else None
            where = f" (section {limit.section})" if limit is not None else ""
            notes.append(f"Requested {requested:g} units; {auth['max_units']} authorized{where}.")
    if stored.review_note and stored.status in ("approved", "denied"):
        notes.append(f"Reviewer: {stored.review_note}")
    return notes


def claim_response_bundle(
    claim: dict[str, Any],
    stored: StoredRequest,
    drug_items: list[int] | None = None,
    requested_units: dict[int, float] | None = None,
    related: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The PAS response Bundle: the ClaimResponse first, then `related` entries (Patient, Organizations).

    What it says of the request is derived from the stored request under `stored.decided_under`.
    """
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    items = drug_items if drug_items is not None else list(range(len(claim.get("item") or [])))
    requested_units = requested_units or {}
    auth = stored.authorization or {}
    period = {"start": auth["start"], "end": auth["end"]} if stored.status == "approved" and auth else None
    notes: list[dict[str, Any]] = []
    response_items = []
    for i in items:
        item = (claim.get("item") or [])[i] if i < len(claim.get("item") or []) else {}
        requested = requested_units.get(i)
        if requested is None and (item.get("quantity") or {}).get("value") is not None:
            requested = float(item["quantity"]["value"])
        action = review_action(stored, requested)
        first = len(notes) + 1
        for text in _notes(stored, action, requested):
            notes.append({"number": len(notes) + 1, "type": "display", "text": text})
        extensions: list[dict[str, Any]] = [
            {
                "url": systems.REVIEW_ACTION,
                "extension": [
                    {
                        "url": systems.REVIEW_ACTION_CODE,
                        "valueCodeableConcept": {
                            "coding": [
                                {
                                    "system": systems.X12_REVIEW_ACTION,
                                    "code": action,
                                    "display": systems.X12_ACTIONS[action],
                                }
                            ]
                        },
                    },
                    {"url": "number", "valueString": stored.id},
                ],
            }
        ]
        if period:
            extensions.append({"url": systems.ITEM_PRE_AUTH_PERIOD, "valuePeriod": period})
        if action == "A6" and auth.get("max_units") is not None:
            extensions.append(
                {
                    "url": systems.ITEM_AUTHORIZED_DETAIL,
                    "extension": [{"url": "quantity", "valueQuantity": {"value": auth["max_units"]}}],
                }
            )
        response_items.append(
            {
                "extension": extensions,
                "itemSequence": item.get("sequence", i + 1),
                "noteNumber": list(range(first, len(notes) + 1)) or None,
                "adjudication": [{"category": {"coding": [{"system": systems.ADJUDICATION, "code": "submitted"}]}}],
            }
        )
        if response_items[-1]["noteNumber"] is None:
            del response_items[-1]["noteNumber"]
    final = stored.status in ("approved", "denied", "not_applicable")
    response: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": uuid.uuid4().hex,
        "identifier": [{"system": systems.PRE_AUTH_REF, "value": stored.id}],
        "status": "active",
        "type": claim.get("type")
        or {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "preauthorization",
        "patient": claim.get("patient") or {"display": "patient of the request"},
        "created": now.isoformat(),
        "insurer": claim.get("insurer") or {"display": "priorauth"},
        "outcome": "complete" if final else "queued",
        "disposition": _disposition(stored),
        "preAuthRef": stored.id,
        "item": response_items,
    }
    if claim.get("provider"):
        response["requestor"] = claim["provider"]
    identifier = next((i for i in claim.get("identifier") or [] if i.get("value")), None)
    if identifier:
        response["request"] = {"identifier": identifier}
    if period:
        response["preAuthPeriod"] = period
    if notes:
        response["processNote"] = notes
    entries = [{"fullUrl": f"urn:uuid:{response['id']}", "resource": response}, *(related or [])]
    bundle = {
        "resourceType": "Bundle",
        "id": uuid.uuid4().hex,
        "type": "collection",
        "timestamp": now.isoformat(),
        "entry": entries,
    }
    parse(bundle, "Bundle")  # what we send must itself be valid FHIR R4
    return bundle


def _disposition(stored: StoredRequest) -> str:
    return {
        "approved": "Certified",
        "denied": "Not certified",
        "not_applicable": "Not certified under this policy",
        "pended": "Pended: more information needed",
        "awaiting_review": "Pended: in clinical review",
    }.get(stored.status, stored.status)


def related_entries(bundle: dict[str, Any], claim: dict[str, Any]) -> list[dict[str, Any]]:
    """The request Bundle's entries for the Patient and Organizations the ClaimResponse refers to."""
    resources = _index(bundle)
    wanted: list[dict[str, Any]] = []
    for ref, kind in (
        (claim.get("patient"), "Patient"),
        (claim.get("insurer"), "Organization"),
        (claim.get("provider"), "Organization"),
    ):
        target = _resolve(resources, ref, kind)
        if target is not None and all(target is not w for w in wanted):
            wanted.append(target)
    return [
        {"fullUrl": e["fullUrl"], "resource": e["resource"]} if e.get("fullUrl") else {"resource": e["resource"]}
        for target in wanted
        for e in bundle.get("entry") or []
        if e.get("resource") is target
    ]
