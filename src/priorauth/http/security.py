"""Security headers on every response, API docs off unless asked for, access lines without query strings.

`harden(app, settings)` is called once by the app factory. The Content-Security-Policy lets a page
run only scripts served by this origin (the vendored HTMX and our own files): no inline script, no
eval, no CDN. Inline *styles* stay allowed (HTMX adds its indicator style; the letter carries its
print style); a style cannot run code. No page may be framed (clickjacking of Approve/Deny).
"""

from __future__ import annotations

import logging
import os
from typing import Any

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_NAMES = {name for name, _ in HEADERS}
# FastAPI's interactive docs load scripts from a CDN; they are served only when this is set to 1.
DOCS_ENV = "PRIORAUTH_API_DOCS"
DOC_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP response (a route's own value of one wins)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                extra = [(n, v) for n, v in HEADERS if n not in present]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def harden(app: Any) -> None:
    """Add the security headers; drop /docs and /redoc unless PRIORAUTH_API_DOCS=1 (/openapi.json stays)."""
    app.add_middleware(SecurityHeaders)
    if os.environ.get(DOCS_ENV, "") != "1":
        app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in DOC_PATHS]


class DropQueryStrings(logging.Filter):
    """For uvicorn's access log: the path without its query string (a filter value may be a patient's name)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True
