"""The FHIR door: CDS Hooks (CRD), DTR and PAS endpoints on the service application.

Errors answer with an OperationOutcome (FHIR endpoints) or a JSON object naming the
field (CDS Hooks). PAS submit and inquire go through the service layer: the same
store, audit trail and bearer-token access control as the REST API.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from priorauth import service
from priorauth.core import ErrorCode, RequestError, load_policy, policy_ids
from priorauth.fhir import crd, dtr, pas
from priorauth.fhir.questionnaire import build_questionnaire, facts_from_response
from priorauth.fhir.resources import FhirInputError, Issue, invalid, operation_outcome
from priorauth.http import deps
from priorauth.service import Principal, ServiceError

FHIR_JSON = "application/fhir+json"
router = APIRouter(tags=["fhir"])

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
    raw = await request.body()
    if not raw:
        raise invalid(root, "a JSON body is required", "required")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid(root, "not valid JSON", "structure") from None


async def _principal(request: Request) -> Principal:
    return await deps.principal(request)


def _hook_json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


# --- CDS Hooks (CRD) ------------------------------------------------------------------------


@router.get("/cds-services", summary="CDS Hooks discovery (Da Vinci CRD services)")
async def cds_discovery() -> Response:
    return Response(orjson.dumps(crd.discovery()), media_type="application/json")


@router.post("/cds-services/{service_id}", summary="A CDS Hooks call: order-select or order-sign")
async def cds_service(service_id: str, request: Request) -> Response:
    try:
        who = await _principal(request)
    except ServiceError as exc:
        return _hook_json({"error": str(exc), "code": str(exc.code)}, exc.status, {"WWW-Authenticate": "Bearer"})
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else None
        answer = crd.answer_hook(who, service_id, body, str(request.base_url))
    except orjson.JSONDecodeError:
        return _hook_json(
            {"error": "request: not valid JSON", "field": "request", "code": str(ErrorCode.INVALID_JSON)}, 400
        )
    except crd.HookError as exc:
        return _hook_json(exc.to_dict(), exc.status)
    except RequestError as exc:
        return _hook_json({"error": str(exc), **exc.to_dict()}, 422)
    except ServiceError as exc:
        return _hook_json({"error": str(exc), "code": str(exc.code)}, exc.status)
    return _hook_json(answer, 200)


# --- FHIR: Questionnaire, DTR ---------------------------------------------------------------


@router.get("/fhir/metadata", summary="FHIR CapabilityStatement")
async def capability_statement() -> Response:
    return fhir(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": dt.date.today().isoformat(),
            "kind": "instance",
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "security": {"description": "Bearer tokens of the priorauth service (priorauth tokens create)."},
                    "resource": [
                        {
                            "type": "Questionnaire",
                            "interaction": [{"code": "read"}],
                            "operation": [
                                {
                                    "name": "questionnaire-package",
                                    "definition": "http://hl7.org/fhir/us/davinci-dtr/OperationDefinition/questionnaire-package",
                                }
                            ],
                        },
                        {
                            "type": "Claim",
                            "operation": [
                                {
                                    "name": "submit",
                                    "definition": "http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-submit",
                                },
                                {
                                    "name": "inquire",
                                    "definition": "http://hl7.org/fhir/us/davinci-pas/OperationDefinition/Claim-inquiry",
                                },
                            ],
                        },
                    ],
                }
            ],
        }
    )


@router.get("/fhir/Questionnaire/{policy_id}", summary="The DTR Questionnaire of a policy")
async def questionnaire(policy_id: str) -> Response:
    if policy_id not in policy_ids():
        return outcome(404, "Questionnaire.id", "no such Questionnaire")
    return fhir(build_questionnaire(policy_id))


@router.post("/fhir/Questionnaire/$questionnaire-package", summary="DTR $questionnaire-package")
async def questionnaire_package(request: Request) -> Response:
    try:
        await _principal(request)
        parameters = await _json(request, "Parameters")
        return fhir(dtr.questionnaire_package(parameters))
    except (FhirInputError, RequestError, ServiceError) as exc:
        return _error_response(exc)


@router.post("/fhir/QuestionnaireResponse/$facts", summary="A completed QuestionnaireResponse as contract facts")
async def response_facts(request: Request) -> Response:
    """Not a Da Vinci operation: the request contract (`policy`, `facts`) a response answers."""
    try:
        await _principal(request)
        response = await _json(request, "QuestionnaireResponse")
        canonical_url = (response.get("questionnaire") or "").split("|")[0] if isinstance(response, dict) else ""
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


def _submit(db: Any, who: Principal, bundle: dict[str, Any]) -> dict[str, Any]:
    submission = pas.read_submission(bundle)  # nothing is stored unless this succeeds
    with db.session() as session:
        stored = service.submit_request(
            session,
            who,
            submission.policy.id,
            _jsonable(submission.facts),
            submission.urgency,
            idempotency_key=submission.idempotency_key,
            patient=submission.patient,
        )
    return pas.claim_response_bundle(
        submission.claim,
        stored,
        submission.drug_items,
        submission.requested_units,
        pas.related_entries(bundle, submission.claim),
    )


def _inquire(db: Any, who: Principal, bundle: dict[str, Any]) -> dict[str, Any]:
    claim, number, key = pas.read_inquiry(bundle)
    with db.session() as session:
        if number is not None:
            stored = service.get_request(session, who, number)
        else:
            # The submission's Claim.identifier is its idempotency key in the caller's organisation.
            try:
                stored = service.request_by_idempotency_key(session, who, key or "")
            except service.NotFound:
                raise invalid(
                    "Bundle.entry[0].resource.identifier",
                    "no prior authorization request with this identifier",
                    "not-found",
                    404,
                ) from None
    # What is said of a stored request is derived under the version that decided it (stored.decided_under).
    original = {**claim, "item": claim.get("item") or []}
    return pas.claim_response_bundle(original, stored, None, None, pas.related_entries(bundle, claim))


def _jsonable(facts: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in facts.items()}


@router.post("/fhir/Claim/$submit", summary="PAS: submit a prior authorization request Bundle")
async def claim_submit(request: Request) -> Response:
    try:
        who = await _principal(request)
        bundle = await _json(request, "Bundle")
        return fhir(await run_in_threadpool(_submit, request.app.state.db, who, bundle))
    except (FhirInputError, RequestError, ServiceError) as exc:
        return _error_response(exc)


@router.post("/fhir/Claim/$inquire", summary="PAS: the current state of a submitted request")
async def claim_inquire(request: Request) -> Response:
    try:
        who = await _principal(request)
        bundle = await _json(request, "Bundle")
        return fhir(await run_in_threadpool(_inquire, request.app.state.db, who, bundle))
    except (FhirInputError, RequestError, ServiceError) as exc:
        return _error_response(exc)
