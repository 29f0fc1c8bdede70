"""Dependencies shared by HTTP routes (API and pages): the engine, the settings, and who is
asking (the principal): the account behind an API key sent with HTTP Basic, or behind the
session cookie of someone signed in.

Who may see which dataset is decided in civicport.auth.policy; it is re-exported here for the
API routes that ask it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request

from civicport.auth.keys import principal_for_key
from civicport.auth.policy import missing, visible_dataset
from civicport.auth.principal import Principal
from civicport.auth.sessions import SESSION_COOKIE, principal_for_session
from civicport.config import Settings
from civicport.errors import NotAuthenticated

__all__ = [
    "EngineDep",
    "PrincipalDep",
    "SettingsDep",
    "StaffDep",
    "authenticated",
    "basic_credentials",
    "current_principal",
    "get_engine",
    "get_settings",
    "key_principal",
    "missing",
    "signed_in",
    "visible_dataset",
]


def get_engine(request: Request) -> sa.Engine:
    return request.app.state.engine


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


EngineDep = Annotated[sa.Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(key id, secret) from an `Authorization: Basic …` header; None when it holds none."""
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key_id, colon, secret = decoded.partition(":")
    return (key_id, secret) if colon and key_id else None


def key_principal(conn: sa.Connection, request: Request) -> Principal | None:
    """The account whose valid, unrevoked API key the request sends; None otherwise."""
    credentials = basic_credentials(request.headers.get("authorization"))
    return principal_for_key(conn, *credentials) if credentials else None


def authenticated(conn: sa.Connection, request: Request, message: str) -> Principal:
    """The account behind the request's API key; NotAuthenticated (401) with `message` when
    there is no valid key."""
    principal = key_principal(conn, request)
    if principal is None:
        raise NotAuthenticated(message)
    return principal


_UNKNOWN = object()


def current_principal(request: Request) -> Principal | None:
    """Who is asking: the account of the request's API key, else of its session cookie; None
    for an anonymous reader. Asked once per request (kept on request.state).

    Credentials that fail are a 401: a program that sends a key wants to know it is wrong. A
    session cookie that is forged, expired or outlived a password change reads as signed out,
    and pages that need an account then ask the person to sign in again.
    """
    known = getattr(request.state, "principal", _UNKNOWN)
    if known is not _UNKNOWN:
        return known  # type: ignore[no-any-return]
    sends_key = basic_credentials(request.headers.get("authorization")) is not None
    cookie = request.cookies.get(SESSION_COOKIE)
    principal: Principal | None = None
    if sends_key or cookie:
        with get_engine(request).connect() as conn:
            if sends_key:
                principal = authenticated(conn, request, "Wrong API key id or secret")
            elif cookie:
                settings = get_settings(request)
                principal = principal_for_session(
                    conn,
                    cookie,
                    key=request.app.state.signing_key,
                    max_age_seconds=settings.session_hours * 3600,
                )
    request.state.principal = principal
    return principal


def signed_in(request: Request) -> Principal:
    """The signed-in account (or API key holder); NotAuthenticated (401) for anyone else.
    Pages answer the 401 with a sign-in link that brings the person back."""
    principal = current_principal(request)
    if principal is None:
        raise NotAuthenticated("Sign in with your staff account to continue")
    return principal


PrincipalDep = Annotated[Principal | None, Depends(current_principal)]
StaffDep = Annotated[Principal, Depends(signed_in)]
