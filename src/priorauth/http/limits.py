"""Request body size limit (PRIORAUTH_MAX_BODY_BYTES, default 64 KiB), enforced before parsing."""

from __future__ import annotations

from typing import Any

import orjson

from priorauth.core import ErrorCode, PriorAuthError
from priorauth.http.problems import PROBLEM_TYPE


class BodyTooLarge(PriorAuthError):
    """A streamed body went over the limit: 413, from the middleware or the app's problem handler."""

    code = ErrorCode.BODY_TOO_LARGE
    status = 413
    field = "request"

    def __init__(self) -> None:
        super().__init__("request body: larger than the limit")


def _problem_body(limit: int) -> bytes:
    return orjson.dumps(
        {
            "type": PROBLEM_TYPE + ErrorCode.BODY_TOO_LARGE,
            "title": "Request body too large",
            "status": 413,
            "detail": f"request body: larger than the limit of {limit} bytes",
            "code": ErrorCode.BODY_TOO_LARGE,
            "field": "request",
        }
    )


class BodySizeLimit:
    """ASGI middleware: 413 for a declared or streamed body above `max_bytes`."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Any) -> None:
        body = _problem_body(self.max_bytes)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await self._refuse(send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)
