"""Errors met while serving a page are answered with a page: same status, a message a person
can act on, links onward — never a stack trace."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from civicport.web.pages import render_page

# Where the API and machine-readable files live; everything else is a page address.
_API_PREFIXES = ("/resource", "/api/", "/openapi.json", "/docs", "/redoc", "/static/")


def page_error(request: Request, status_code: int, message: str) -> Response | None:
    """The error page for a page request, or None for an API request (which keeps SODA's JSON
    error shape). An unknown address is a page request when a browser asks for HTML."""
    path = request.url.path
    if path.startswith(_API_PREFIXES) or path.endswith((".json", ".csv", ".geojson", ".xml")):
        return None
    route = request.scope.get("route")
    is_page = "Pages" in getattr(route, "tags", ()) if route else _wants_html(request)
    if not is_page:
        return None
    if status_code >= 500:
        message = ""  # the log has the details; the reader gets an apology, not internals
    return render_page(request, "error.html", status_code=status_code, status=status_code,
                       message=message)  # fmt: skip


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")
