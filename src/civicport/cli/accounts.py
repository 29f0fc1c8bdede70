"""`civicport users add|password` and `civicport keys create`: staff accounts, their passwords
and their API keys."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

import sqlalchemy as sa
import typer

from civicport.auth.accounts import create_user
from civicport.auth.audit import CLI_ACTOR, record_event
from civicport.auth.keys import create_key, revoke_key
from civicport.auth.principal import ROLES, Principal
from civicport.auth.resets import set_password
from civicport.cli.database import migrated_database
from civicport.cli.output import err_console, fail, reporting_errors
from civicport.errors import NotFound

Role = StrEnum("Role", {name: name for name in ROLES})
T = TypeVar("T")

users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys programs write with (HTTP Basic).", no_args_is_help=True)


def _in_transaction(work: Callable[[sa.Connection], T]) -> T:
    with reporting_errors(), migrated_database() as engine, engine.begin() as conn:
        return work(conn)


@users_app.command("add")
def add_user(
    email: str = typer.Argument(..., help="The person's email address.", show_default=False),
    role: Role = typer.Option(..., "--role", help="admin, publisher or viewer."),
    password: str | None = typer.Option(
        None, "--password", help="Sign-in password (12+ characters); none: keys only."
    ),
    department: str | None = typer.Option(
        None, "--department", help="The department whose datasets a publisher manages."
    ),
    approver: bool = typer.Option(
        False, "--approver", help="May approve the department's drafts and public releases."
    ),
) -> None:
    """Add a staff account.

    Example: civicport users add ana@city.gov --role publisher --department Health --approver
    """

    def add(conn: sa.Connection) -> Principal:
        user = create_user(
            conn,
            email=email,
            role=role.value,
            password=password,
            department=department,
            can_approve=approver,
        )
        detail = {
            "email": user.email,
            "role": user.role,
            "department": user.department,
            "can_approve": user.can_approve,
        }
        record_event(conn, actor=CLI_ACTOR, action="user.create", detail=detail)
        return user

    user = _in_transaction(add)
    typer.echo(user.email)
    if password is None:
        err_console.print("No password set: this account can hold API keys but not sign in.")


@users_app.command("password")
def reset_password(
    email: str = typer.Argument(..., help="The account's email address.", show_default=False),
    password: str = typer.Option(
        ...,
        "--password",
        prompt="New password",
        confirmation_prompt=True,
        hide_input=True,
        help="The new password (12+ characters); asked for, unseen, when not given.",
    ),
) -> None:
    """Set a new password for an account (for a person who cannot reset it by mail).

    Every place where the account is signed in is signed out.

    Example: civicport users password ana@city.gov
    """

    def change(conn: sa.Connection) -> Principal:
        user = set_password(conn, email, password)
        if user is None:
            raise NotFound(f"No account for {email}")
        detail = {"email": user.email, "by": "operator"}
        record_event(conn, actor=CLI_ACTOR, action="account.password_reset", detail=detail)
        return user

    user = _in_transaction(change)
    typer.echo(user.email)
    err_console.print("Password changed; the account's sessions have ended.")


@keys_app.command("create")
def create_api_key(
    email: str = typer.Argument(..., help="The account the key acts for.", show_default=False),
) -> None:
    """Make an API key; prints the key id and the secret (shown only this once)."""

    def create(conn: sa.Connection) -> tuple[str, str]:
        key_id, secret = create_key(conn, email=email)
        detail = {"key_id": key_id, "email": email.strip().lower()}  # never the secret
        record_event(conn, actor=CLI_ACTOR, action="key.create", detail=detail)
        return key_id, secret

    key_id, secret = _in_transaction(create)
    typer.echo(f"{key_id} {secret}")
    err_console.print(
        "Key id and secret above: use them as the user name and password of HTTP Basic. "
        "The secret is not stored and cannot be shown again."
    )


@keys_app.command("revoke")
def revoke_api_key(
    key_id: str = typer.Argument(..., help="The key id to revoke (cpk_…).", show_default=False),
) -> None:
    """Revoke an API key: programs using it are refused (401) from their next request."""

    def revoke(conn: sa.Connection) -> bool:
        revoked = revoke_key(conn, key_id)
        if revoked:
            record_event(conn, actor=CLI_ACTOR, action="key.revoke", detail={"key_id": key_id})
        return revoked

    if not _in_transaction(revoke):
        fail(f"No key '{key_id}' in use: check the id (`civicport audit list --action key.create`)")
    err_console.print(f"Key {key_id} is revoked.", highlight=False)
