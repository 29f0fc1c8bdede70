"""Signing in with an email and a password.

A wrong email and a wrong password get the same answer, and take the same time: an unknown email
is checked against a made-up hash, so how long the answer takes does not tell whether an account
exists. Accounts made without a password (API keys only) cannot sign in.
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa

from civicport.auth.accounts import PRINCIPAL_COLUMNS, principal_from_row
from civicport.auth.passwords import hash_password, password_matches
from civicport.auth.principal import Principal
from civicport.auth.sessions import session_token
from civicport.db.schema import users


@cache
def _stand_in_hash() -> str:
    # Made once per process, on the first sign-in with an unknown email.
    return hash_password("no account has this password")


def sign_in(
    conn: sa.Connection, email: str, password: str, *, key: str
) -> tuple[Principal, str] | None:
    """(the account, its session cookie value) when `password` is this account's; else None."""
    row = conn.execute(
        sa.select(*PRINCIPAL_COLUMNS, users.c.password_hash).where(
            users.c.email == email.strip().lower()
        )
    ).first()
    stored = row.password_hash if row is not None else None
    matches = password_matches(stored or _stand_in_hash(), password)
    if row is None or not stored or not matches:
        return None
    return principal_from_row(row), session_token(key, row.id, stored)
