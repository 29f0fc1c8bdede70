"""Cross-site request forgery protection for every form the pages post: a double-submit token.

A browser gets a random token in a cookie (HttpOnly, SameSite=Strict, so another site can neither
read it nor have it sent along); every form carries the same value in a hidden ``csrf_token``
field. Another site can make a browser post to us, but it cannot know the value to put in the
field, so a post whose field does not equal the cookie is refused. Nothing is kept on the server,
so any app process can check any form.

Routes read their forms with `read_form`, which also bounds the body size; templates put
``<input type="hidden" name="csrf_token" value="{{ csrf_token }}">`` in each POST form
(render_page gives every template `csrf_token`).
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import AsyncGenerator, AsyncIterator

from starlette.datastructures import FormData
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from civicport.errors import Forbidden, InvalidUpload, PayloadTooLarge

CSRF_FIELD = "csrf_token"
CSRF_COOKIE = "civicport_csrf"
EXPIRED_MESSAGE = (
    "This form has expired or did not come from this site. "
    "Open the page again and send the form from there."
)
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_STATE_KEY = "csrf_new_token"  # request.state: a token made for this request, not yet a cookie
_LARGEST_FIELD = 1024 * 1024  # one text field; files are not bound by this, only by max_bytes


def csrf_token(request: Request) -> str:
    """The token for this page's forms: the browser's cookie, or a new one that `set_cookie`
    then hands to the browser with the response."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if _TOKEN_SHAPE.fullmatch(cookie):
        return cookie
    made: str | None = getattr(request.state, _STATE_KEY, None)
    if made is None:
        made = secrets.token_urlsafe(32)
        setattr(request.state, _STATE_KEY, made)
    return made


class FormToken:
    """`csrf_token` as render_page gives it to templates: the token is looked up (or made) only
    when a template prints it, so only pages with a form set the cookie and turn uncacheable."""

    def __init__(self, request: Request) -> None:
        self._request = request
        self.used = False

    def __str__(self) -> str:
        self.used = True
        return csrf_token(self._request)

    def __html__(self) -> str:  # Jinja's autoescape prints it as is: the token is URL-safe
        return str(self)


def token_was_made(request: Request) -> bool:
    """Whether this request was given a new token (by a template or a route), which the
    response must then hand to the browser with `set_cookie`."""
    return getattr(request.state, _STATE_KEY, None) is not None


def set_cookie(request: Request, response: Response) -> None:
    """Give the browser the token made for this request, if one was."""
    token = getattr(request.state, _STATE_KEY, None)
    if token is None:
        return
    secure = request.app.state.settings.cookies_secure or request.url.scheme == "https"
    response.set_cookie(
        CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/"
    )


async def read_form(request: Request, *, max_bytes: int) -> FormData:
    """The posted form (urlencoded or multipart), once its CSRF token is checked.

    Bodies over `max_bytes` are refused with PayloadTooLarge while they arrive, whatever
    Content-Length says; uploaded files are spooled to temporary files, so large ones do not sit
    in memory (close the form when done with its files). The body can be read only once. A
    missing or wrong token raises Forbidden with a message telling the person how to try again.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(_too_large(max_bytes))
    form = await _parse(request, _bounded(request.stream(), max_bytes))
    field = form.get(CSRF_FIELD)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not isinstance(field, str) or not _TOKEN_SHAPE.fullmatch(cookie):
        await form.close()
        raise Forbidden(EXPIRED_MESSAGE)
    if not hmac.compare_digest(field.encode(), cookie.encode()):
        await form.close()
        raise Forbidden(EXPIRED_MESSAGE)
    return form


async def _parse(request: Request, stream: AsyncGenerator[bytes, None]) -> FormData:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    try:
        if content_type == "multipart/form-data":
            return await MultiPartParser(
                request.headers, stream, max_part_size=_LARGEST_FIELD
            ).parse()
        if content_type == "application/x-www-form-urlencoded":
            return await FormParser(request.headers, stream, max_part_size=_LARGEST_FIELD).parse()
    except MultiPartException as exc:
        raise InvalidUpload(f"The form could not be read: {exc.message}") from exc
    # Not a form at all (a script posting JSON, say): it cannot carry the token either.
    raise Forbidden(EXPIRED_MESSAGE)


async def _bounded(stream: AsyncIterator[bytes], max_bytes: int) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > max_bytes:
            raise PayloadTooLarge(_too_large(max_bytes))
        yield chunk


def _too_large(max_bytes: int) -> str:
    if max_bytes >= 1024 * 1024:
        size = f"{max_bytes / (1024 * 1024):.0f} MB"
    else:
        size = f"{max(1, max_bytes // 1024)} KB"
    return f"The form is too large: at most {size} can be sent."
