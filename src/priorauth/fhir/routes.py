"""The FHIR door: CDS Hooks (CRD), DTR and PAS endpoints on the service application.

Errors answer with an OperationOutcome (FHIR endpoints) or a JSON object naming the
field (CDS Hooks). PAS submit and inquire go through the service layer: the same
store, audit trail and bearer-token access control as the REST API.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from priorauth import __version__ as priorauth_version
from priorauth import service
from priorauth.core import ErrorCode, RequestError, load_json, load_policy, policy_ids
from priorauth.fhir import cds_clients, crd, dtr, openapi, pas, pas_store, systems
from priorauth.fhir.questionnaire import build_questionnaire, facts_from_response
from priorauth.fhir.resources import FhirInputError, Issue, invalid, operation_outcome, parse, preload
from priorauth.http import deps
from priorauth.service import Principal, ServiceError, token_digest

FHIR_JSON = "application/fhir+json"
PUBLIC_URL_ENV = "PRIORAUTH_PUBLIC_URL"
# The resource types the hooks, DTR and PAS parse: loaded when the application starts.
PRELOADED = (
    "Bundle",
    "Patient",
    "Coverage",
    "Condition",
    "Observation",
    "MedicationRequest",
    "Medication",
    "ServiceRequest",
    "DeviceRequest",
    "Parameters",
    "Questionnaire",
    "QuestionnaireResponse",
    "Claim",
    "ClaimResponse",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "OperationOutcome",
)


def _load_models() -> None:
    preload(PRELOADED)


router = APIRouter(tags=["fhir"], on_startup=[_load_models])

_ISSUE_CODE = {401: "login", 403: "forbidden", 404: "not-found", 409: "conflict", 412: "business-rule"}


def fhir(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=FHIR_JSON)


def outcome(status: int, expression: str, diagnostics: str, code: str | None = None) -> Response:
    issue = Issue(expression, diagnostics, code or _ISSUE_CODE.get(status, "invalid"))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(orjson.dumps(operation_outcome([issue])), status_code=status, media_type=FHIR_JSON, headers=headers)


def _error_response(exc: Exception) -> Response:
    if isinstance(exc, FhirInputError):
        return fhir(exc.operation_outcome(), exc.status)
    if isinstance(exc, RequestError):
        return outcome(400 if exc.code == ErrorCode.INVALID_JSON else 422, exc.field, exc.problem, "invalid")
    if isinstance(exc, ServiceError):
        return outcome(exc.status, exc.field or "request", str(exc))
    raise exc


async def _json(request: Request, root: str) -> Any:
    """The body parsed by the one bounded JSON parser (depth limit); an OperationOutcome naming `root` otherwise."""
    raw = await request.body()
    if not raw:
        raise invalid(root, "a JSON body is required", "required")
    try:
        return load_json(raw, root)
    except RequestError as exc:
        raise invalid(root, exc.problem, "structure") from None


async def _principal(request: Request) -> Principal:
    return await deps.principal(request)


def _hook_json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


# --- CDS Hooks (CRD) ------------------------------------------------------------------------


@router.get("/cds-services", summary="CDS Hooks discovery (Da Vinci CRD services)")
async def cds_discovery() -> Response:
    return Response(orjson.dumps(crd.discovery()), media_type="application/json")


def public_base(request: Request) -> str:
    """The service's public URL (PRIORAUTH_PUBLIC_URL), never taken from the request's Host header."""
    return os.environ.get(PUBLIC_URL_ENV, "").rstrip("/")


def _trust(request: Request) -> cds_clients.ClientTrust:
    trust = getattr(request.app.state, "cds_trust", None)
    if trust is None:
        trust = request.app.state.cds_trust = cds_clients.ClientTrust()
    return trust


async def hook_caller(request: Request, service_id: str) -> Principal:
    """A CDS client by its signed JWT (CDS Hooks 2.0), or a holder of the service's own bearer token."""
    token = deps.bearer_token(request)
    if token and cds_clients.looks_like_jwt(token):
        path = f"/cds-services/{service_id}"
        audiences = [f"{str(request.base_url).rstrip('/')}{path}"]
        if public_base(request):
            audiences.insert(0, f"{public_base(request)}{path}")
        trust, sessions = _trust(request), request.app.state.db.session
        if trust.needs_io(token):  # the client's registration or keys: database or network
            return await run_in_threadpool(cds_clients.verify, trust, sessions, token, audiences)
        return cds_clients.verify(trust, sessions, token, audiences)
    return await _single_flight_principal(request, token or "")


