"""Sessions: a signed cookie naming the account, and nothing kept on the server.

The cookie holds the account id and a fingerprint of its password hash, signed with the site's
key and stamped with its time (itsdangerous). Any app process can check it; it expires after
`session_hours`; changing or resetting the password changes the fingerprint, which ends every
session of that account at once. Signing out deletes the cookie.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeTimedSerializer

from civicport.auth.accounts import PRINCIPAL_COLUMNS, principal_from_row
from civicport.auth.principal import Principal
from civicport.db.schema import users

SESSION_COOKIE = "civicport_session"
_SALT = "civicport.session"


def password_fingerprint(password_hash: str | None) -> str:
    """A short digest of the stored hash: it changes whenever the password does."""
    return hashlib.sha256((password_hash or "").encode("utf-8")).hexdigest()[:16]


def account_token(
    serializer: URLSafeTimedSerializer, user_id: int, password_hash: str | None
) -> str:
    """A signed, timestamped token naming account `user_id` while its password is unchanged
    (a session cookie, or with another salt a reset link)."""
    return serializer.dumps({"u": user_id, "p": password_fingerprint(password_hash)})


def account_for_token(
    conn: sa.Connection, serializer: URLSafeTimedSerializer, token: str, max_age_seconds: int
) -> tuple[Principal, str | None] | None:
    """(the account, its current password hash) an account_token names; None when the token
    is forged, expired, or outlived a password change or the account itself."""
    try:
        payload = serializer.loads(token, max_age=max_age_seconds)
    except BadSignature:  # SignatureExpired is one too
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        return None
    row = conn.execute(
        sa.select(*PRINCIPAL_COLUMNS, users.c.password_hash).where(users.c.id == payload["u"])
    ).first()
    if row is None or password_fingerprint(row.password_hash) != payload.get("p"):
        return None
    return principal_from_row(row), row.password_hash


def _serializer(key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=_SALT)


def session_token(key: str, user_id: int, password_hash: str | None) -> str:
    """The cookie value that signs in account `user_id`."""
    return account_token(_serializer(key), user_id, password_hash)


def principal_for_session(
    conn: sa.Connection, token: str, *, key: str, max_age_seconds: int
) -> Principal | None:
    """The account a session cookie names, or None (see account_for_token)."""
    found = account_for_token(conn, _serializer(key), token, max_age_seconds)
    return None if found is None else found[0]
