"""Password resets: the signed link a person is mailed, and setting the new password.

The link's token holds the account id and a fingerprint of the account's current password hash,
signed with the site's key (its own salt, so a session cookie is no reset token) and stamped
with its time. It is good for RESET_LINK_SECONDS, and only once: setting a password changes the
hash, so the fingerprint no longer matches — which also ends every open session of the account
(auth/sessions.py checks the same fingerprint). Nothing is stored on the server.
"""

from __future__ import annotations

import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from civicport.auth.accounts import PRINCIPAL_COLUMNS, principal_from_row
from civicport.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from civicport.auth.principal import Principal
from civicport.auth.sessions import account_for_token, account_token
from civicport.db.schema import users
from civicport.errors import InvalidUpload

RESET_LINK_SECONDS = 3600
_SALT = "civicport.password-reset"


def _serializer(key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=_SALT)


def reset_token(key: str, user_id: int, password_hash: str | None) -> str:
    """The token for a reset link of account `user_id` whose hash is now `password_hash`."""
    return account_token(_serializer(key), user_id, password_hash)


def reset_token_for(conn: sa.Connection, email: str, *, key: str) -> tuple[Principal, str] | None:
    """(the account, a reset token) for the account with this email; None when there is none,
    or when it has no password: an account made for API keys only does not gain a sign-in by
    mail (the operator gives it one with `civicport users password`)."""
    row = conn.execute(
        sa.select(*PRINCIPAL_COLUMNS, users.c.password_hash).where(
            users.c.email == email.strip().lower()
        )
    ).first()
    if row is None or not row.password_hash:
        return None
    return principal_from_row(row), reset_token(key, row.id, row.password_hash)


def _account_for(conn: sa.Connection, token: str, key: str) -> tuple[Principal, str | None] | None:
    return account_for_token(conn, _serializer(key), token, RESET_LINK_SECONDS)


def account_for_reset(conn: sa.Connection, token: str, *, key: str) -> Principal | None:
    """The account a reset token is for; None when it is forged, expired or already used."""
    found = _account_for(conn, token, key)
    return None if found is None else found[0]


def check_new_password(password: str) -> None:
    """InvalidUpload (400) saying why `password` will not do as a new password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidUpload(f"A password needs at least {MIN_PASSWORD_LENGTH} characters")


def reset_password(
    conn: sa.Connection, token: str, new_password: str, *, key: str
) -> Principal | None:
    """Set the password of the account the token is for; None (nothing changed) when the token
    is forged, expired or used. InvalidUpload when the new password is too short."""
    check_new_password(new_password)
    found = _account_for(conn, token, key)
    if found is None:
        return None
    principal, old_hash = found
    if old_hash is None:
        return None
    # Only if the hash is still the one the token was checked against: of two requests racing
    # with the same link, one wins and the other changes nothing.
    changed = conn.execute(
        users.update()
        .where(users.c.id == principal.user_id, users.c.password_hash == old_hash)
        .values(password_hash=hash_password(new_password))
    )
    return principal if changed.rowcount == 1 else None


def set_password(conn: sa.Connection, email: str, new_password: str) -> Principal | None:
    """Set the password of the account with this email (the operator's reset); None when there
    is no such account. Every session of the account ends."""
    check_new_password(new_password)
    address = email.strip().lower()
    changed = conn.execute(
        users.update()
        .where(users.c.email == address)
        .values(password_hash=hash_password(new_password))
    )
    if changed.rowcount != 1:
        return None
    row = conn.execute(sa.select(*PRINCIPAL_COLUMNS).where(users.c.email == address)).one()
    return principal_from_row(row)
