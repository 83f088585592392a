"""Prior Authorization Support (Da Vinci PAS 2.0.1 and 2.2.1): a request Bundle read into contract
facts, and the response Bundles built from a stored request.

The facts of a request: the QuestionnaireResponse named in Claim.supportingInfo (its
answers), ICD-10-CM codes from Claim.diagnosis (they are the codes on the request and
replace any answered in the questionnaire), and what the Patient and Coverage state
where the questionnaire leaves a fact open. The decision date (the policy's `decided_on`
fact) is the day the claim is received, never a date the order or the answers carry.

Which guide version a Bundle follows is told by the profiles it declares: a versioned
canonical (`...|2.2.1`) or a definition only 2.2.1 has makes it 2.2.1; otherwise 2.0.1.
The answer follows the same version (2.2.1: `$inquire` returns Parameters of Bundles).

Business outcomes are ClaimResponses: an item no policy here decides, or a date no version
of the policy covers, is "not certified" (X12 306 A3) with a note saying why. Only input that
is not a usable PAS Bundle is an OperationOutcome.

Everything said about a stored request is derived from `stored.decided_under`, the exact
version that decided it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from priorauth.core import ErrorCode, Policy, PolicyVersion, RequestError, group_reasons, normalize_icd10, reason_lines
from priorauth.fhir import systems
from priorauth.fhir.orders import concept_is_drug, policies
from priorauth.fhir.prefill import read_record
from priorauth.fhir.questionnaire import answered_version, response_answers, validate_answers
from priorauth.fhir.resources import invalid, parse
from priorauth.service import StoredRequest
from priorauth.service.records import WITHHELD_NOTE

EXPEDITED_PRIORITIES = {"stat"}
ROOT = "Bundle.entry[0].resource"


# --- which version ---------------------------------------------------------------------------


def _urls(node: Any, out: set[str], depth: int = 0) -> None:
    """Every declared profile and extension URL in a resource tree."""
    if depth > 30:
        return
    if isinstance(node, dict):
        url = node.get("url")
        if isinstance(url, str) and ("extension" in node or any(k.startswith("value") for k in node)):
            out.add(url)
        meta = node.get("meta")
        profiles = meta.get("profile") if isinstance(meta, dict) else None
        for profile in profiles if isinstance(profiles, list) else []:
            if isinstance(profile, str):
                out.add(profile)
        for value in node.values():
            if isinstance(value, dict | list):
                _urls(value, out, depth + 1)
    elif isinstance(node, list):
        for value in node:
            _urls(value, out, depth + 1)


def pas_version(bundle: dict[str, Any]) -> str:
    """The PAS version a Bundle follows, by the profiles and extensions it declares (default 2.0.1)."""
    urls: set[str] = set()
    _urls(bundle, urls)
    pas = [u for u in urls if u.startswith(systems.PAS)]
    for version in reversed(systems.PAS_VERSIONS):
        if any(u.endswith(f"|{version}") for u in pas):
            return version
    if any(u.split("|")[0] in systems.PAS_221_ONLY for u in pas):
        return "2.2.1"
    return systems.PAS_VERSIONS[0]


# --- reading a Bundle ------------------------------------------------------------------------


def _index(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        if entry.get("fullUrl"):
            out[entry["fullUrl"]] = resource
        if resource.get("id"):
            out[f"{resource['resourceType']}/{resource['id']}"] = resource
    return out


def _resolve(resources: dict[str, dict[str, Any]], ref: dict[str, Any] | None, *kinds: str) -> dict[str, Any] | None:
    text = (ref or {}).get("reference") or ""
    target = resources.get(text)
    if target is None and text:
        # A full URL resolves to an entry with the same type/id at its end.
        target = resources.get("/".join(text.rstrip("/").split("/")[-2:]))
    return target if target is not None and target.get("resourceType") in kinds else None


def _claim(bundle: dict[str, Any]) -> dict[str, Any]:
    entries = bundle.get("entry") or []
    if not entries or (entries[0].get("resource") or {}).get("resourceType") != "Claim":
        raise invalid(ROOT, "the first entry of a PAS Bundle must be the Claim", "structure")
    claim = entries[0]["resource"]
    if claim.get("use") != "preauthorization":
        raise invalid(f"{ROOT}.use", "expected preauthorization", "value")
    return claim


def _key(identifier: dict[str, Any]) -> str:
    return f"{identifier.get('system', '')}|{identifier['value']}"[:255]


def _claim_key(claim: dict[str, Any]) -> str | None:
    identifier = next((i for i in claim.get("identifier") or [] if i.get("value")), None)
    return _key(identifier) if identifier else None


def _typed(identifier: dict[str, Any], code: str) -> bool:
    return any(c.get("code") == code for c in (identifier.get("type") or {}).get("coding") or [])


def member_ids(patient: dict[str, Any] | None, coverage: dict[str, Any] | None) -> list[str]:
    """The member's ids: Patient identifiers typed MB (the PAS beneficiary slice; else its untyped ones),
    Coverage.subscriberId and Coverage identifiers typed MB. Values only: payers spell systems differently."""
    out: list[str] = []
    identifiers = [i for i in (patient or {}).get("identifier") or [] if i.get("value")]
    typed = [i for i in identifiers if _typed(i, "MB")]
    # Without the MB slice, the Patient's untyped identifiers stand for the member id.
    for ident in typed or [i for i in identifiers if not i.get("type")]:
        out.append(str(ident["value"]))
    if (coverage or {}).get("subscriberId"):
        out.append(str(coverage["subscriberId"]))  # type: ignore[index]
    for ident in (coverage or {}).get("identifier") or []:
        if _typed(ident, "MB") and ident.get("value"):
            out.append(str(ident["value"]))
    return list(dict.fromkeys(out))


def provider_ids(claim: dict[str, Any], resources: dict[str, dict[str, Any]]) -> list[str]:
    """Identifiers (`system|value`) of the requesting provider and the care team, following a
    PractitionerRole to its practitioner and organization."""
    kinds = ("Organization", "Practitioner", "PractitionerRole")
    found: list[dict[str, Any]] = []
    refs = [claim.get("provider")] + [c.get("provider") for c in claim.get("careTeam") or []]
    for ref in refs:
        target = _resolve(resources, ref, *kinds)
        if target is None:
            continue
        found.append(target)
        if target["resourceType"] == "PractitionerRole":
            for sub in (target.get("practitioner"), target.get("organization")):
                linked = _resolve(resources, sub, *kinds)
                if linked is not None:
                    found.append(linked)
    out = [_key(i) for r in found for i in r.get("identifier") or [] if i.get("value")]
    return list(dict.fromkeys(out))


@dataclass
class SubmittedItem:
    """One Claim.item as submitted; `policy` is the id of the policy that decides it, if any,
    and `refusal` why this service does not certify it otherwise."""

    sequence: int
    product: dict[str, Any]
    quantity: float | None = None
    serviced: dict[str, Any] = field(default_factory=dict)
    trace: list[dict[str, Any]] = field(default_factory=list)
    policy: str | None = None
    refusal: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sequence": self.sequence, "product": self.product}
        if self.quantity is not None:
            out["quantity"] = self.quantity
        if self.serviced:
            out["serviced"] = self.serviced
        if self.trace:
            out["trace"] = self.trace
        if self.policy:
            out["policy"] = self.policy
        if self.refusal:
            out["refusal"] = self.refusal
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SubmittedItem:
        return cls(
            int(raw.get("sequence") or 1),
            raw.get("product") or {},
            raw.get("quantity"),
            raw.get("serviced") or {},
            raw.get("trace") or [],
            raw.get("policy"),
            raw.get("refusal"),
        )


def _items(claim: dict[str, Any]) -> tuple[Policy | None, list[SubmittedItem]]:
    """The Claim's items, each with the policy deciding it: the first policy's drug decides the request;
    an item of no policy, or of another policy, is refused with the reason (a business outcome)."""
    known = policies()
    chosen: Policy | None = None
    out: list[SubmittedItem] = []
    for i, item in enumerate(claim.get("item") or []):
        product = item.get("productOrService") or {}
        quantity = (item.get("quantity") or {}).get("value")
        serviced = {k: v for k, v in item.items() if k.startswith("serviced")}
        trace = [e for e in item.get("extension") or [] if e.get("url") == systems.ITEM_TRACE_NUMBER]
        entry = SubmittedItem(int(item.get("sequence") or i + 1), product, quantity, serviced, trace)
        match = next((p for p in known if concept_is_drug(p, product)), None)
        if match is None:
            codes = ", ".join(sorted({p.current().billing.hcpcs.code for p in known}))
            entry.refusal = (
                f"Not a drug whose prior authorization this service decides ({codes}); "
                "no authorization is issued for this item here."
            )
        elif chosen is not None and match.id != chosen.id:
            entry.refusal = "Another drug than the request's first item: submit it as a separate request."
        else:
            chosen = match
            entry.policy = match.id
        out.append(entry)
    if not out:
        raise invalid(f"{ROOT}.item", "no item to authorize", "required")
    return chosen, out


def _diagnosis_codes(claim: dict[str, Any]) -> list[str]:
    codes: list[str] = []
    for i, dx in enumerate(claim.get("diagnosis") or []):
        for coding in (dx.get("diagnosisCodeableConcept") or {}).get("coding") or []:
            if coding.get("system") != systems.ICD10CM:
                continue
            try:
                code = normalize_icd10(str(coding.get("code") or ""))
            except ValueError as exc:
                raise invalid(f"{ROOT}.diagnosis[{i}].diagnosisCodeableConcept.coding", str(exc)) from None
            if code not in codes:
                codes.append(code)
    return codes


def _patient_details(patient: dict[str, Any] | None, members: list[str]) -> dict[str, Any] | None:
    """Name and member id for the reviewers' screens (PHI: stored, never logged)."""
    details: dict[str, Any] = {}
    names = (patient or {}).get("name") or []
    if names:
        n = names[0]
        text = n.get("text") or " ".join([*(n.get("given") or []), n.get("family") or ""]).strip()
        if text:
            details["name"] = text[:200]
    if members:
        details["member_id"] = members[0][:64]
    return details or None


