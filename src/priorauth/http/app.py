"""The FastAPI application, assembled in one place: /v1 (REST), FHIR (CDS Hooks, DTR, PAS), web pages.

This is the only module that knows every HTTP door; the doors know only priorauth.http's shared
dependencies, the service and the core.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from starlette.concurrency import run_in_threadpool

import priorauth
from priorauth.api import routes as api_routes
from priorauth.api import schemas as api_schemas
from priorauth.core import PriorAuthError, policy_ids
from priorauth.fhir import routes as fhir_routes
from priorauth.http import problems, security
from priorauth.http.deps import TokenCache
from priorauth.http.limits import BodySizeLimit
from priorauth.http.responses import JSONResponse
from priorauth.service import Settings
from priorauth.store import Database
from priorauth.web import routes as web_routes

# The doors that may be switched off (PRIORAUTH_DISABLED_DOORS); /v1 is always served.
DOORS = {"fhir": fhir_routes, "web": web_routes}


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """The service application. Opens (and migrates) the database unless one is given."""
    settings = settings or Settings.from_env()
    db = database or Database.open(settings.database_url, settings)
    app = FastAPI(
        title="priorauth",
        version=priorauth.__version__,
        summary="Prior authorization for medical drug policies: decisions, reviews, audit trail.",
        default_response_class=JSONResponse,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.token_cache = TokenCache()
    problems.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    security.harden(app)  # security headers on every response; /docs off by default (issue 14)
    if settings.cors_origins:  # PRIORAUTH_CORS_ORIGINS: browsers on these origins may call the API
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=["Idempotent-Replayed"],
        )

    @app.get("/healthz", summary="The process is up", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="The database answers and is migrated; the policies are loaded", tags=["health"])
    async def readyz() -> Any:
        if not await run_in_threadpool(db.ready):
            return problems.problem(503, "not_ready", "the database is not reachable or not migrated")
        try:
            policies = await run_in_threadpool(policy_ids)
        except PriorAuthError:
            return problems.problem(503, "not_ready", "the policies could not be loaded")
        if not policies:
            return problems.problem(503, "not_ready", "no policy is loaded")
        return {"status": "ready", "database": "ok", "policies": policies}

    app.include_router(api_routes.router, tags=["v1"])
    for name, door in DOORS.items():
        if name in settings.disabled_doors:
            continue
        app.include_router(door.router)
        for error, handler in getattr(door, "exception_handlers", {}).items():
            app.add_exception_handler(error, handler)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(api_schemas.components())
            schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