async def _single_flight_principal(request: Request, token: str) -> Principal:
    """The bearer token's principal; concurrent calls with the same token whose cached check expired wait
    for one database lookup instead of each making their own (at 4 connections, four concurrent lookups
    every 5 seconds took up to 70 ms)."""
    inflight: dict[str, asyncio.Future[Principal]] = getattr(request.app.state, "hook_auth_inflight", None) or {}
    request.app.state.hook_auth_inflight = inflight
    key = token_digest(token)
    pending = inflight.get(key)
    if pending is not None:
        return await asyncio.shield(pending)
    future: asyncio.Future[Principal] = asyncio.get_running_loop().create_future()
    future.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved even with no waiter
    inflight[key] = future
    try:
        who = await _principal(request)
    except BaseException as exc:
        future.set_exception(exc)
        raise
    else:
        future.set_result(who)
        return who
    finally:
        del inflight[key]


@router.post(
    "/cds-services/{service_id}",
    summary="A CDS Hooks call: order-select or order-sign",
    openapi_extra=openapi.body(openapi.HOOK_REQUEST),
)
async def cds_service(service_id: str, request: Request) -> Response:
    try:
        who = await hook_caller(request, service_id)
    except ServiceError as exc:
        return _hook_json({"error": str(exc), "code": str(exc.code)}, exc.status, {"WWW-Authenticate": "Bearer"})
    raw = await request.body()
    try:
        body = load_json(raw, "request") if raw.strip() else None
        if crd.needs_ehr(body):  # reads the EHR's FHIR server: off the event loop
            answer = await run_in_threadpool(crd.answer_hook, who, service_id, body, public_base(request))
        else:
            answer = crd.answer_hook(who, service_id, body, public_base(request))
    except crd.HookError as exc:
        return _hook_json(exc.to_dict(), exc.status)
    except RequestError as exc:
        return _hook_json({"error": str(exc), **exc.to_dict()}, 400 if exc.code == ErrorCode.INVALID_JSON else 422)
    except ServiceError as exc:
        return _hook_json({"error": str(exc), "code": str(exc.code)}, exc.status)
    return _hook_json(answer, 200)


# --- FHIR: Questionnaire, DTR ---------------------------------------------------------------


def _capability_statement(request: Request) -> dict[str, Any]:
    """The FHIR CapabilityStatement: what this instance serves and the guide versions it conforms to."""
    implementation: dict[str, Any] = {"description": "priorauth: executable prior authorization policies"}
    if public_base(request):
        implementation["url"] = f"{public_base(request)}/fhir"
    guides = [
        f"{systems.CRD}/ImplementationGuide/hl7.fhir.us.davinci-crd|{systems.CRD_VERSION}",
        f"{systems.DTR}/ImplementationGuide/hl7.fhir.us.davinci-dtr|{systems.DTR_VERSION}",
    ] + [f"{systems.PAS}/ImplementationGuide/hl7.fhir.us.davinci-pas|{v}" for v in systems.PAS_VERSIONS]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": dt.date.today().isoformat(),
        "publisher": "priorauth",
        "description": (
            f"Da Vinci DTR {systems.DTR_VERSION} payer service and PAS {' and '.join(systems.PAS_VERSIONS)} server; "
            f"CRD {systems.CRD_VERSION} is served as CDS Hooks {systems.CDS_HOOKS_VERSION} at /cds-services."
        ),
        "kind": "instance",
        "software": {"name": "priorauth", "version": priorauth_version},
        "implementation": implementation,
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "implementationGuide": guides,
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": (
                        "Bearer tokens of the priorauth service (priorauth tokens create); CDS Hooks clients "
                        "also by signed JWT (priorauth cds-clients add)."
                    )
                },
                "resource": [
                    {
                        "type": "Questionnaire",
                        "interaction": [{"code": "read"}],
                        "operation": [
                            {
                                "name": "questionnaire-package",
                                "definition": f"{systems.DTR}/OperationDefinition/questionnaire-package",
                            }
                        ],
                    },
                    {
                        "type": "Claim",
                        "operation": [
                            {"name": "submit", "definition": f"{systems.PAS}/OperationDefinition/Claim-submit"},
                            {"name": "inquire", "definition": f"{systems.PAS}/OperationDefinition/Claim-inquiry"},
                        ],
                    },
                ],
            }
        ],
    }


