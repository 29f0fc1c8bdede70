"""Domain error → HTTP status and SODA error body, in one table, for every API route.

Every error answer has the same shape (soda.md §6.1, the superset real clients read):
``{"code": C, "errorCode": C, "error": true, "message": M, "data": {...}}`` with
``X-Error-Code`` / ``X-Error-Message`` headers, a request id and ``Access-Control-Allow-Origin``
(added here too, because errors answered by Starlette's outermost error middleware never pass
through our header middleware).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from civicport.errors import (
    CivicportError,
    Conflict,
    Forbidden,
    InvalidQuery,
    InvalidUpload,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)

log = logging.getLogger(__name__)

ERROR_CONTENT_TYPE = "application/json; charset=utf-8"


class UnsupportedFormat(CivicportError):
    """A row format (file extension or Accept type) the API does not produce."""

    code = "format.unsupported"


class InvalidRequest(CivicportError):
    """A request that is malformed before any SoQL is read (bad parameter, too long)."""

    code = "invalid_request"


# The one table: which status each domain error answers with. First match wins (subclasses first).
STATUS_BY_ERROR: tuple[tuple[type[CivicportError], int], ...] = (
    (NotAuthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (InvalidQuery, 400),
    (InvalidRequest, 400),
    (InvalidUpload, 400),
    (UnsupportedFormat, 406),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (UnsupportedMediaType, 415),
)
# Sent with every 401: how to authenticate (an API key id and secret over HTTP Basic).
BASIC_REALM = 'Basic realm="civicport"'

# HTTP statuses Starlette raises on its own (unknown path, wrong method) → SODA codes.
CODE_BY_STATUS = {404: "not_found", 405: "method_not_allowed"}


def status_for(exc: CivicportError) -> int:
    """The HTTP status a domain error answers with (500 for one the table does not know)."""
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return status
    return 500


def error_response(
    status: int, code: str, message: str, data: dict[str, Any] | None = None
) -> Response:
    """A SODA-shaped error answer."""
    body = {"code": code, "errorCode": code, "error": True, "message": message, "data": data or {}}
    return Response(
        orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n",
        status_code=status,
        media_type=None,
        headers={
            "Content-Type": ERROR_CONTENT_TYPE,
            "Cache-Control": "private, no-cache, must-revalidate",
            "X-Error-Code": _header_safe(code),
            "X-Error-Message": _header_safe(message),
            "Access-Control-Allow-Origin": "*",
        },
    )


def _header_safe(text: str) -> str:
    # Header values travel as latin-1, on one line, without control characters (the HTTP
    # server refuses to send a NUL and drops the connection); messages may quote user input.
    flat = " ".join(text.split())[:500]
    printable = "".join(ch if ch.isprintable() else "?" for ch in flat)
    return printable.encode("latin-1", "replace").decode("latin-1")


def domain_error_response(exc: CivicportError) -> Response:
    response = error_response(status_for(exc), exc.code, exc.message, exc.data)
    if isinstance(exc, NotAuthenticated):
        response.headers["WWW-Authenticate"] = BASIC_REALM
    return response


# Answers an error as a web page when the request was for one (None: it was not).
PageErrorRenderer = Callable[[Request, int, str], Response | None]


async def _on_domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CivicportError)
    return domain_error_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"location": ".".join(str(p) for p in error.get("loc", ())), "problem": error.get("msg")}
        for error in exc.errors()
    ]
    message = "; ".join(f"{p['location']}: {p['problem']}" for p in problems) or "Invalid request"
    return error_response(400, InvalidRequest.code, message, {"errors": problems})


async def _on_http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = CODE_BY_STATUS.get(exc.status_code, "invalid_request")
    response = error_response(exc.status_code, code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _on_unworkable_input(_request: Request, exc: Exception) -> Response:
    # Deeply nested SoQL exhausts the parser's recursion; a number too big for a 64-bit bind,
    # or a value the database rejects mid-query (PostgreSQL DataError), is bad input too.
    if isinstance(exc, RecursionError):
        return error_response(
            400, "query.execution.queryTooComplex", "The query is nested too deeply to run"
        )
    return error_response(400, "query.execution.invalid-value", unworkable_message(exc))


def unworkable_message(exc: BaseException) -> str:
    """What to tell a person whose query the database refused to run (a value out of range)."""
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return f"Cannot run the query: {detail}"


async def _on_unexpected_error(_request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal", "Internal server error")


Handler = Callable[[Request, Exception], Any]


def install_error_handlers(app: FastAPI, page_errors: PageErrorRenderer | None = None) -> None:
    """Route every failure an API request can meet through the SODA error shape; requests for
    web pages get `page_errors`' page instead (same status, same message)."""
    handlers: list[tuple[type[BaseException], Handler]] = [
        (CivicportError, _on_domain_error),
        (RequestValidationError, _on_validation_error),
        (StarletteHTTPException, _on_http_error),
        *[(e, _on_unworkable_input) for e in (RecursionError, OverflowError, sa.exc.DataError)],
        (Exception, _on_unexpected_error),
    ]
    for error_type, handler in handlers:
        app.add_exception_handler(error_type, _as_page_when_asked(handler, page_errors))


def _as_page_when_asked(handler: Handler, page_errors: PageErrorRenderer | None) -> Handler:
    if page_errors is None:
        return handler

    async def handle(request: Request, exc: Exception) -> Response:
        response: Response = await handler(request, exc)
        message = response.headers.get("X-Error-Message", "")
        page = page_errors(request, response.status_code, message)
        return response if page is None else page

    return handle
