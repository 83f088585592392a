"""The pages under /web: sign-in, queue, case, new request, determination letter.

Every page reads and writes through `priorauth.service` with the principal of the
signed-in token, so the role rules of the API hold here too. Errors become pages,
never tracebacks; no fact or patient detail is logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from priorauth import service
from priorauth.core import ErrorCode, Policy, PolicyVersion, PriorAuthError, RequestError, load_policy, policy_ids
from priorauth.http.deps import SessionDep
from priorauth.service import Principal
from priorauth.web import case as case_view
from priorauth.web import documents as documents_view
from priorauth.web.forms import read_form
from priorauth.web.letters import DeterminationLetter, build_letter, letter_recipient
from priorauth.web.pdf import letter_pdf
from priorauth.web.queue import (
    OPEN,
    OPEN_LABEL,
    QueueQuery,
    queue_result,
    queue_rows,
    supported_sorts,
    urgency_filter_supported,
)
from priorauth.web.rendering import render
from priorauth.web.views import status_text

PREFIX = "/web"
COOKIE = "priorauth_session"  # the server-side session's random id (service.open_session), never the token
SIGNIN_COOKIE = "priorauth_signin"  # a random pre-session value the sign-in form's CSRF field is bound to
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
STATIC_FILES = ("priorauth.css", "htmx.min.js", "print.js")

router = APIRouter(include_in_schema=False)


# --- plumbing ---------------------------------------------------------------------------


def csrf_token(session_id: str) -> str:
    """A per-session form token: unguessable without the session's own secret id."""
    return hashlib.sha256(("priorauth-web-csrf:" + session_id).encode()).hexdigest()[:32]


def signin_csrf_token(presession: str) -> str:
    """The sign-in form's token, bound to the browser's pre-session cookie (against login CSRF)."""
    return hashlib.sha256(("priorauth-signin-csrf:" + presession).encode()).hexdigest()[:32]


def url(name: str, **params: Any) -> str:
    return router.url_path_for(name, **params)


def static(name: str) -> str:
    return f"{PREFIX}/static/{name}"


class SignInRequired(PriorAuthError):
    """No valid session: every page answers with the sign-in redirect (see exception_handlers)."""

    code = ErrorCode.SIGN_IN_REQUIRED


def _signed_in(request: Request, session: Session) -> tuple[Principal, str]:
    session_id = request.cookies.get(COOKIE)
    try:
        who = service.resume_session(session, session_id, idle=request.app.state.settings.web_session_idle)
    except service.Unauthenticated:
        raise SignInRequired from None
    return who, csrf_token(session_id or "")


def _to_signin(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = url("signin") + "?next=" + quote(target, safe="")
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    return _to_signin(request)


# Installed by the app factory beside the router: a page that needs a session raises
# SignInRequired (from _signed_in) and the visitor is sent to sign in.
exception_handlers: dict[type[Exception], Any] = {SignInRequired: _sign_in_first}


def _check_csrf(request: Request, form: Any, expected: str) -> bool:
    given = request.headers.get("x-csrf-token") or str(form.get("csrf") or "")
    return hmac.compare_digest(given, expected)


def _page(
    template: str, principal: Principal | None, csrf: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    context.setdefault("page", "")
    body = render(template, {"principal": principal, "csrf": csrf, "url": url, "static": static, **context})
    return HTMLResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})


def _error_page(principal: Principal | None, csrf: str, status_code: int, title: str, message: str) -> HTMLResponse:
    return _page("error.html", principal, csrf, status_code=status_code, title=title, message=message)


def _safe_next(target: str | None) -> str:
    """Only a path inside the pages: never an address elsewhere."""
    if not target:
        return url("queue")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX + "/") or "\\" in target:
        return url("queue")
    return target


def _service_problem(principal: Principal, csrf: str, exc: Exception) -> HTMLResponse:
    if isinstance(exc, service.NotFound):
        return _error_page(principal, csrf, 404, "Not found", "There is no such request, or it is not yours to see.")
    if isinstance(exc, service.Forbidden):
        return _error_page(principal, csrf, 403, "Not allowed", f"Your role ({principal.role}) may not do this.")
    if isinstance(exc, service.ServiceError):
        return _error_page(principal, csrf, exc.status, "Cannot do that", str(exc))
    return _error_page(principal, csrf, 422, "Cannot do that", str(exc))