@router.get("/fhir/metadata", summary="FHIR CapabilityStatement")
async def capability_statement(request: Request) -> Response:
    return fhir(_capability_statement(request))


@router.get("/fhir/Questionnaire/{policy_id}", summary="The DTR Questionnaire of a policy")
async def questionnaire(policy_id: str) -> Response:
    if policy_id not in policy_ids():
        return outcome(404, "Questionnaire.id", "no such Questionnaire")
    return fhir(build_questionnaire(policy_id))


@router.post(
    "/fhir/Questionnaire/$questionnaire-package",
    summary="DTR $questionnaire-package",
    openapi_extra=openapi.body(openapi.PARAMETERS),
)
async def questionnaire_package(request: Request) -> Response:
    try:
        await _principal(request)
        parameters = await _json(request, "Parameters")
        return fhir(dtr.questionnaire_package(parameters))
    except (FhirInputError, RequestError, ServiceError) as exc:
        return _error_response(exc)


@router.post(
    "/fhir/QuestionnaireResponse/$facts",
    summary="A completed QuestionnaireResponse as contract facts",
    openapi_extra=openapi.body(openapi.QUESTIONNAIRE_RESPONSE),
)
async def response_facts(request: Request) -> Response:
    """Not a Da Vinci operation: the request contract (`policy`, `facts`) a response answers."""
    try:
        await _principal(request)
        response = await _json(request, "QuestionnaireResponse")
        parse(response, "QuestionnaireResponse")  # before reading anything from it
        canonical_url = str(response.get("questionnaire") or "").split("|")[0]
        policy_id = canonical_url.rstrip("/").split("/")[-1]
        if policy_id not in policy_ids():
            raise invalid("QuestionnaireResponse.questionnaire", "not a questionnaire of this service")
        facts = facts_from_response(load_policy(policy_id), response)
        body = {
            "policy": policy_id,
            "facts": {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in facts.items()},
        }
        return Response(orjson.dumps(body), media_type="application/json")
    except (FhirInputError, RequestError, ServiceError) as exc:
        return _error_response(exc)


# --- PAS ---------------------------------------------------------------------------------


def _first_submission_day(session: Any, who: Principal, bundle: Any) -> dt.date | None:
    """The day a Claim with this identifier was first received (its resubmission is decided for that day)."""
    key = pas.claim_key_of(bundle)
    if key is None or who.role != "submitter":
        return None
    try:
        stored = service.request_by_idempotency_key(session, who, key)
    except service.NotFound:
        return None
    version = stored.decided_under
    raw = stored.facts.get(version.decided_on) if version is not None else None
    try:
        return dt.date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _submit(db: Any, who: Principal, bundle: dict[str, Any], today: dt.date) -> dict[str, Any]:
    who.require("submitter")
    with db.session() as session:
        first_day = _first_submission_day(session, who, bundle)
        submission = pas.read_submission(bundle, today, first_day)  # nothing is stored unless this succeeds
        if not submission.decidable:
            # A business outcome: nothing here decides these items; said in a ClaimResponse, nothing stored.
            return pas.claim_response_bundle(bundle, submission.items, None, submission.pas_version)
        assert submission.policy is not None
        stored = service.submit_request(
            session,
            who,
            submission.policy.id,
            _jsonable(submission.facts),
            submission.urgency,
            idempotency_key=submission.idempotency_key,
            patient=submission.patient,
            prescriber=submission.prescriber,
            contact=submission.contact,
            require=("patient", "prescriber"),
        )
        pas_store.record_submission(session, stored.id, who.org, submission)
    return pas.claim_response_bundle(bundle, submission.items, stored, submission.pas_version, role=who.role)


