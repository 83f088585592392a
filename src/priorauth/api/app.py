"""The FastAPI application: /v1 (REST), plus the FHIR and web routers when those packages exist."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.concurrency import run_in_threadpool

import priorauth
from priorauth.api import problems
from priorauth.api.deps import TokenCache
from priorauth.api.limits import BodySizeLimit
from priorauth.api.responses import JSONResponse
from priorauth.api.routes import router as v1
from priorauth.api.schemas import components
from priorauth.service.settings import Settings
from priorauth.store.db import Database

# Routers other doors provide; included when their module is installed.
OPTIONAL_ROUTERS = ("priorauth.fhir.routes", "priorauth.web.routes")


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

    @app.get("/healthz", summary="The process is up", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="The database answers and is migrated", tags=["health"])
    async def readyz() -> Any:
        if await run_in_threadpool(db.ready):
            return {"status": "ready"}
        return problems.problem(503, "not_ready", "the database is not reachable or not migrated")

    app.include_router(v1, tags=["v1"])
    for name in OPTIONAL_ROUTERS:
        door = name.split(".")[1]
        if door in settings.disabled_doors:
            continue
        if importlib.util.find_spec(name) is not None:
            module = importlib.import_module(name)
            app.include_router(module.router)
            for error, handler in getattr(module, "exception_handlers", {}).items():
                app.add_exception_handler(error, handler)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(components())
            schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