# --- sign-in --------------------------------------------------------------------------


@router.get("/", name="root")
def root() -> RedirectResponse:
    return RedirectResponse(url("queue"), status_code=303)


@router.get(PREFIX, name="home")
@router.get(PREFIX + "/", name="home_slash")
def home() -> RedirectResponse:
    return RedirectResponse(url("queue"), status_code=303)


@router.get(PREFIX + "/static/{name}", name="static")
def static_file(name: str) -> Response:
    if name not in STATIC_FILES:
        return Response(status_code=404)
    data = (resources.files("priorauth.web") / "static" / name).read_bytes()
    suffix = name[name.rfind(".") :]
    return Response(data, media_type=STATIC_TYPES[suffix], headers={"Cache-Control": "public, max-age=3600"})


def _demo(request: Request) -> bool:
    """`priorauth serve --demo`: the sign-in page says where the demo tokens are."""
    return bool(getattr(request.app.state.settings, "demo", False))


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _signin_page(request: Request, target: str, problem: str | None, status_code: int = 200) -> HTMLResponse:
    """The sign-in form, with a CSRF field bound to the browser's pre-session cookie (set here if missing)."""
    presession = request.cookies.get(SIGNIN_COOKIE) or ""
    if len(presession) != 43:
        presession = secrets.token_urlsafe(32)
    response = _page("signin.html", None, "", status_code=status_code, next=target, problem=problem,
                     demo=_demo(request), signin_csrf=signin_csrf_token(presession))
    response.set_cookie(SIGNIN_COOKIE, presession, httponly=True, samesite="strict", secure=_secure(request),
                        path=PREFIX + "/signin", max_age=3600)
    return response


@router.get(PREFIX + "/signin", name="signin")
def signin_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _signin_page(request, _safe_next(next), None)


# POST pages read the form on the event loop, then do everything that touches the database in
# the thread pool: a blocking call on the loop could wait for a connection held by a request
# that needs the loop to finish (SQLite runs one pooled connection).


@router.post(PREFIX + "/signin", name="signin_post")
async def signin(request: Request, session: SessionDep) -> Response:
    form = await request.form()
    return await run_in_threadpool(_signin, request, session, form)


def _signin(request: Request, session: Session, form: Any) -> Response:
    token = str(form.get("token") or "").strip()
    target = _safe_next(str(form.get("next") or ""))
    presession = request.cookies.get(SIGNIN_COOKIE) or ""
    given = str(form.get("csrf") or "")
    if not presession or not hmac.compare_digest(given, signin_csrf_token(presession)):
        return _signin_page(request, target, "The sign-in form expired. Enter your token again.", status_code=403)
    settings = request.app.state.settings
    try:
        opened = service.open_session(
            session, token, idle=settings.web_session_idle, lifetime=settings.web_session_lifetime
        )
    except service.Unauthenticated:
        return _signin_page(request, target, "That token is not valid (unknown, revoked or expired). "
                            "Check it and try again.", status_code=401)
    response = RedirectResponse(target, status_code=303)
    max_age = max(1, int((opened.expires_at - dt.datetime.now(dt.UTC)).total_seconds()))
    response.set_cookie(COOKIE, opened.id, httponly=True, samesite="lax", secure=_secure(request), path="/",
                        max_age=max_age)
    response.delete_cookie(SIGNIN_COOKIE, path=PREFIX + "/signin")
    return response


@router.post(PREFIX + "/signout", name="signout")
async def signout(request: Request, session: SessionDep) -> Response:
    form = await request.form()
    return await run_in_threadpool(_signout, request, session, form)


