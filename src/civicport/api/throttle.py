"""Rate limits on anonymous reads, higher ones for app tokens (soda.md §7), as plain ASGI.

Reads of the API (``/resource``, ``/api/views``, ``/api/catalog``) and of the pages (``/``,
``/browse``, ``/d/…``) count against a budget: the client IP address's
(``rate_limit_anonymous``) or, when the request names a registered app token in the
``X-App-Token`` header or the ``$$app_token`` parameter, the token's (``rate_limit_app_token``).
Over budget the answer is 429 with ``Retry-After`` (seconds): SODA's error shape on the API, a
page on pages. A token that is not registered is refused (403) rather than silently counted as
anonymous, so a developer with a typo finds out at the first request, not at the limit.
Writes, static files, /docs and /openapi.json are never counted.

Counting uses the `limits` library's moving window: exact, so a client cannot double its budget
at a window boundary. The counters live in this process (``MemoryStorage``) or, with
``redis_url``, in Redis, shared by every app process. If Redis cannot be reached the request is
let through (and the failure logged): a broken limiter must not take the portal down.

The client address is the socket peer, as the HTTP server reports it; behind a reverse proxy,
Uvicorn replaces it with the proxy's ``X-Forwarded-For`` when the proxy's address is in its
``--forwarded-allow-ips`` (127.0.0.1 by default).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
import sqlalchemy as sa
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from civicport.api.errors import error_response
from civicport.auth.tokens import cached_answer, is_app_token
from civicport.config import Settings

log = logging.getLogger(__name__)

API_PREFIXES = ("/resource/", "/api/views/", "/api/catalog/")
PAGE_PREFIXES = ("/d/",)
PAGE_PATHS = frozenset({"/", "/browse", "/browse/"})
READ_METHODS = frozenset({"GET", "HEAD"})
TOKEN_HEADER = "x-app-token"
TOKEN_PARAM = "$$app_token"
THROTTLED_CODE = "too-many-requests"  # soda-fountain's TooManyRequests (soda.md §6.3)
UNKNOWN_TOKEN_CODE = "permission_denied"  # Socrata's 403 code (soda.md §6.3)
REDIS_TIMEOUT_SECONDS = 0.5
REDIS_KEY_PREFIX = "civicport"
# One warning a minute at most while Redis is down, not one per request.
STORAGE_WARNING_SECONDS = 60.0

# Which budget a request counts against.
ANONYMOUS, APP_TOKEN, REGISTRATION = "anonymous", "app-token", "registration"
# Failed sign-ins and password-reset requests, per client address and per account
# (web/routes/account.py); both spend `rate_limit_sign_in`, each in its own budget.
SIGN_IN, PASSWORD_RESET = "sign-in", "password-reset"

# Answers a throttled or refused page request: (request, status 403 or 429, Retry-After
# seconds or None) → the page. Given by the app, so this module does not import the pages.
ThrottledPage = Callable[[Request, int, int | None], Response]


@dataclass(frozen=True)
class Verdict:
    """Over budget: how long until the next request would be allowed, and the limit."""

    retry_after: int
    limit: str


class Throttle:
    """The limiter of one app: its storage, strategy and the budgets from its settings."""

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.settings = settings
        self.uses_redis = storage is None and settings.redis_url is not None
        if storage is None:
            storage = (
                storage_from_string(
                    settings.redis_url,
                    key_prefix=REDIS_KEY_PREFIX,
                    socket_timeout=REDIS_TIMEOUT_SECONDS,
                    socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                )
                if settings.redis_url
                else MemoryStorage()
            )
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.limits: dict[str, tuple[str, list[RateLimitItem]]] = {
            kind: (text, parse_many(text) if text else [])
            for kind, text in (
                (ANONYMOUS, settings.rate_limit_anonymous),
                (APP_TOKEN, settings.rate_limit_app_token),
                (REGISTRATION, settings.rate_limit_token_registrations),
                (SIGN_IN, settings.rate_limit_sign_in),
                (PASSWORD_RESET, settings.rate_limit_sign_in),
            )
        }
        self._warned_at = -math.inf

    def hit_now(self, kind: str, key: str) -> Verdict | None:
        """Count one request of `kind` from `key`; a Verdict when it is over budget."""
        return self._ask(kind, key, self.limiter.hit)

    def over_now(self, kind: str, key: str) -> Verdict | None:
        """Whether `key` has already spent its `kind` budget, without counting this request:
        for budgets that only failures spend (sign-in), checked before the attempt."""
        return self._ask(kind, key, self.limiter.test)

    def _ask(
        self, kind: str, key: str, step: Callable[[RateLimitItem, str, str], bool]
    ) -> Verdict | None:
        text, items = self.limits[kind]
        try:
            for item in items:
                if not step(item, kind, key):
                    reset_at = self.limiter.get_window_stats(item, kind, key).reset_time
                    return Verdict(max(1, math.ceil(reset_at - time.time())), text)
        except Exception:  # the storage is down: let the request through
            if time.monotonic() - self._warned_at > STORAGE_WARNING_SECONDS:
                self._warned_at = time.monotonic()
                log.warning("rate-limit storage failed; requests are not counted", exc_info=True)
        return None

    async def hit(self, kind: str, key: str) -> Verdict | None:
        if not self.limits[kind][1]:
            return None
        if self.uses_redis:  # a network round trip: not on the event loop
            return await anyio.to_thread.run_sync(self.hit_now, kind, key)
        return self.hit_now(kind, key)


def throttle_for(state: Any) -> Throttle:
    """The app's Throttle (kept on ``app.state``), made from its settings on first use."""
    throttle: Throttle | None = getattr(state, "throttle", None)
    if throttle is None:
        throttle = state.throttle = Throttle(state.settings)
    return throttle


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def app_token(scope: Scope) -> str | None:
    """The app token a request names: the X-App-Token header, else the $$app_token parameter
    ($-parameter names match in any case, soda.md §2.5). None when it names none."""
    token = Headers(scope=scope).get(TOKEN_HEADER, "").strip()
    if token:
        return token
    query = scope.get("query_string", b"")
    if b"app_token" in query.lower():
        for name, value in parse_qsl(query.decode("latin-1")):
            if name.lower() == TOKEN_PARAM and value.strip():
                return value.strip()
    return None


