"""The REST door under /v1: each endpoint parses, calls priorauth.service, renders JSON."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import Response as PlainResponse
from starlette.concurrency import run_in_threadpool

from priorauth import service
from priorauth.api.schemas import Urgency, body
from priorauth.core import RequestError, unknown_key
from priorauth.http.deps import JsonBody, PrincipalDep, SessionDep
from priorauth.http.problems import PROBLEM_SCHEMA
from priorauth.http.responses import JSONResponse

log = logging.getLogger("priorauth.api")
router = APIRouter(prefix="/v1")
Sort = Literal["due", "-due", "created", "-created", "urgency", "status"]

Responses = dict[int | str, dict[str, Any]]  # FastAPI's `responses=`: status code -> OpenAPI response
_PROBLEM = {"content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}
ERRORS: Responses = {
    401: {"description": "Missing, unknown or revoked bearer token", **_PROBLEM},
    403: {"description": "The caller's role may not do this", **_PROBLEM},
    422: {"description": "Invalid input; `field` names it", **_PROBLEM},
}
BODY_ERRORS: Responses = {
    **ERRORS,
    400: {"description": "Not valid JSON", **_PROBLEM},
    413: {"description": "Body larger than the limit (64 KiB by default)", **_PROBLEM},
}
NOT_FOUND: Responses = {404: {"description": "No such request (or not visible to the caller)", **_PROBLEM}}
CONFLICT: Responses = {409: {"description": "Stale expected_version, or the request is not open", **_PROBLEM}}


def envelope(raw: Any, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The body as an object with only `allowed` keys and every `required` one."""
    if not isinstance(raw, dict):
        raise RequestError("request", f"expected a JSON object with {', '.join(allowed)}")
    for key in raw:
        if key not in allowed:
            raise unknown_key("request", raw, key, f"unknown field; allowed: {', '.join(allowed)}")
    for key in required:
        if raw.get(key) is None:
            raise RequestError(key, "required")
    return raw


def _policy_id(raw: dict[str, Any]) -> str:
    policy = raw.get("policy")
    if not isinstance(policy, str):
        raise RequestError("policy", "required: the id of a loaded policy (GET /v1/policies lists them)")
    return policy


def _facts(raw: dict[str, Any], required: bool = False) -> Any:
    facts = raw.get("facts")
    if facts is None and not required:
        return {}
    if not isinstance(facts, dict):
        raise RequestError("facts", "expected an object of fact -> value")
    return facts


@router.post(
    "/evaluate",
    summary="What-if: the determination a request would get; nothing is stored or decided",
    openapi_extra=body("EvaluationRequest"),
    responses=BODY_ERRORS,
)
async def evaluate(
    principal: PrincipalDep,
    raw: JsonBody,
    trace: Annotated[bool, Query(description="include the full criteria tree")] = False,
) -> JSONResponse:
    req = envelope(raw, ("policy", "facts", "dosing"), ("policy",))
    det = service.evaluate_request(principal, _policy_id(req), _facts(req), req.get("dosing"))
    out = det.to_dict()
    if trace:
        tree = det.trace
        out["trace"] = tree.to_dict() if tree is not None else None
    return JSONResponse(out)


@router.post(
    "/requests",
    status_code=201,
    summary="Submit a coverage request; stored with its determination",
    openapi_extra=body("CoverageRequestSubmission"),
    responses={**BODY_ERRORS, 200: {"description": "Replay of an earlier submission with the same Idempotency-Key"}},
)
async def submit(
    request: Request,
    principal: PrincipalDep,
    raw: JsonBody,
    idempotency_key: Annotated[
        str | None, Header(max_length=255, description="Retries with the same key return the first result")
    ] = None,
) -> JSONResponse:
    req = envelope(raw, ("policy", "facts", "urgency", "patient", "prescriber", "contact", "dosing"), ("policy",))
    urgency = req.get("urgency", "standard")
    if not isinstance(urgency, str):
        raise RequestError("urgency", "not one of standard, expedited")
    db = request.app.state.db

    def store() -> service.StoredRequest:
        # One hop to a worker thread for the whole unit of work: the hot path of the service.
        with db.session() as session:
            return service.submit_request(
                session,
                principal,
                _policy_id(req),
                _facts(req),
                urgency,
                idempotency_key,
                req.get("patient"),
                req.get("dosing"),
                req.get("prescriber"),
                req.get("contact"),
            )

    stored = await run_in_threadpool(store)
    # Identifiers and outcomes only: facts, patient, prescriber and contact are PHI and never logged.
    log.info(
        "request %s %s: %s under %s %s",
        stored.id,
        "replayed" if stored.replayed else "stored",
        stored.status,
        stored.policy,
        stored.policy_version,
    )
    headers = {"Location": f"/v1/requests/{stored.id}"}
    if stored.replayed:
        headers["Idempotent-Replayed"] = "true"
    status = 200 if stored.replayed else 201
    return JSONResponse(stored.to_dict(role=principal.role), status_code=status, headers=headers)