def _signout(request: Request, session: Session, form: Any) -> Response:
    session_id = request.cookies.get(COOKIE)
    if session_id and not _check_csrf(request, form, csrf_token(session_id)):
        return Response("The page expired; reload it.", status_code=403)
    service.end_session(session, session_id)
    response = RedirectResponse(url("signin"), status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# --- queue ----------------------------------------------------------------------------


@router.get(PREFIX + "/requests", name="queue")
def queue(request: Request, session: SessionDep) -> Response:
    principal, csrf = _signed_in(request, session)
    policies = policy_ids()
    q = QueueQuery.parse(request.query_params, policies)
    now = dt.datetime.now(dt.UTC)
    try:
        page = service.list_requests(session, principal, q.filters(now, principal.role), q.page_spec())
    except (service.ServiceError, RequestError) as exc:
        return _service_problem(principal, csrf, exc)
    rows = queue_rows(page.items, now)
    sorts = supported_sorts()
    return _page(
        "queue.html", principal, csrf, page="queue", q=q, rows=rows,
        result=queue_result(q, page.total, len(rows), url("queue")),
        statuses=[(OPEN, OPEN_LABEL)] + [(s, status_text(s)) for s in service.STATUSES], policies=policies, sorts=sorts,
        sort_label=dict(sorts).get(q.sort, q.sort), urgency_filter=urgency_filter_supported(),
    )


# --- new request ----------------------------------------------------------------------


def _policy_or_default(policy_id: str | None) -> Policy:
    ids = policy_ids()
    return load_policy(policy_id if policy_id in ids else ids[0])


def _question_texts(version: PolicyVersion) -> dict[str, str]:
    return {q.id: q.text for q in version.questions}


# The people of a new request: form field -> (part, key) of the submission.
PEOPLE_FORM = {
    "patient_name": ("patient", "name"), "member_id": ("patient", "member_id"),
    "prescriber_name": ("prescriber", "name"), "prescriber_npi": ("prescriber", "npi"),
    "contact_name": ("contact", "name"), "contact_phone": ("contact", "phone"), "contact_email": ("contact", "email"),
}
PEOPLE_FIELDS = tuple(PEOPLE_FORM)


def _request_form_context(policy: Policy, form: Any, principal: Principal) -> dict[str, Any]:
    """The new-request form: the questions of the version in force today (the request is decided on
    the day received, which the form does not ask), the people, and the service's preview decision."""
    state = read_form(policy, form, principal=principal, received=dt.datetime.now(dt.UTC).date())
    urgency = str(form.get("urgency") or "standard")
    return {
        "form": state,
        "question_texts": _question_texts(state.version),
        "urgency": urgency if urgency in service.URGENCIES else "standard",
        **{name: str(form.get(name) or "").strip() for name in PEOPLE_FIELDS},
        "page": "new",
        # every loaded policy, so a submitter can switch the form to another drug's policy
        "policies": [(pid, load_policy(pid).current().title) for pid in policy_ids()],
    }


@router.get(PREFIX + "/requests/new", name="new_request")
def new_request(request: Request, session: SessionDep, policy: str | None = None) -> Response:
    principal, csrf = _signed_in(request, session)
    if principal.role != "submitter":
        return _error_page(principal, csrf, 403, "Not allowed", "Only provider staff (submitters) create requests.")
    chosen = _policy_or_default(policy)
    defaults = {"request_type": "initial"}
    return _page("new_request.html", principal, csrf, **_request_form_context(chosen, defaults, principal))


@router.post(PREFIX + "/requests/preview", name="preview_request")
async def preview_request(request: Request, session: SessionDep) -> Response:
    """The form body (questions + decision preview) for the answers so far (HTMX)."""
    form = await request.form()
    return await run_in_threadpool(_preview_request, request, session, form)


def _preview_request(request: Request, session: Session, form: Any) -> Response:
    principal, csrf = _signed_in(request, session)
    if not _check_csrf(request, form, csrf):
        return Response("The page expired; reload it.", status_code=403)
    policy = _policy_or_default(str(form.get("policy") or ""))
    return _page("_request_form.html", principal, csrf, **_request_form_context(policy, form, principal))


@router.post(PREFIX + "/requests", name="create_request")
async def create_request(request: Request, session: SessionDep) -> Response:
    form = await request.form()
    return await run_in_threadpool(_create_request, request, session, form)


def _create_request(request: Request, session: Session, form: Any) -> Response:
    principal, csrf = _signed_in(request, session)
    if not _check_csrf(request, form, csrf):
        return _error_page(principal, csrf, 403, "Page expired",
                           "The form expired. Go back, reload it and submit again.")
    policy = _policy_or_default(str(form.get("policy") or ""))
    context = _request_form_context(policy, form, principal)
    state = context["form"]
    if form.get("action") != "submit" or state.errors:
        return _page("new_request.html", principal, csrf, status_code=200 if not state.errors else 422, **context)
    people: dict[str, dict[str, str]] = {"patient": {}, "prescriber": {}, "contact": {}}
    for name, (part, key) in PEOPLE_FORM.items():
        if context[name]:
            people[part][key] = context[name]
    try:
        # The form requires the patient, the prescriber and a contact (the REST door leaves them optional).
        stored = service.submit_request(
            session, principal, policy.id, state.raw, context["urgency"], patient=people["patient"] or None,
            prescriber=people["prescriber"] or None, contact=people["contact"] or None, require=tuple(people),
        )
    except RequestError as exc:
        state.errors["__all__"] = str(exc)
        return _page("new_request.html", principal, csrf, status_code=422, **context)
    except service.ServiceError as exc:
        return _service_problem(principal, csrf, exc)
    return RedirectResponse(url("case", request_id=stored.id) + "?created=1", status_code=303)


# --- case -----------------------------------------------------------------------------


def _case_page(
    session: Session, principal: Principal, csrf: str, request_id: str, notices: list[dict[str, str]],
    status_code: int = 200, note: str | None = None, info_form: Any = None,
) -> Response:
    try:
        stored = service.get_request(session, principal, request_id)
        events = service.audit_events(session, principal, request_id) if principal.role != "submitter" else None
        people = None if events is None else service.people(
            session, principal, [e["actor"] for e in events] + [stored.decided_by or ""])
        c = case_view.build_case(stored, principal, events, info_form=info_form, people=people)
        questions = _question_texts(case_view.decided_under(stored))
    except (service.ServiceError, RequestError) as exc:
        return _service_problem(principal, csrf, exc)
    return _page("case.html", principal, csrf, status_code=status_code, c=c, notices=notices, note=note,
                 question_texts=questions)


@router.get(PREFIX + "/requests/{request_id}", name="case")
def case(request: Request, session: SessionDep, request_id: str) -> Response:
    principal, csrf = _signed_in(request, session)
    notices = []
    flash = request.query_params.get("done")
    if request.query_params.get("created"):
        notices.append({"kind": "ok", "text": "The request was submitted."})
    if flash in case_view.DONE_TEXT:
        notices.append({"kind": "ok", "text": case_view.DONE_TEXT[flash]})
    return _case_page(session, principal, csrf, request_id, notices)


@router.post(PREFIX + "/requests/{request_id}/information", name="add_information")
async def add_information(request: Request, session: SessionDep, request_id: str) -> Response:
    form = await request.form()
    return await run_in_threadpool(_add_information, request, session, request_id, form)


def _add_information(request: Request, session: Session, request_id: str, form: Any) -> Response:
    principal, csrf = _signed_in(request, session)
    if not _check_csrf(request, form, csrf):
        return _error_page(principal, csrf, 403, "Page expired", "The form expired. Reload the request and try again.")
    try:
        stored = service.get_request(session, principal, request_id)
        version = case_view.decided_under(stored)  # whose missing facts are asked
    except (service.ServiceError, RequestError) as exc:
        return _service_problem(principal, csrf, exc)
    state = read_form(version, form, only=set(stored.determination.get("missing_facts", [])))
    if state.errors or not state.raw:
        problem = "Answer at least one question." if not state.errors else "Correct the answers marked below."
        return _case_page(session, principal, csrf, request_id, [{"kind": "problem", "text": problem}],
                          status_code=422, info_form=form)
    try:
        service.add_information(session, principal, request_id, state.raw,
                                expected_version=_version(form.get("expected_version")))
    except (service.VersionConflict, service.StateConflict):
        return _case_page(session, principal, csrf, request_id, [{"kind": "conflict", "text": (
            "The request changed while you were answering (someone else added information or it was decided). "
            "Here it is as it stands now.")}], status_code=409)
    except RequestError as exc:
        return _case_page(session, principal, csrf, request_id, [{"kind": "problem", "text": str(exc)}],
                          status_code=422, info_form=form)
    except service.ServiceError as exc:
        return _service_problem(principal, csrf, exc)
    return RedirectResponse(url("case", request_id=request_id) + "?done=information", status_code=303)


def _version(raw: Any) -> int | None:
    try:
        return int(str(raw))
    except (TypeError, ValueError):
        return None


@router.post(PREFIX + "/requests/{request_id}/request-date", name="backdate")
async def backdate(request: Request, session: SessionDep, request_id: str) -> Response:
    form = await request.form()
    return await run_in_threadpool(_backdate, request, session, request_id, form)


def _backdate(request: Request, session: Session, request_id: str, form: Any) -> Response:
    """A reviewer's back-dating of an open request: the new date and why (stored, audited as a hash only)."""
    principal, csrf = _signed_in(request, session)
    if not _check_csrf(request, form, csrf):
        return _error_page(principal, csrf, 403, "Page expired", "The form expired. Reload the request and try again.")
    version = _version(form.get("expected_version"))
    try:
        service.backdate_request(session, principal, request_id, str(form.get("request_date") or ""),
                                 str(form.get("backdate_note") or ""), version if version is not None else -1)
    except service.VersionConflict:
        return _case_page(session, principal, csrf, request_id, [{"kind": "conflict", "text": (
            "The request changed after you opened it, so its date was not changed. Here it is as it stands now.")}],
            status_code=409)
    except service.StateConflict as exc:
        return _case_page(session, principal, csrf, request_id, [{"kind": "conflict", "text": str(exc)}],
                          status_code=409)
    except RequestError as exc:
        return _case_page(session, principal, csrf, request_id, [{"kind": "problem", "text": str(exc)}],
                          status_code=422)
    except service.ServiceError as exc:
        return _service_problem(principal, csrf, exc)
    return RedirectResponse(url("case", request_id=request_id) + "?done=request_date", status_code=303)


@router.post(PREFIX + "/requests/{request_id}/review", name="review")
async def review(request: Request, session: SessionDep, request_id: str) -> Response:
    form = await request.form()
    return await run_in_threadpool(_review, request, session, request_id, form)


def _review(request: Request, session: Session, request_id: str, form: Any) -> Response:
    principal, csrf = _signed_in(request, session)
    if not _check_csrf(request, form, csrf):
        return _error_page(principal, csrf, 403, "Page expired",
                           "The form expired. Reload the request and decide again.")
    action = str(form.get("action") or "")
    note = str(form.get("note") or "").strip()
    version = _version(form.get("expected_version"))
    modification = case_view.modification_from_form(form) if action == "approve_with_modification" else None
    problem = case_view.review_problem(action, note, modification)
    if problem:
        return _case_page(session, principal, csrf, request_id, [{"kind": "problem", "text": problem}],
                          status_code=422, note=note)
    try:
        service.review_request(session, principal, request_id, action, note, version if version is not None else -1,
                               modification=modification)
    except service.VersionConflict:
        return _case_page(session, principal, csrf, request_id, [{"kind": "conflict", "text": (
            "Another reviewer acted on this request after you opened it, so your decision was not saved. "
            "Read the request as it stands now before deciding.")}], status_code=409, note=note)
    except service.StateConflict:
        return _case_page(session, principal, csrf, request_id, [{"kind": "conflict", "text": (
            "This request was already decided (by another reviewer or by the engine); your decision was not "
            "saved. Its decision is shown below.")}], status_code=409)
    except RequestError as exc:
        return _case_page(session, principal, csrf, request_id, [{"kind": "problem", "text": str(exc)}],
                          status_code=422, note=note)
    except service.ServiceError as exc:
        return _service_problem(principal, csrf, exc)
    return RedirectResponse(url("case", request_id=request_id) + "?done=review", status_code=303)


# --- letter ---------------------------------------------------------------------------


def _letter(session: Session, principal: Principal, request_id: str) -> DeterminationLetter:
    stored = service.get_request(session, principal, request_id)
    if stored.withheld_from(principal.role):
        # No letter reaches the provider before a clinician decides (the engine's denial is a recommendation).
        raise service.StateConflict("no letter yet: the request awaits a clinician's review")
    outcome = case_view.final_outcome(stored)
    letter_day = (stored.decided_at or stored.updated_at).date()
    return build_letter(
        policy=case_view.decided_under(stored), request_id=stored.id, determination=stored.determination,
        outcome=outcome,
        reviewer_note=stored.review_note, modification=case_view.modification_text(stored),
        organization=letter_recipient(stored.submitter_org, stored.contact), letter_date=letter_day,
        authorization=stored.authorization, reviewed=stored.review_action is not None, patient=stored.patient,
        prescriber=stored.prescriber,
        request_date=stored.facts.get(case_view.decided_under(stored).decided_on),
    )


@router.get(PREFIX + "/requests/{request_id}/letter", name="letter")
def letter(request: Request, session: SessionDep, request_id: str) -> Response:
    principal, csrf = _signed_in(request, session)
    try:
        doc = _letter(session, principal, request_id)
    except (service.ServiceError, RequestError) as exc:
        return _service_problem(principal, csrf, exc)
    body = render("letter.html", {"letter": doc, "back_url": url("case", request_id=request_id),
                                  "pdf_url": url("letter_pdf", request_id=request_id)})
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})


