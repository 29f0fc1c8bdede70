"""Staff accounts: created by an admin (`civicport users add`), found by email."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import sqlalchemy as sa

from civicport.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from civicport.auth.principal import ROLES, Principal
from civicport.db.schema import users
from civicport.errors import Conflict, InvalidUpload, NotFound

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def create_user(
    conn: sa.Connection,
    *,
    email: str,
    role: str,
    password: str | None = None,
    department: str | None = None,
    can_approve: bool = False,
) -> Principal:
    """Add an account. Without a password it can hold API keys but not sign in."""
    address = email.strip().lower()
    if not _EMAIL.match(address):
        raise InvalidUpload(f"'{email}' is not an email address")
    if role not in ROLES:
        raise InvalidUpload(f"Unknown role '{role}'; use one of {', '.join(ROLES)}")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidUpload(f"A password needs at least {MIN_PASSWORD_LENGTH} characters")
    if conn.execute(sa.select(users.c.id).where(users.c.email == address)).first():
        raise Conflict(f"There is already an account for {address}")
    result = conn.execute(
        users.insert().values(
            email=address,
            role=role,
            department=department,
            password_hash=hash_password(password) if password is not None else None,
            can_approve=can_approve,
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    user_id: int = result.inserted_primary_key[0]  # type: ignore[index]
    return Principal(user_id, address, role, department, can_approve)


# The users columns a Principal is made of, in its field order.
PRINCIPAL_COLUMNS = (
    users.c.id,
    users.c.email,
    users.c.role,
    users.c.department,
    users.c.can_approve,
)


def principal_from_row(row: Any) -> Principal:
    """A Principal from a row (sa.Row of any width) selected with PRINCIPAL_COLUMNS first."""
    return Principal(row.id, row.email, row.role, row.department, bool(row.can_approve))


def user_by_email(conn: sa.Connection, email: str) -> Principal:
    """The account with this email; NotFound when there is none."""
    row = conn.execute(
        sa.select(*PRINCIPAL_COLUMNS).where(users.c.email == email.strip().lower())
    ).first()
    if row is None:
        raise NotFound(f"No account for {email}")
    return principal_from_row(row)


def user_by_id(conn: sa.Connection, user_id: int) -> Principal | None:
    """The account with this id, or None when it no longer exists."""
    row = conn.execute(sa.select(*PRINCIPAL_COLUMNS).where(users.c.id == user_id)).first()
    return None if row is None else principal_from_row(row)
