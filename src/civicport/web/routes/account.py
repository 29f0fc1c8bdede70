"""Staff accounts in the browser: sign in and out, reset a forgotten password by mail, and the
account page where a person sees who they are signed in as and makes API keys.

Sessions are signed cookies (auth/sessions.py); every form carries the CSRF token
(web/csrf.py). Failed sign-ins are rate-limited per client address and per account, and so are
requests for reset links; over the limit the password is not even checked. Neither the sign-in
answer nor the reset page tells whether an account exists.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from urllib.parse import urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from civicport.api.deps import EngineDep, SettingsDep, StaffDep, current_principal
from civicport.api.throttle import PASSWORD_RESET, SIGN_IN, Verdict, client_address, throttle_for
from civicport.auth.audit import ANONYMOUS_ACTOR, record_event
from civicport.auth.keys import create_key, keys_of, revoke_key
from civicport.auth.mail import mail_configured, send_mail
from civicport.auth.passwords import MIN_PASSWORD_LENGTH
from civicport.auth.principal import Principal
from civicport.auth.resets import (
    RESET_LINK_SECONDS,
    account_for_reset,
    reset_password,
    reset_token_for,
)
from civicport.auth.sessions import SESSION_COOKIE
from civicport.auth.signin import sign_in
from civicport.config import Settings
from civicport.errors import NotFound
from civicport.web.csrf import read_form
from civicport.web.pages import base_url, gettext_for, render_page

log = logging.getLogger(__name__)
router = APIRouter(tags=["Pages"])

DEFAULT_NEXT = "/manage"
LARGEST_FORM_BYTES = 8192
LONGEST_EMAIL = 254  # RFC 5321's longest path
LONGEST_PASSWORD = 1024  # argon2 takes any length; a megabyte of it is only a way to burn CPU
NO_STORE = {"Cache-Control": "no-store"}


def local_path(value: object) -> str:
    """`value` when it is a path on this site ("/manage?x=1"), else DEFAULT_NEXT: a sign-in
    link must not be able to send a person on to another site."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return DEFAULT_NEXT
    if "\\" in value or any(ch < " " for ch in value):  # browsers read "/\\host" as "//host"
        return DEFAULT_NEXT
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else DEFAULT_NEXT


# --- signing in and out ------------------------------------------------------------------------


@router.get("/account/sign-in", response_class=HTMLResponse, include_in_schema=False)
def sign_in_page(request: Request) -> HTMLResponse:
    return _sign_in_form(request, next_path=local_path(request.query_params.get("next")))


@router.post("/account/sign-in", response_class=HTMLResponse, include_in_schema=False)
async def sign_in_post(request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    _ = gettext_for(request)
    form = await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    email = str(form.get("email", "")).strip()[:LONGEST_EMAIL]
    password = str(form.get("password", ""))[:LONGEST_PASSWORD]
    next_path = local_path(form.get("next"))
    if not email or not password:
        message = _("Enter your email address and your password.")
        return _sign_in_form(request, next_path=next_path, email=email, status=400, error=message)
    budgets = _budget_keys(request, email)
    throttle = throttle_for(request.app.state)
    verdict = await run_in_threadpool(_over_budget, throttle.over_now, SIGN_IN, budgets)
    if verdict is not None:
        message = _("Too many failed sign-ins. Try again in %(seconds)s seconds.")
        return _sign_in_form(
            request, next_path=next_path, email=email, status=429,
            error=message % {"seconds": verdict.retry_after},
            headers={"Retry-After": str(verdict.retry_after)},
        )  # fmt: skip

    def attempt() -> tuple[Principal, str] | None:
        with engine.begin() as conn:
            signed = sign_in(conn, email, password, key=request.app.state.signing_key)
            record_event(
                conn,
                actor=signed[0].email if signed else ANONYMOUS_ACTOR,
                action="account.sign_in" if signed else "account.sign_in_failed",
                detail={} if signed else {"email": email.lower()},
                client=client_address(request.scope),
            )
            return signed

    signed = await run_in_threadpool(attempt)
    if signed is None:
        await run_in_threadpool(_over_budget, throttle.hit_now, SIGN_IN, budgets)
        return _sign_in_form(
            request, next_path=next_path, email=email, status=401,
            error=_("Wrong email or password"),
        )  # fmt: skip
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed[1],
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",  # sent when following a link from elsewhere, never on a foreign POST
        secure=_secure(request, settings),
        path="/",
    )
    return response