@router.get(PREFIX + "/requests/{request_id}/letter.pdf", name="letter_pdf")
def letter_pdf_page(request: Request, session: SessionDep, request_id: str) -> Response:
    principal, csrf = _signed_in(request, session)
    try:
        doc = _letter(session, principal, request_id)
    except (service.ServiceError, RequestError) as exc:
        return _service_problem(principal, csrf, exc)
    return Response(
        letter_pdf(doc), media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="determination-{doc.request_id}.pdf"',
                 "Cache-Control": "no-store"},
    )


# --- policy documents (priorauth.web.documents) ----------------------------------------


@router.get(PREFIX + "/policies/documents", name="policy_documents")
def policy_documents(request: Request, session: SessionDep, policy: str | None = None) -> Response:
    principal, csrf = _signed_in(request, session)
    if principal.role not in documents_view.ROLES:
        return _error_page(principal, csrf, 403, "Not allowed", "Only reviewers and administrators compare documents.")
    return _page("policy_documents.html", principal, csrf, page="documents", view=documents_view.empty_page(policy),
                 kind_text=documents_view.kind_text)


@router.post(PREFIX + "/policies/documents", name="policy_documents_diff")
async def policy_documents_diff(request: Request, session: SessionDep) -> Response:
    form = await request.form()
    upload = form.get("document")
    data = await upload.read(documents_view.MAX_DOCUMENT_BYTES + 1) if isinstance(upload, UploadFile) else b""
    name = str(upload.filename or "") if isinstance(upload, UploadFile) else ""
    return await run_in_threadpool(_policy_documents_diff, request, session, form, name, data)


def _policy_documents_diff(request: Request, session: Session, form: Any, name: str, data: bytes) -> Response:
    principal, csrf = _signed_in(request, session)
    if principal.role not in documents_view.ROLES:
        return _error_page(principal, csrf, 403, "Not allowed", "Only reviewers and administrators compare documents.")
    if not _check_csrf(request, form, csrf):
        return _error_page(principal, csrf, 403, "Page expired", "The form expired. Reload the page and upload again.")
    view = documents_view.compare_upload(str(form.get("policy") or ""), str(form.get("version") or "").strip(),
                                         name, data)
    return _page("policy_documents.html", principal, csrf, status_code=422 if view.problems else 200,
                 page="documents", view=view, kind_text=documents_view.kind_text)