def _statuses(values: list[str] | None) -> tuple[str, ...] | None:
    """`status=a,b` and repeated `status` parameters -> the statuses (any of them matches)."""
    if not values:
        return None
    out = tuple(s.strip() for v in values for s in v.split(","))
    if any(s not in service.STATUSES for s in out):
        raise RequestError("status", f"not one of {', '.join(service.STATUSES)}")
    return out


@router.get("/requests", summary="List requests (default: soonest due first)", responses=ERRORS)
def list_requests(
    principal: PrincipalDep,
    session: SessionDep,
    status: Annotated[
        list[str] | None,
        Query(description=f"one or more of {', '.join(service.STATUSES)}: comma-separated or repeated"),
    ] = None,
    urgency: Annotated[Urgency | None, Query()] = None,
    sort: Annotated[Sort, Query(description="due, -due, created, -created, urgency (expedited first), status")] = "due",
    policy: Annotated[str | None, Query(max_length=64)] = None,
    due_before: Annotated[dt.datetime | None, Query(description="ISO 8601 date-time with offset")] = None,
    submitter: Annotated[str | None, Query(max_length=100, description="submitting organisation")] = None,
    overdue: Annotated[bool | None, Query(description="still open after the due time")] = None,
    member_id: Annotated[str | None, Query(max_length=64, description="the patient's member id, exactly")] = None,
    name: Annotated[str | None, Query(max_length=200, description="part of the patient's name, any case")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> JSONResponse:
    if due_before is not None and due_before.tzinfo is None:
        raise RequestError("due_before", "needs a UTC offset (e.g. 2026-03-09T00:00:00Z)")
    filters = service.RequestFilters(
        _statuses(status), policy, due_before, submitter, overdue, urgency, member_id or None, name or None
    )
    page = service.list_requests(session, principal, filters, service.Page(limit, offset, sort))
    return JSONResponse(page.to_dict(role=principal.role))


@router.get("/requests/{request_id}", summary="One request", responses={**ERRORS, **NOT_FOUND})
def get_request(
    request_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    trace: Annotated[bool, Query(description="include the full criteria tree")] = False,
) -> JSONResponse:
    stored = service.get_request(session, principal, request_id)
    return JSONResponse(stored.to_dict(include_trace=trace, role=principal.role))


@router.post(
    "/requests/{request_id}/information",
    summary="Add facts to a pended request; it is decided again",
    openapi_extra=body("AdditionalInformation"),
    responses={**BODY_ERRORS, **NOT_FOUND, **CONFLICT},
)
def add_information(request_id: str, principal: PrincipalDep, session: SessionDep, raw: JsonBody) -> JSONResponse:
    req = envelope(raw, ("facts", "expected_version"), ("facts",))
    version = req.get("expected_version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise RequestError("expected_version", "expected a whole number")
    stored = service.add_information(session, principal, request_id, _facts(req, True), expected_version=version)
    log.info("request %s information added: %s (version %d)", stored.id, stored.status, stored.version)
    return JSONResponse(stored.to_dict(role=principal.role))


@router.post(
    "/requests/{request_id}/review",
    summary="A clinical reviewer's final decision",
    openapi_extra=body("ReviewDecision"),
    responses={**BODY_ERRORS, **NOT_FOUND, **CONFLICT},
)
def review(request_id: str, principal: PrincipalDep, session: SessionDep, raw: JsonBody) -> JSONResponse:
    req = envelope(raw, ("action", "note", "expected_version", "modification"), ("action", "note", "expected_version"))
    action = req["action"]
    if not isinstance(action, str):
        raise RequestError("action", f"not one of {', '.join(service.REVIEW_ACTIONS)}")
    stored = service.review_request(
        session, principal, request_id, action, req["note"], req["expected_version"], req.get("modification")
    )
    log.info("request %s reviewed: %s (version %d)", stored.id, stored.status, stored.version)
    return JSONResponse(stored.to_dict(role=principal.role))


@router.post(
    "/requests/{request_id}/request-date",
    summary="A reviewer back-dates an open request (further than submitters may); it is decided again",
    openapi_extra=body("RequestDateChange"),
    responses={**BODY_ERRORS, **NOT_FOUND, **CONFLICT},
)
def backdate(request_id: str, principal: PrincipalDep, session: SessionDep, raw: JsonBody) -> JSONResponse:
    req = envelope(raw, ("request_date", "note", "expected_version"), ("request_date", "note", "expected_version"))
    stored = service.backdate_request(
        session, principal, request_id, req["request_date"], req["note"], req["expected_version"]
    )
    log.info("request %s back-dated: %s (version %d)", stored.id, stored.status, stored.version)
    return JSONResponse(stored.to_dict(role=principal.role))


@router.get("/requests/{request_id}/audit", summary="The audit trail of one request", responses={**ERRORS, **NOT_FOUND})
def request_audit(request_id: str, principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    return JSONResponse({"events": service.audit_events(session, principal, request_id)})


@router.get("/audit/verify", summary="Check the whole audit hash chain (admins)", responses=ERRORS)
def audit_verify(principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    principal.require("admin")
    result = service.verify_chain(session)
    return JSONResponse({"ok": result.ok, "events": result.events, "problems": result.problems})


@router.get("/policies", summary="The bundled policies", responses=ERRORS)
async def policies(principal: PrincipalDep) -> JSONResponse:
    return JSONResponse({"policies": service.list_policies(principal)})


@router.get("/policies/{policy_id}", summary="One policy", responses={**ERRORS, 404: NOT_FOUND[404]})
async def policy(policy_id: str, principal: PrincipalDep) -> JSONResponse:
    return JSONResponse(service.get_policy(principal, policy_id))


@router.get("/policies/{policy_id}/questions", summary="The policy's questions (fact vocabulary)", responses=ERRORS)
async def questions(policy_id: str, principal: PrincipalDep) -> JSONResponse:
    return JSONResponse({"questions": service.policy_questions(principal, policy_id)})


@router.get("/metrics", summary="Published prior-authorization metrics", responses=ERRORS)
def metrics(principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    return JSONResponse(service.metrics(session, principal))


@router.post(
    "/tokens",
    status_code=201,
    summary="Issue a bearer token (admins)",
    openapi_extra=body("TokenRequest"),
    responses=BODY_ERRORS,
)
def create_token(principal: PrincipalDep, session: SessionDep, raw: JsonBody) -> JSONResponse:
    req = envelope(raw, ("role", "org", "label", "expires_in"), ("role", "org"))
    label = req.get("label", "")
    expires = req.get("expires_in")
    if expires is not None and not isinstance(expires, str):
        raise RequestError("expires_in", "expected text such as 90d, 12h or 30m")
    issued = service.create_token(session, req["role"], req["org"], label, principal=principal,
                                  expires_in=service.parse_expires_in(expires) if expires is not None else None)
    return JSONResponse(issued.to_dict(), status_code=201)


@router.get("/tokens", summary="Tokens, without secrets (admins)", responses=ERRORS)
def tokens(principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    return JSONResponse({"tokens": service.list_tokens(session, principal)})


@router.delete(
    "/tokens/{token_id}", status_code=204, summary="Revoke a token (admins)", responses={**ERRORS, **NOT_FOUND}
)
def revoke(token_id: str, request: Request, principal: PrincipalDep, session: SessionDep) -> Response:
    service.revoke_token(session, principal, token_id)
    request.app.state.token_cache.clear()
    return PlainResponse(status_code=204)