def _inquiry_matches(session: Any, who: Principal, inquiry: pas.Inquiry) -> list[tuple[Any, Any]]:
    """(stored request, its PAS submission record or None) for what the inquiry identifies, newest first."""
    found: dict[str, tuple[Any, Any]] = {}

    def add(request_id: str) -> None:
        if request_id in found:
            return
        try:
            stored = service.get_request(session, who, request_id)
        except service.NotFound:
            return
        found[request_id] = (stored, pas_store.submission(session, request_id))

    for number in inquiry.numbers:
        add(number)
    if not inquiry.numbers:
        for record in pas_store.by_claim_identifiers(session, who.org, inquiry.claim_keys):
            add(record.request_id)
        if not found:
            for key in inquiry.claim_keys:  # requests stored before submissions were recorded
                try:
                    add(service.request_by_idempotency_key(session, who, key).id)
                except service.NotFound:
                    continue
    if not found and not inquiry.numbers:
        # Query by example: a specific patient (member id), the provider, the items.
        if not inquiry.members:
            raise invalid(
                "Bundle.entry[0].resource.patient",
                "identify the patient by member id (Patient.identifier of type MB or Coverage.subscriberId)",
                "required",
            )
        for record in pas_store.recent(session, who.org):
            if pas.identities_match(record.members, record.providers, inquiry) and pas.products_match(
                record.items, inquiry
            ):
                add(record.request_id)
    matches = []
    for stored, record in found.values():
        if record is not None and not (
            pas.identities_match(record.members, record.providers, inquiry)
            and pas.products_match(record.items, inquiry)
        ):
            continue
        matches.append((stored, record))
    return matches


def _inquire(db: Any, who: Principal, bundle: dict[str, Any]) -> dict[str, Any]:
    inquiry = pas.read_inquiry(bundle)
    with db.session() as session:
        matches = _inquiry_matches(session, who, inquiry)
    version = inquiry.pas_version
    if any(record is not None and record.pas_version == "2.2.1" for _, record in matches):
        version = "2.2.1"
    bundles = []
    for stored, record in matches:
        # What is said of a stored request is derived under the version that decided it (stored.decided_under),
        # for the items that were submitted (the inquiry's own items when the submission was not through PAS).
        items = record.items if record is not None else pas.inquiry_items(inquiry, stored.policy)
        key = record.claim_identifier if record is not None else None
        bundles.append(
            pas.claim_response_bundle(
                bundle, items, stored, version, inquiry=True, submitted_claim=key, role=who.role
            )
        )
    if not bundles and version != "2.2.1":
        raise invalid(
            "Bundle.entry[0].resource",
            "no prior authorization matches this inquiry (its identifiers, member and provider)",
            "not-found",
            404,
        )
    return pas.inquiry_answer(version, bundles)


def _jsonable(facts: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in facts.items()}


@router.post(
    "/fhir/Claim/$submit",
    summary="PAS: submit a prior authorization request Bundle",
    openapi_extra=openapi.body(openapi.PAS_BUNDLE),
)
async def claim_submit(request: Request) -> Response:
    try:
        who = await _principal(request)
        bundle = await _json(request, "Bundle")
        received = dt.datetime.now(dt.UTC).date()  # the day received (UTC), as the service dates a submission
        return fhir(await run_in_threadpool(_submit, request.app.state.db, who, bundle, received))
    except (FhirInputError, RequestError, ServiceError) as exc:
        return _error_response(exc)


@router.post(
    "/fhir/Claim/$inquire",
    summary="PAS: the current state of a submitted request",
    openapi_extra=openapi.body(openapi.PAS_BUNDLE),
)
async def claim_inquire(request: Request) -> Response:
    try:
        who = await _principal(request)
        bundle = await _json(request, "Bundle")
        return fhir(await run_in_threadpool(_inquire, request.app.state.db, who, bundle))
    except (FhirInputError, RequestError, ServiceError) as exc:
        return _error_response(exc)