def _practitioners(claim: dict[str, Any], resources: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(path, Practitioner) of Claim.provider, then of each Claim.careTeam[].provider, through a PractitionerRole."""
    out = []
    refs = [(f"{ROOT}.provider", claim.get("provider"))] + [
        (f"{ROOT}.careTeam[{i}].provider", c.get("provider")) for i, c in enumerate(claim.get("careTeam") or [])
    ]
    for path, ref in refs:
        target = _resolve(resources, ref, "Practitioner", "PractitionerRole")
        if target is not None and target["resourceType"] == "PractitionerRole":
            target = _resolve(resources, target.get("practitioner"), "Practitioner")
        if target is not None:
            out.append((path, target))
    return out


def _human_name(resource: dict[str, Any]) -> str:
    names = resource.get("name") or []
    if not names or not isinstance(names[0], dict):
        return ""
    n = names[0]
    text = n.get("text") or " ".join([*(n.get("prefix") or []), *(n.get("given") or []), n.get("family") or ""])
    return " ".join(str(text).split())[:200]


def _prescriber_details(claim: dict[str, Any], resources: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The prescriber: the first Practitioner with an NPI (system us-npi) among Claim.provider and the care team.
    PHI like the patient's; its NPI's check digit is verified when the request is stored."""
    for _path, practitioner in _practitioners(claim, resources):
        npi = next((str(i["value"]) for i in practitioner.get("identifier") or []
                    if i.get("system") == systems.NPI and i.get("value")), None)
        if npi is not None:
            return {"name": _human_name(practitioner) or "(name not given)", "npi": npi}
    return None


def _contact_details(claim: dict[str, Any], resources: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Who to contact: Claim.enterer (or else the prescriber) with a phone or email in its telecom; None without."""
    for ref in (claim.get("enterer"), claim.get("provider")):
        who = _resolve(resources, ref, "Practitioner", "PractitionerRole")
        if who is None:
            continue
        person: dict[str, Any] | None = who
        if who["resourceType"] == "PractitionerRole":
            person = _resolve(resources, who.get("practitioner"), "Practitioner")
        telecom = [t for t in [*(who.get("telecom") or []), *((person or {}).get("telecom") or [])] if t.get("value")]
        phone = next((str(t["value"])[:40] for t in telecom if t.get("system") == "phone"), None)
        email = next((str(t["value"])[:254] for t in telecom if t.get("system") == "email"), None)
        name = _human_name(person or who)
        if name and (phone or email):
            return {k: v for k, v in (("name", name), ("phone", phone), ("email", email)) if v}
    return None


@dataclass
class PasSubmission:
    """A PAS request Bundle, read: what the service needs to store and decide it.

    `policy` is the policy of the drug items (None: no item is decided here, `refusal` says
    why); `version` the one in force on the day received, against which `facts` were checked.
    """

    bundle: dict[str, Any]
    pas_version: str
    claim: dict[str, Any]
    items: list[SubmittedItem]
    policy: Policy | None = None
    version: PolicyVersion | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    urgency: str = "standard"
    idempotency_key: str | None = None
    patient: dict[str, Any] | None = None
    prescriber: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    members: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    refusal: str | None = None

    @property
    def decidable(self) -> bool:
        return self.policy is not None and self.version is not None


def _coverage(claim: dict[str, Any], resources: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    for ins in claim.get("insurance") or []:
        if ins.get("focal", True):
            return _resolve(resources, ins.get("coverage"), "Coverage")
    return None


def read_submission(bundle: Any, received: dt.date, decision_day: dt.date | None = None) -> PasSubmission:
    """A PAS request Bundle (Claim first) read and checked; FhirInputError names the element at fault.

    `received` is the day the claim is received; `decision_day` the day the request is decided
    for (the received day, or the day of an earlier submission of the same Claim).
    """
    parse(bundle, "Bundle")
    claim = _claim(bundle)
    resources = _index(bundle)
    policy, items = _items(claim)
    patient = _resolve(resources, claim.get("patient"), "Patient")
    coverage = _coverage(claim, resources)
    members = member_ids(patient, coverage)
    priority = {c.get("code") for c in (claim.get("priority") or {}).get("coding") or []}
    submission = PasSubmission(
        bundle=bundle,
        pas_version=pas_version(bundle),
        claim=claim,
        items=items,
        urgency="expedited" if priority & EXPEDITED_PRIORITIES else "standard",
        idempotency_key=_claim_key(claim),
        patient=_patient_details(patient, members),
        prescriber=_prescriber_details(claim, resources),
        contact=_contact_details(claim, resources),
        members=members,
        providers=provider_ids(claim, resources),
    )
    if policy is None:
        submission.refusal = items[0].refusal
        return submission
    # A request decided here names its patient (name and member id) and its prescriber (NPI).
    if not (submission.patient or {}).get("name"):
        raise invalid(f"{ROOT}.patient", "the Patient's name is required", "required")
    if not (submission.patient or {}).get("member_id"):
        raise invalid(f"{ROOT}.patient", "the member id is required: a Patient identifier (type MB) or "
                      "Coverage.subscriberId", "required")
    if submission.prescriber is None:
        raise invalid(f"{ROOT}.provider", "the prescriber is required: a Practitioner (Claim.provider or "
                      f"careTeam, directly or through a PractitionerRole) with an NPI identifier ({systems.NPI})",
                      "required")
    responses = []
    for info in claim.get("supportingInfo") or []:
        response = _resolve(resources, info.get("valueReference"), "QuestionnaireResponse")
        if response is not None:
            entry = next(k for k, e in enumerate(bundle["entry"]) if e.get("resource") is response)
            responses.append((response, f"Bundle.entry[{entry}].resource"))
    day = decision_day or received
    try:
        version = policy.in_force(day)
    except RequestError as exc:
        if exc.code != ErrorCode.NO_POLICY_VERSION:
            raise
        why = f"No version of policy {policy.id} is in force on {day.isoformat()}: the request cannot be decided."
        submission.refusal = why
        for item in items:
            if item.policy:
                item.policy, item.refusal = None, why
        return submission
    # The questions asked: those of the version the (first) response answers, else the deciding one.
    asked = answered_version(policy, responses[0][0]) if responses else version
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
        where["icd10_codes"] = f"{ROOT}.diagnosis"
    facts[policy.decided_on] = day.isoformat()  # the day received, never the order's or the answers' date
    where.pop(policy.decided_on, None)
    submission.policy = policy
    submission.version = version
    submission.facts = validate_answers(version, facts, where, "Bundle")
    return submission


@dataclass
class Inquiry:
    """A PAS inquiry Bundle, read: the identifiers it names and who it is about."""

    bundle: dict[str, Any]
    pas_version: str
    claim: dict[str, Any]
    numbers: list[str]
    claim_keys: list[str]
    members: list[str]
    providers: list[str]
    products: list[dict[str, Any]]


def read_inquiry(bundle: Any) -> Inquiry:
    """A PAS inquiry Bundle (Claim first). The authorization numbers are the preAuthRef this service
    gave (as a Claim.identifier of system PRE_AUTH_REF, or an item's authorizationNumber or
    administrationReferenceNumber); the claim keys the submission's Claim.identifier (PAS 2.0.1
    practice); the member and provider identifiers select and guard the match."""
    parse(bundle, "Bundle")
    claim = _claim(bundle)
    resources = _index(bundle)
    numbers: list[str] = []
    keys: list[str] = []
    for ident in claim.get("identifier") or []:
        if not ident.get("value"):
            continue
        if ident.get("system") == systems.PRE_AUTH_REF:
            numbers.append(str(ident["value"]))
        else:
            keys.append(_key(ident))
    products = []
    for item in claim.get("item") or []:
        for ext in item.get("extension") or []:
            if ext.get("url") in (systems.AUTHORIZATION_NUMBER, systems.ADMINISTRATION_REFERENCE):
                if ext.get("valueString"):
                    numbers.append(str(ext["valueString"]))
        codes = [c for c in (item.get("productOrService") or {}).get("coding") or [] if c.get("code")]
        if codes and not any(c.get("code") == "not-applicable" for c in codes):
            products.append(item["productOrService"])
    patient = _resolve(resources, claim.get("patient"), "Patient")
    members = member_ids(patient, _coverage(claim, resources))
    return Inquiry(
        bundle,
        pas_version(bundle),
        claim,
        list(dict.fromkeys(numbers)),
        keys,
        members,
        provider_ids(claim, resources),
        products,
    )


def identities_match(stored_members: list[str], stored_providers: list[str], inquiry: Inquiry) -> bool:
    """PAS: a match needs the member id and the provider identifier (each when the submission had one)."""
    if stored_members and not set(stored_members) & set(inquiry.members):
        return False
    return not (stored_providers and not set(stored_providers) & set(inquiry.providers))


def products_match(items: list[SubmittedItem], inquiry: Inquiry) -> bool:
    """Whether the inquiry's items (if it names any) name a product the submission asked for."""
    if not inquiry.products:
        return True
    wanted = {(c.get("system"), str(c.get("code"))) for p in inquiry.products for c in p.get("coding") or []}
    asked = {(c.get("system"), str(c.get("code"))) for i in items for c in i.product.get("coding") or []}
    hcpcs = systems.HCPCS_SYSTEMS
    norm = {(("hcpcs" if s in hcpcs else s), c) for s, c in wanted}
    return bool(norm & {(("hcpcs" if s in hcpcs else s), c) for s, c in asked})


# --- the ClaimResponse ---------------------------------------------------------------------


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


def _failed_criteria(det: dict[str, Any], version: PolicyVersion | None) -> str:
    """The criteria not met, grouped by indication branch with "One of:" groups (the core's one rendering)."""
    failed = [r for r in det.get("reasons") or [] if r.get("status") == "not_met"]
    return "\n".join(reason_lines(group_reasons(failed, version)))


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
        failed = _failed_criteria(det, policy)
        notes.append(f"Referred to a clinical reviewer. Criteria not met as submitted:\n{failed}")
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
        failed = _failed_criteria(det, policy)
        notes.append("Denied by a clinical reviewer." + (f" Criteria not met:\n{failed}" if failed else ""))
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


def _coding_action(action: str) -> dict[str, Any]:
    return {"system": systems.X12_REVIEW_ACTION, "code": action, "display": systems.X12_ACTIONS[action]}


def _adjudication(action: str, number: str | None) -> list[dict[str, Any]]:
    """The PAS decision: extension-reviewAction on the item's adjudication (where the profile puts it)."""
    parts: list[dict[str, Any]] = [
        {"url": systems.REVIEW_ACTION_CODE, "valueCodeableConcept": {"coding": [_coding_action(action)]}}
    ]
    if number:
        parts.append({"url": "number", "valueString": number})
    return [
        {
            "extension": [{"url": systems.REVIEW_ACTION, "extension": parts}],
            "category": {"coding": [{"system": systems.ADJUDICATION, "code": "submitted"}]},
        }
    ]


def _base_url(full_url: str | None) -> str | None:
    """`http://host/fhir` of `http://host/fhir/Type/id`, else None."""
    if not full_url or not full_url.startswith(("http://", "https://")):
        return None
    parts = full_url.rstrip("/").split("/")
    return "/".join(parts[:-2]) if len(parts) > 4 else None


def _related(bundle: dict[str, Any], claim: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The ClaimResponse's patient, insurer and requestor as references to the request Bundle's entries
    (by their fullUrl, so each resolves to exactly one entry of the answer), and those entries."""
    resources = _index(bundle)
    refs: dict[str, dict[str, Any]] = {}
    entries: list[dict[str, Any]] = []
    wanted = (
        ("patient", claim.get("patient"), ("Patient",)),
        ("insurer", claim.get("insurer"), ("Organization",)),
        ("requestor", claim.get("provider"), ("Organization", "Practitioner", "PractitionerRole")),
    )
    for element, ref, kinds in wanted:
        target = _resolve(resources, ref, *kinds)
        entry = next((e for e in bundle.get("entry") or [] if target is not None and e.get("resource") is target), None)
        if entry is not None and entry.get("fullUrl"):
            refs[element] = {"reference": entry["fullUrl"]}
            if all(e["fullUrl"] != entry["fullUrl"] for e in entries):
                entries.append({"fullUrl": entry["fullUrl"], "resource": entry["resource"]})
        elif ref:
            # Not in the Bundle: keep what identifies it, not a reference that would not resolve.
            kept = {k: v for k, v in ref.items() if k in ("identifier", "display")}
            refs[element] = kept or {"display": f"the Claim's {element}"}
    refs.setdefault("patient", {"display": "the patient of the request"})
    refs.setdefault("insurer", {"display": "priorauth"})
    return refs, entries


@dataclass
class ItemAnswer:
    """What is said of one submitted item."""

    item: SubmittedItem
    action: str
    notes: list[str]


def _item_answers(items: list[SubmittedItem], stored: StoredRequest | None, withheld: bool = False) -> list[ItemAnswer]:
    out = []
    for item in items:
        if item.policy is None or stored is None:
            out.append(ItemAnswer(item, "A3", [item.refusal or "Not decided by this service."]))
            continue
        if withheld:  # the engine's recommendation waits for a clinician: only "in review" (A4)
            out.append(ItemAnswer(item, "A4", [f"In clinical review: {WITHHELD_NOTE}."]))
            continue
        action = review_action(stored, item.quantity)
        out.append(ItemAnswer(item, action, _notes(stored, action, item.quantity)))
    return out


def _disposition(answers: list[ItemAnswer], stored: StoredRequest | None) -> str:
    if stored is None:
        return answers[0].notes[0] if answers else "Not certified: nothing to decide."
    return {
        "approved": "Certified",
        "denied": "Not certified",
        "not_applicable": "Not certified under this policy",
        "pended": "Pended: more information needed",
        "awaiting_review": "Pended: in clinical review",
    }.get(stored.status, stored.status)


def claim_response_bundle(
    request_bundle: dict[str, Any],
    items: list[SubmittedItem],
    stored: StoredRequest | None,
    pas_version: str,
    inquiry: bool = False,
    submitted_claim: str | None = None,
    now: dt.datetime | None = None,
    role: str | None = None,
) -> dict[str, Any]:
    """The PAS response Bundle (or inquiry response Bundle): the ClaimResponse first, then the request
    Bundle's entries it refers to (patient, insurer, requestor).

    The decision of each item is `extension-reviewAction` on `ClaimResponse.item.adjudication`; a
    modified item (A6) also has an `addItem` with what is authorised. `submitted_claim` is the
    submission's Claim.identifier key (`system|value`), for an inquiry's `request`. `role` is the
    caller's: a submitter hears A4 "in clinical review" until a clinician decides
    (`StoredRequest.withheld_from`), never the engine's recommendation or its reasons.
    """
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    claim = request_bundle["entry"][0]["resource"]
    auth = (stored.authorization or {}) if stored is not None else {}
    period = {"start": auth["start"], "end": auth["end"]} if stored and stored.status == "approved" and auth else None
    number = stored.id if stored is not None else None
    refs, related = _related(request_bundle, claim)
    answers = _item_answers(items, stored, stored is not None and stored.withheld_from(role))
    notes: list[dict[str, Any]] = []
    response_items: list[dict[str, Any]] = []
    added: list[dict[str, Any]] = []
    for answer in answers:
        item = answer.item
        first = len(notes) + 1
        for text in answer.notes:
            notes.append({"number": len(notes) + 1, "type": "display", "text": text})
        extensions: list[dict[str, Any]] = list(item.trace)
        if number and item.policy:
            extensions.append({"url": systems.ADMINISTRATION_REFERENCE, "valueString": number})
        if period and answer.action == "A1":
            extensions.append({"url": systems.ITEM_PRE_AUTH_PERIOD, "valuePeriod": period})
        if answer.action == "A6" and item.quantity is not None:
            # On the item, itemAuthorizedDetail says what was requested; addItem says what is authorised.
            extensions.append(
                {
                    "url": systems.ITEM_AUTHORIZED_DETAIL,
                    "extension": [{"url": "quantity", "valueQuantity": {"value": item.quantity}}],
                }
            )
        response_item: dict[str, Any] = {"itemSequence": item.sequence}
        if extensions:
            response_item["extension"] = extensions
        if len(notes) >= first:
            response_item["noteNumber"] = list(range(first, len(notes) + 1))
        response_item["adjudication"] = _adjudication(answer.action, number if item.policy else None)
        response_items.append(response_item)
        if answer.action == "A6" and period:
            added.append(_added_item(item, auth, period, number))
    response: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": uuid.uuid4().hex,
        "meta": {
            "profile": [
                f"{systems.PAS_CLAIM_INQUIRY_RESPONSE if inquiry else systems.PAS_CLAIM_RESPONSE}|{pas_version}"
            ]
        },
        "identifier": _response_identifiers(claim, stored),
        "status": "active",
        "type": claim.get("type")
        or {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "preauthorization",
        "patient": refs["patient"],
        "created": now.isoformat(),
        "insurer": refs["insurer"],
    }
    if "requestor" in refs:
        response["requestor"] = refs["requestor"]
    response["request"] = _request_reference(request_bundle, claim, submitted_claim if inquiry else None)
    # Processing is complete; a pended decision is an item's A4, not a queued response.
    response["outcome"] = "complete"
    response["disposition"] = _disposition(answers, stored)
    if stored is not None:
        response["preAuthRef"] = stored.id
    if period:
        response["preAuthPeriod"] = period
    response["item"] = response_items
    if added:
        response["addItem"] = added
    if notes:
        response["processNote"] = notes
    base = next((_base_url(e["fullUrl"]) for e in related if _base_url(e["fullUrl"])), None)
    full_url = f"{base}/ClaimResponse/{response['id']}" if base else f"urn:uuid:{uuid.UUID(response['id'])}"
    profile = systems.PAS_INQUIRY_RESPONSE_BUNDLE if inquiry else systems.PAS_RESPONSE_BUNDLE
    bundle = {
        "resourceType": "Bundle",
        "id": uuid.uuid4().hex,
        "meta": {"profile": [f"{profile}|{pas_version}"]},
        "identifier": {"system": systems.RESPONSE_BUNDLE_ID, "value": str(uuid.uuid4())},
        "type": "collection",
        "timestamp": now.isoformat(),
        "entry": [{"fullUrl": full_url, "resource": response}, *related],
    }
    parse(bundle, "Bundle")  # what we send must itself be valid FHIR R4
    return bundle


def _response_identifiers(claim: dict[str, Any], stored: StoredRequest | None) -> list[dict[str, Any]]:
    """The authorization number, and the Claim's own identifiers echoed (each with system and value)."""
    out = [{"system": systems.PRE_AUTH_REF, "value": stored.id}] if stored is not None else []
    for ident in claim.get("identifier") or []:
        if ident.get("system") and ident.get("value") and ident.get("system") != systems.PRE_AUTH_REF:
            out.append({"system": ident["system"], "value": ident["value"]})
    return out or [{"system": systems.RESPONSE_BUNDLE_ID, "value": str(uuid.uuid4())}]


def _request_reference(bundle: dict[str, Any], claim: dict[str, Any], submitted: str | None) -> dict[str, Any]:
    """ClaimResponse.request: the submitted Claim, by its identifier (and its fullUrl on $submit)."""
    if submitted:
        system, _, value = submitted.partition("|")
        return {"identifier": {"system": system, "value": value} if system else {"value": value}}
    ref: dict[str, Any] = {}
    full_url = (bundle.get("entry") or [{}])[0].get("fullUrl")
    if full_url:
        ref["reference"] = full_url
    identifier = next((i for i in claim.get("identifier") or [] if i.get("value")), None)
    if identifier:
        ref["identifier"] = {k: v for k, v in identifier.items() if k in ("system", "value")}
    return ref or {"display": "the submitted Claim"}


def _added_item(
    item: SubmittedItem, auth: dict[str, Any], period: dict[str, str], number: str | None
) -> dict[str, Any]:
    """What is authorised for a modified (A6) item: the authorised quantity, period and number."""
    return {
        "extension": [
            {"url": systems.ITEM_PRE_AUTH_PERIOD, "valuePeriod": period},
            {
                "url": systems.ITEM_AUTHORIZED_DETAIL,
                "extension": [{"url": "quantity", "valueQuantity": {"value": auth["max_units"]}}],
            },
        ],
        "itemSequence": [item.sequence],
        "productOrService": item.product,
        "servicedPeriod": period,
        "quantity": {"value": auth["max_units"]},
        "adjudication": _adjudication("A1", number),
    }


def inquiry_answer(pas_version: str, bundles: list[dict[str, Any]]) -> dict[str, Any]:
    """The $inquire output: PAS 2.2.1 returns Parameters with one `return` Bundle per match (possibly
    none); 2.0.1 the Bundle itself."""
    if pas_version == "2.2.1":
        out: dict[str, Any] = {"resourceType": "Parameters"}
        if bundles:
            out["parameter"] = [{"name": "return", "resource": b} for b in bundles]
        return out
    return bundles[0]


def claim_key_of(bundle: Any) -> str | None:
    """The Claim.identifier key of a request Bundle, if it has one (read before anything is checked)."""
    try:
        claim = bundle["entry"][0]["resource"]
        identifier = next(i for i in claim.get("identifier") or [] if isinstance(i, dict) and i.get("value"))
        return _key(identifier) if isinstance(identifier["value"], str) else None
    except (KeyError, IndexError, TypeError, AttributeError, StopIteration):
        return None


def inquiry_items(inquiry: Inquiry, policy_id: str) -> list[SubmittedItem]:
    """The inquiry's own items, for a request that was not submitted through PAS."""
    out = []
    for i, item in enumerate(inquiry.claim.get("item") or []):
        quantity = (item.get("quantity") or {}).get("value")
        out.append(SubmittedItem(int(item.get("sequence") or i + 1), item.get("productOrService") or {}, quantity,
                                 policy=policy_id))
    return out or [SubmittedItem(1, {"text": "the authorized drug"}, policy=policy_id)]
