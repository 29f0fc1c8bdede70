"""App tokens: what a program sends (``X-App-Token``) to read above the anonymous rate limit.

Developers register tokens themselves (the /developers page). A token names an app for
throttling only (soda.md §7): it grants no access to anything an anonymous reader cannot see,
so it is stored as sent. Every throttled read asks whether its token is registered, so answers
are remembered in this process for a short while (a revoked token stops working within
CACHE_SECONDS; a newly registered one works at once in the process that registered it).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import time

import sqlalchemy as sa

from civicport.db.schema import app_tokens

TOKEN_BYTES = 18  # 24 URL-safe characters
# What a token may look like; anything else is refused without asking the database.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{8,64}")
CACHE_SECONDS = 60.0
CACHE_MOST_ENTRIES = 10_000

_cache: dict[tuple[str, str], tuple[bool, float]] = {}
_cache_lock = threading.Lock()


def _cache_key(conn: sa.Connection | sa.Engine, token: str) -> tuple[str, str]:
    # Keyed by database too: one process may serve (or test) several databases.
    return (conn.engine.url.render_as_string(hide_password=True), token)


def _remember(key: tuple[str, str], known: bool) -> None:
    with _cache_lock:
        if len(_cache) >= CACHE_MOST_ENTRIES:
            _cache.clear()  # cheap and rare: a cache this full is mostly made-up tokens
        _cache[key] = (known, time.monotonic() + CACHE_SECONDS)


def register_app_token(conn: sa.Connection, *, app_name: str, email: str) -> str:
    """Register a new app token for `app_name`, whose developer is reached at `email`."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    conn.execute(
        app_tokens.insert().values(
            token=token,
            app_name=app_name,
            contact_email=email,
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    _remember(_cache_key(conn, token), True)
    return token


def cached_answer(engine: sa.Engine, token: str) -> bool | None:
    """Whether `token` is registered, if that is known without asking the database."""
    if not TOKEN_SHAPE.fullmatch(token):
        return False
    with _cache_lock:
        entry = _cache.get(_cache_key(engine, token))
    if entry is None or entry[1] < time.monotonic():
        return None
    return entry[0]


def is_app_token(conn: sa.Connection, token: str) -> bool:
    """Whether `token` is a registered app token that has not been revoked."""
    if not TOKEN_SHAPE.fullmatch(token):
        return False
    key = _cache_key(conn, token)
    with _cache_lock:
        entry = _cache.get(key)
    if entry is not None and entry[1] >= time.monotonic():
        return entry[0]
    found = conn.execute(
        sa.select(app_tokens.c.token).where(
            app_tokens.c.token == token, app_tokens.c.revoked_at.is_(None)
        )
    ).first()
    _remember(key, found is not None)
    return found is not None


def revoke_app_token(conn: sa.Connection, token: str) -> bool:
    """Revoke `token` (this process forgets it at once); False if it was not registered."""
    result = conn.execute(
        app_tokens.update()
        .where(app_tokens.c.token == token, app_tokens.c.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    _remember(_cache_key(conn, token), False)
    return result.rowcount > 0