@router.post("/account/sign-out", include_in_schema=False)
async def sign_out(request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    principal = await run_in_threadpool(current_principal, request)
    if principal is not None:

        def record() -> None:
            with engine.begin() as conn:
                record_event(
                    conn,
                    actor=principal.email,
                    action="account.sign_out",
                    client=client_address(request.scope),
                )

        await run_in_threadpool(record)
    response = RedirectResponse("/", status_code=303)
    _forget_session(request, response, settings)
    return response


# --- a forgotten password ----------------------------------------------------------------------


@router.get("/account/forgot", response_class=HTMLResponse, include_in_schema=False)
def forgot_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    return _forgot_form(request, settings)


@router.post("/account/forgot", response_class=HTMLResponse, include_in_schema=False)
async def forgot_post(request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    _ = gettext_for(request)
    form = await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    email = str(form.get("email", "")).strip()[:LONGEST_EMAIL]
    if not mail_configured(settings):
        return _forgot_form(request, settings)
    if not email:
        return _forgot_form(
            request, settings, status=400, error=_("Enter the email address of your account.")
        )
    throttle = throttle_for(request.app.state)
    budgets = _budget_keys(request, email)
    verdict = await run_in_threadpool(_over_budget, throttle.hit_now, PASSWORD_RESET, budgets)
    if verdict is not None:
        message = _("Too many reset links were asked for. Try again in %(seconds)s seconds.")
        return _forgot_form(
            request, settings, status=429, email=email,
            error=message % {"seconds": verdict.retry_after},
            headers={"Retry-After": str(verdict.retry_after)},
        )  # fmt: skip

    def find() -> tuple[Principal, str] | None:
        with engine.connect() as conn:
            return reset_token_for(conn, email, key=request.app.state.signing_key)

    found = await run_in_threadpool(find)
    response = _forgot_form(request, settings, sent_to=email)
    if found is not None:
        # Sent after the answer, so the answer takes as long whether or not the account exists.
        link = f"{base_url(request, settings)}/account/reset/{found[1]}"
        response.background = BackgroundTask(_mail_reset_link, request, settings, found[0], link)
    return response


def _mail_reset_link(request: Request, settings: Settings, principal: Principal, link: str) -> None:
    _ = gettext_for(request)
    body = _(
        "Someone, probably you, asked to reset the password of your account on %(site)s.\n\n"
        "To choose a new password, open this link within %(minutes)s minutes:\n\n%(link)s\n\n"
        "If you did not ask for this, ignore this mail: your password stays as it is.\n"
    ) % {"site": settings.site_name, "minutes": RESET_LINK_SECONDS // 60, "link": link}
    subject = _("Reset your password on %(site)s") % {"site": settings.site_name}
    try:
        send_mail(settings, to=principal.email, subject=subject, body=body)
    except (OSError, smtplib.SMTPException) as exc:
        # Never the link: it would let whoever reads the log take over the account.
        log.warning(
            "could not send the password-reset mail for account %s: %s: %s",
            principal.user_id, type(exc).__name__, exc,
        )  # fmt: skip


@router.get("/account/reset/{token}", response_class=HTMLResponse, include_in_schema=False)
def reset_page(request: Request, token: str, engine: EngineDep) -> HTMLResponse:
    return _reset_form(request, token, _reset_account(request, engine, token))


@router.post("/account/reset/{token}", response_class=HTMLResponse, include_in_schema=False)
async def reset_post(
    request: Request, token: str, engine: EngineDep, settings: SettingsDep
) -> Response:
    _ = gettext_for(request)
    form = await read_form(request, max_bytes=LARGEST_FORM_BYTES)
    password = str(form.get("password", ""))[:LONGEST_PASSWORD]
    again = str(form.get("password_again", ""))[:LONGEST_PASSWORD]
    key = request.app.state.signing_key
    problem = None
    if len(password) < MIN_PASSWORD_LENGTH:
        problem = _("A password needs at least %(count)s characters.") % {
            "count": MIN_PASSWORD_LENGTH
        }
    elif password != again:
        problem = _("The two passwords are not the same. Type the new password twice.")
    if problem is not None:
        principal = await run_in_threadpool(_reset_account, request, engine, token)
        return _reset_form(request, token, principal, error=problem)

    def reset() -> Principal | None:
        with engine.begin() as conn:
            principal = reset_password(conn, token, password, key=key)
            if principal is not None:
                record_event(
                    conn,
                    actor=principal.email,
                    action="account.password_reset",
                    detail={"by": "mail link"},
                    client=client_address(request.scope),
                )
            return principal

    principal = await run_in_threadpool(reset)
    if principal is None:
        return _reset_form(request, token, None)
    response = _sign_in_form(
        request,
        next_path=DEFAULT_NEXT,
        email=principal.email,
        notice=_("Your password is changed. Sign in with your new password."),
    )
    _forget_session(request, response, settings)  # it ended with the old password anyway
    return response


def _reset_account(request: Request, engine: sa.Engine, token: str) -> Principal | None:
    with engine.connect() as conn:
        return account_for_reset(conn, token, key=request.app.state.signing_key)


# --- the account page and API keys -------------------------------------------------------------


@router.get("/account", response_class=HTMLResponse, include_in_schema=False)
def account_page(request: Request, principal: StaffDep, engine: EngineDep) -> HTMLResponse:
    return _account(request, principal, engine)


@router.post("/account/keys", response_class=HTMLResponse, include_in_schema=False)
async def create_api_key(request: Request, principal: StaffDep, engine: EngineDep) -> Response:
    await read_form(request, max_bytes=LARGEST_FORM_BYTES)

    def create() -> tuple[str, str]:
        with engine.begin() as conn:
            key_id, secret = create_key(conn, email=principal.email)
            record_event(
                conn,
                actor=principal.email,
                action="key.create",
                detail={"key_id": key_id, "email": principal.email},  # never the secret
                client=client_address(request.scope),
            )
            return key_id, secret

    key_id, secret = await run_in_threadpool(create)
    return await run_in_threadpool(_account, request, principal, engine, new_key=(key_id, secret))


@router.post("/account/keys/{key_id}/revoke", response_class=HTMLResponse, include_in_schema=False)
async def revoke_api_key(
    key_id: str, request: Request, principal: StaffDep, engine: EngineDep
) -> Response:
    """Revoke one of the person's own keys; anyone else's key id is answered as unknown."""
    await read_form(request, max_bytes=LARGEST_FORM_BYTES)

    def revoke() -> bool:
        with engine.begin() as conn:
            revoked = revoke_key(conn, key_id, user_id=principal.user_id)
            if revoked:
                record_event(
                    conn,
                    actor=principal.email,
                    action="key.revoke",
                    detail={"key_id": key_id},
                    client=client_address(request.scope),
                )
            return revoked

    if not await run_in_threadpool(revoke):
        raise NotFound("You have no key in use with this id", data={"key_id": key_id[:40]})
    return RedirectResponse("/account", status_code=303)


def _account(
    request: Request,
    principal: Principal,
    engine: sa.Engine,
    *,
    new_key: tuple[str, str] | None = None,
) -> HTMLResponse:
    with engine.connect() as conn:
        keys = keys_of(conn, principal.user_id)
    return render_page(
        request,
        "account/account.html",
        headers=NO_STORE,
        account=principal,
        keys=keys,
        new_key=new_key,
    )


# --- shared pieces -----------------------------------------------------------------------------


def _budget_keys(request: Request, email: str) -> tuple[str, str]:
    # Two budgets: one address guessing many accounts, and many addresses guessing one account.
    return f"address:{client_address(request.scope)}", f"account:{email.lower()}"


def _over_budget(
    step: Callable[[str, str], Verdict | None], kind: str, keys: tuple[str, ...]
) -> Verdict | None:
    verdicts = [step(kind, key) for key in keys]  # every budget counts, not only the first
    return max((v for v in verdicts if v is not None), key=lambda v: v.retry_after, default=None)


def _secure(request: Request, settings: Settings) -> bool:
    return settings.cookies_secure or request.url.scheme == "https"


def _forget_session(request: Request, response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request, settings)
    )


def _sign_in_form(
    request: Request,
    *,
    next_path: str,
    email: str = "",
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return render_page(
        request,
        "account/sign_in.html",
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
        next_path=next_path,
        email=email,
        error=error,
        notice=notice,
    )


def _forgot_form(
    request: Request,
    settings: Settings,
    *,
    status: int = 200,
    email: str = "",
    sent_to: str | None = None,
    error: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return render_page(
        request,
        "account/forgot.html",
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
        mail_configured=mail_configured(settings),
        email=email,
        sent_to=sent_to,
        error=error,
        minutes=RESET_LINK_SECONDS // 60,
    )


def _reset_form(
    request: Request, token: str, principal: Principal | None, *, error: str | None = None
) -> HTMLResponse:
    status = 400 if principal is None or error else 200
    return render_page(
        request,
        "account/reset.html",
        status_code=status,
        # The link is the key to the account: keep it out of caches and of Referer headers.
        headers={**NO_STORE, "Referrer-Policy": "no-referrer"},
        token=token,
        account=principal,
        error=error,
        min_length=MIN_PASSWORD_LENGTH,
    )
