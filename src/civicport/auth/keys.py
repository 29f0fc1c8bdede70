"""API keys: a key id and a secret a program sends with HTTP Basic to write through the API.

The secret is shown once, when the key is made; only its SHA-256 is stored. Secrets are 32
random bytes, so a plain hash is as strong as a slow one and costs microseconds per request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from civicport.auth.accounts import PRINCIPAL_COLUMNS, principal_from_row, user_by_email
from civicport.auth.principal import Principal
from civicport.db.schema import api_keys, users

KEY_ID_PREFIX = "cpk_"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(conn: sa.Connection, *, email: str) -> tuple[str, str]:
    """A new key for the account with this email: (key id, secret). NotFound for no account."""
    owner = user_by_email(conn, email)
    key_id = KEY_ID_PREFIX + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    conn.execute(
        api_keys.insert().values(
            key_id=key_id,
            user_id=owner.user_id,
            secret_sha256=_digest(secret),
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    return key_id, secret


def principal_for_key(conn: sa.Connection, key_id: str, secret: str) -> Principal | None:
    """The account a key belongs to if `secret` is its secret and it is not revoked."""
    row = conn.execute(
        sa.select(api_keys.c.secret_sha256, *PRINCIPAL_COLUMNS)
        .join(users, users.c.id == api_keys.c.user_id)
        .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
    ).first()
    # Compared in constant time, and a digest is computed even for an unknown key id, so the
    # answer's timing does not tell which key ids exist.
    expected = row.secret_sha256 if row is not None else _digest("")
    if not hmac.compare_digest(expected, _digest(secret)) or row is None:
        return None
    return principal_from_row(row)


@dataclass(frozen=True)
class KeySummary:
    """What the account page shows of a key: never its secret (which is not stored)."""

    key_id: str
    created_at: dt.datetime
    revoked: bool


def keys_of(conn: sa.Connection, user_id: int) -> list[KeySummary]:
    """The account's keys, newest first, revoked ones included."""
    rows = conn.execute(
        sa.select(api_keys.c.key_id, api_keys.c.created_at, api_keys.c.revoked_at)
        .where(api_keys.c.user_id == user_id)
        .order_by(api_keys.c.created_at.desc(), api_keys.c.key_id)
    )
    return [KeySummary(row.key_id, row.created_at, row.revoked_at is not None) for row in rows]


def revoke_key(conn: sa.Connection, key_id: str, *, user_id: int | None = None) -> bool:
    """Revoke a key at once (it stops authenticating with the next request); with `user_id`,
    only a key of that account. False when there is no such unrevoked key."""
    query = api_keys.update().where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
    if user_id is not None:
        query = query.where(api_keys.c.user_id == user_id)
    return conn.execute(query.values(revoked_at=dt.datetime.now(dt.UTC))).rowcount == 1
