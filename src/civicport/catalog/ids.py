"""Socrata "4x4" dataset ids: two groups of four lowercase letters or digits joined by a dash."""

from __future__ import annotations

import re
import secrets

# Socrata avoids characters that read alike (0/o, 1/l/i); so do we for the ids we mint.
_MINT_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_FOUR_BY_FOUR = re.compile(r"^[a-z0-9]{4}-[a-z0-9]{4}$")


def new_dataset_id() -> str:
    pick = secrets.choice
    return (
        "".join(pick(_MINT_ALPHABET) for _ in range(4))
        + "-"
        + "".join(pick(_MINT_ALPHABET) for _ in range(4))
    )


def is_dataset_id(text: str) -> bool:
    """True for a well-formed 4x4 id such as ``abcd-1234``."""
    return bool(_FOUR_BY_FOUR.match(text))
