"""``/developers``: the rate limits explained, and a form where developers register app tokens
themselves (soda.md §7: a token names an app for throttling; it grants no access).

The form is protected against cross-site posts by the site's double-submit token (web/csrf.py).
Registrations are rate-limited per client address with the same limiter as reads.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from limits import parse_many
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from civicport.api.deps import EngineDep, SettingsDep
from civicport.api.throttle import REGISTRATION, client_address, throttle_for
from civicport.auth.audit import ANONYMOUS_ACTOR, record_event
from civicport.auth.tokens import register_app_token
from civicport.web.csrf import read_form
from civicport.web.i18n import N_
from civicport.web.pages import base_url, gettext_for, render_page

router = APIRouter(tags=["Pages"])

LONGEST_APP_NAME = 100
LONGEST_EMAIL = 254  # RFC 5321's longest path
LARGEST_FORM_BYTES = 4096
# One @, something on each side, a dot in the domain, no spaces: the shape, not deliverability.
EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


@router.get("/developers", response_class=HTMLResponse, include_in_schema=False)
def developers(request: Request, settings: SettingsDep) -> HTMLResponse:
    return _form_page(request, settings)


@router.post("/developers/tokens", response_class=HTMLResponse, include_in_schema=False)
async def register_token(request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    _ = gettext_for(request)
    form = await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    app_name = " ".join(str(form.get("app_name", "")).split())
    email = str(form.get("email", "")).strip()
    values = {"app_name": app_name, "email": email}
    problem = _problem(app_name, email)
    if problem is not None:
        return _form_page(request, settings, status=400, error=_(problem), **values)
    throttle = throttle_for(request.app.state)
    verdict = await run_in_threadpool(throttle.hit_now, REGISTRATION, client_address(request.scope))
    if verdict is not None:
        message = _(
            "Too many tokens were registered from your address. Try again in %(seconds)s seconds."
        )
        return _form_page(
            request, settings, status=429, error=message % {"seconds": verdict.retry_after},
            headers={"Retry-After": str(verdict.retry_after)}, **values,
        )  # fmt: skip

    def register() -> str:
        with engine.begin() as conn:
            token = register_app_token(conn, app_name=app_name, email=email)
            record_event(
                conn,
                actor=ANONYMOUS_ACTOR,
                action="app_token.register",
                detail={"app_name": app_name, "email": email},
                client=client_address(request.scope),
            )
            return token

    token = await run_in_threadpool(register)
    return _form_page(request, settings, token=token, **values)


def _problem(app_name: str, email: str) -> str | None:
    if not app_name:
        return N_("Give your app a name.")
    if len(app_name) > LONGEST_APP_NAME:
        return N_("The app name is too long: at most 100 characters.")
    if not email:
        return N_("Give an email address where we can reach you about your app.")
    if len(email) > LONGEST_EMAIL or not EMAIL_SHAPE.fullmatch(email):
        return N_("“%(email)s” is not an email address; it should look like name@example.org.")
    return None


def _form_page(
    request: Request,
    settings: SettingsDep,
    *,
    status: int = 200,
    error: str | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    **values: str,
) -> HTMLResponse:
    if error is not None and "%(email)s" in error:
        error = error % {"email": values.get("email", "")[:80]}
    base = base_url(request, settings)
    return render_page(
        request,
        "developers.html",
        status_code=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
        error=error,
        token=token,
        app_name=values.get("app_name", ""),
        email=values.get("email", ""),
        anonymous_limit=limit_parts(settings.rate_limit_anonymous),
        token_limit=limit_parts(settings.rate_limit_app_token),
        example_url=f"{base}/resource/xxxx-xxxx.json",
        domain=base.split("://", 1)[-1],
    )


def limit_parts(text: str) -> list[tuple[int, str]]:
    """A rate-limit setting ("1000/hour;50/minute") as (amount, unit) pairs the page words in
    the reader's language; [] when the limit is off."""
    return [(item.amount, item.GRANULARITY.name) for item in parse_many(text)] if text else []


def throttled_page(request: Request, status: int, retry_after: int | None) -> Response:
    """The page a throttled (429) or refused (403: unknown app token) page request gets."""
    _ = gettext_for(request)
    if status == 429:
        message = _(
            "You have made too many requests. Please wait %(seconds)s seconds and try again."
        )
        message %= {"seconds": retry_after}
    else:
        message = _("The app token in this request is not registered on this portal.")
    return render_page(request, "error.html", status_code=status, status=status, message=message)