def _door(path: str) -> str | None:
    if path.startswith(API_PREFIXES):
        return "api"
    if path in PAGE_PATHS or path.startswith(PAGE_PREFIXES):
        return "page"
    return None


class ThrottleMiddleware:
    """Counts reads against their budget and answers 429 (or 403 for an unknown app token)."""

    def __init__(self, app: ASGIApp, page: ThrottledPage | None = None) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        door = _door(scope["path"]) if scope["type"] == "http" else None
        if door is None or scope["method"] not in READ_METHODS:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        throttle = throttle_for(state)
        token = app_token(scope)
        if token is not None:
            if not await _registered(state.engine, token):
                await self._refuse(scope, door, token)(scope, receive, send)
                return
            verdict = await throttle.hit(APP_TOKEN, token)
        else:
            verdict = await throttle.hit(ANONYMOUS, client_address(scope))
        if verdict is not None:
            await self._throttled(scope, door, verdict, token)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refuse(self, scope: Scope, door: str, token: str) -> Response:
        if door == "page":
            return self._page(scope, 403, None)
        return error_response(
            403,
            UNKNOWN_TOKEN_CODE,
            "Invalid app_token specified: this app token is not registered on this portal. "
            "Register one at /developers, or send the request without a token.",
            {"app_token": token[:64]},
        )

    def _throttled(self, scope: Scope, door: str, verdict: Verdict, token: str | None) -> Response:
        retry_after = str(verdict.retry_after)
        if door == "page":
            response = self._page(scope, 429, verdict.retry_after)
        else:
            who = "this app token" if token else "this address without an app token"
            hint = "" if token else " Register an app token at /developers for a higher limit."
            response = error_response(
                429,
                THROTTLED_CODE,
                f"Too many requests: the limit for {who} is {verdict.limit}. "
                f"Try again in {retry_after} seconds.{hint}",
                {"limit": verdict.limit, "retryAfter": verdict.retry_after},
            )
        response.headers["Retry-After"] = retry_after
        return response

    def _page(self, scope: Scope, status: int, retry_after: int | None) -> Response:
        if self.page is not None:
            return self.page(Request(scope), status, retry_after)
        text = "Too many requests; try again later." if status == 429 else "Unknown app token."
        return PlainTextResponse(text, status_code=status)


async def _registered(engine: sa.Engine, token: str) -> bool:
    known = cached_answer(engine, token)
    if known is not None:
        return known
    return await anyio.to_thread.run_sync(_ask_database, engine, token)


def _ask_database(engine: sa.Engine, token: str) -> bool:
    with engine.connect() as conn:
        return is_app_token(conn, token)
