"""Headers every API answer carries (soda.md §2.3, §7) and CORS preflights, as plain ASGI.

Plain ASGI rather than BaseHTTPMiddleware: it adds two headers to the response start message and
never touches the body, so streamed exports stay streamed.
"""

from __future__ import annotations

import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
PREFLIGHT_MAX_AGE = "86400"


class SodaHeadersMiddleware:
    """Adds ``Access-Control-Allow-Origin: *`` and ``X-Socrata-RequestId`` to every answer and
    answers CORS preflight requests itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        request_headers = Headers(scope=scope)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in request_headers:
            await _preflight(request_headers, request_id)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Access-Control-Allow-Origin", "*")
                headers.setdefault("X-Socrata-RequestId", request_id)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadAsGetMiddleware:
    """Answers HEAD like GET, without the body: link checkers and download tools ask for a
    resource's headers (type, ETag, Last-Modified) before they fetch it.

    The body the app goes on producing is dropped, and from the moment the headers are sent
    the app reads "client gone", so a streamed export can stop early.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        started = False

        async def receive_until_started() -> Message:
            if started:
                return {"type": "http.disconnect"}
            return await receive()

        async def send_headers_only(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                await send(message)
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(dict(scope, method="GET"), receive_until_started, send_headers_only)


def _preflight(request_headers: Headers, request_id: str) -> Response:
    return Response(
        status_code=200,
        headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Allow-Headers": request_headers.get(
                "access-control-request-headers", "*"
            ),
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
            "X-Socrata-RequestId": request_id,
        },
    )
