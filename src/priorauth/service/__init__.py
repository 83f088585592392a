"""The service layer: the one core every door (REST, FHIR, web pages, CLI) calls.

Doors hold no workflow logic: they authenticate, convert their input to contract
facts, call these functions and render the result. Stable API (docs/service.md)::

    from priorauth.store.db import Database
    from priorauth import service

    db = Database.open()                                 # DATABASE_URL or var/priorauth.db, migrated
    with db.session() as session:
        admin = service.SYSTEM                           # the command-line operator
        issued = service.create_token(session, "submitter", "clinic-a")   # issued.secret shown once
        who = service.authenticate(session, issued.secret)                # -> Principal
        req = service.submit_request(session, who, policy_id, facts, "standard",
                                     idempotency_key=None, patient={"name": ...}, dosing=None)
        service.get_request(session, who, req.id)
        service.request_by_idempotency_key(session, who, "key")          # org: the caller's by default
        service.list_requests(session, who, service.RequestFilters(status=service.OPEN_STATUSES,
                              urgency="expedited"), service.Page(50, 0, sort="-created"))
        service.add_information(session, who, req.id, {"substantial_comorbidities": False})
        req.decided_under, req.policy_digest, req.newer_version   # the exact version that decided it
        service.review_request(session, reviewer, req.id, "deny", "note", expected_version=req.version)
        service.audit_events(session, reviewer, req.id)
        service.metrics(session, who)
        web = service.open_session(session, issued.secret, idle=..., lifetime=...)  # web sign-in; web.id to the cookie
        service.resume_session(session, web.id, idle=...)                    # -> Principal
        service.end_session(session, web.id)                                 # sign-out
    service.evaluate_request(who, policy_id, facts, dosing=None)   # -> Determination, nothing stored

Rules: every function checks the principal's role (Forbidden) and organisation
(submitters see only their organisation's requests; others' are NotFound). Functions
that write commit before returning. Bad input raises priorauth.core._errors.RequestError
naming the field (never its value); other failures are ServiceError subclasses with
a stable `code` and the HTTP `status` the REST door uses.
"""

from priorauth.service.audit import ChainVerification, verify_chain
from priorauth.service.auth import (
    IssuedToken,
    authenticate,
    create_token,
    list_tokens,
    parse_expires_in,
    revoke_token,
    token_digest,
)
from priorauth.service.errors import (
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    ServiceError,
    StateConflict,
    Unauthenticated,
    VersionConflict,
)
from priorauth.service.metrics import metrics
from priorauth.service.policies import get_policy, list_policies, policy_questions
from priorauth.service.principal import ENGINE, ROLES, SYSTEM, Principal
from priorauth.service.queries import audit_events, get_request, list_requests, people, request_by_idempotency_key
from priorauth.service.records import (
    MAX_PAGE,
    OPEN_STATUSES,
    REVIEW_ACTIONS,
    SORTS,
    STATUSES,
    URGENCIES,
    AuthorizationModification,
    ContactDetails,
    Page,
    PatientDetails,
    PrescriberDetails,
    RequestFilters,
    RequestPage,
    ReviewAction,
    StoredRequest,
)
from priorauth.service.sessions import OpenedSession, end_session, open_session, resume_session
from priorauth.service.settings import Settings
from priorauth.service.workflow import (
    add_information,
    backdate_request,
    evaluate_request,
    policy_authorization,
    review_request,
    submit_request,
)

__all__ = [
    "ENGINE",
    "MAX_PAGE",
    "OPEN_STATUSES",
    "REVIEW_ACTIONS",
    "ROLES",
    "SORTS",
    "STATUSES",
    "SYSTEM",
    "URGENCIES",
    "AuthorizationModification",
    "ChainVerification",
    "ContactDetails",
    "Forbidden",
    "IdempotencyKeyReused",
    "IssuedToken",
    "NotFound",
    "OpenedSession",
    "Page",
    "PatientDetails",
    "PrescriberDetails",
    "Principal",
    "RequestFilters",
    "RequestPage",
    "ReviewAction",
    "ServiceError",
    "Settings",
    "StateConflict",
    "StoredRequest",
    "Unauthenticated",
    "VersionConflict",
    "add_information",
    "audit_events",
    "authenticate",
    "backdate_request",
    "create_token",
    "end_session",
    "evaluate_request",
    "get_policy",
    "get_request",
    "list_policies",
    "list_requests",
    "list_tokens",
    "parse_expires_in",
    "metrics",
    "open_session",
    "people",
    "policy_authorization",
    "policy_questions",
    "request_by_idempotency_key",
    "resume_session",
    "review_request",
    "revoke_token",
    "submit_request",
    "token_digest",
    "verify_chain",
]
