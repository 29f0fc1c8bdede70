"""Who is asking: a signed-in person or a program holding one of their API keys."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "publisher", "viewer")


@dataclass(frozen=True)
class Principal:
    """A staff account as the access policy sees it."""

    user_id: int
    email: str
    role: str  # one of ROLES
    department: str | None
    can_approve: bool = False  # a department approver (admins approve without it)
