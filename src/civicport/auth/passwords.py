"""Passwords: argon2id hashes (argon2-cffi's defaults), checked in constant time."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    """The PHC string to store for `password` (salt and parameters included)."""
    return _hasher.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """True when `password` is the one `stored_hash` was made from; False for no hash."""
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
