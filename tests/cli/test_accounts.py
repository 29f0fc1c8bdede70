"""`civicport users add|password` and `civicport keys create` against the test database."""

from __future__ import annotations

from typer.testing import CliRunner

from civicport.auth.accounts import user_by_email
from civicport.auth.audit import list_events
from civicport.auth.keys import principal_for_key
from civicport.auth.signin import sign_in
from civicport.cli import app


def test_add_a_publisher_and_make_a_key(cli, engine) -> None:
    added = cli("users", "add", "Ana@City.gov", "--role", "publisher", "--department", "Health")
    assert added.exit_code == 0, added.output
    assert added.stdout.strip() == "ana@city.gov"
    made = cli("keys", "create", "ana@city.gov")
    assert made.exit_code == 0, made.output
    key_id, secret = made.stdout.split()
    with engine.connect() as conn:
        principal = principal_for_key(conn, key_id, secret)
    assert principal is not None
    assert (principal.email, principal.role, principal.department) == (
        "ana@city.gov",
        "publisher",
        "Health",
    )


def test_bad_input_explains_itself(cli) -> None:
    assert cli("users", "add", "ana@city.gov", "--role", "root").exit_code == 2
    bad_email = cli("users", "add", "ana", "--role", "viewer")
    assert bad_email.exit_code == 1
    assert "not an email address" in bad_email.stderr
    no_account = cli("keys", "create", "ghost@city.gov")
    assert no_account.exit_code == 1
    assert "No account for ghost@city.gov" in no_account.stderr
    cli("users", "add", "ana@city.gov", "--role", "viewer")
    twice = cli("users", "add", "ANA@city.gov", "--role", "viewer")
    assert twice.exit_code == 1
    assert "already an account" in twice.stderr


# --- approvers and the operator's password reset (accounts helper) ------------------------------


def test_add_an_approver_and_reset_a_password(cli, engine) -> None:
    added = cli("users", "add", "bo@city.gov", "--role", "publisher", "--department", "Parks",
                "--approver", "--password", "first password 1")  # fmt: skip
    assert added.exit_code == 0, added.output
    with engine.connect() as conn:
        assert user_by_email(conn, "bo@city.gov").can_approve
        session = sign_in(conn, "bo@city.gov", "first password 1", key="k")
    assert session is not None
    changed = cli("users", "password", "BO@city.gov", "--password", "second password 2")
    assert changed.exit_code == 0, changed.output
    assert changed.stdout.strip() == "bo@city.gov"
    with engine.connect() as conn:
        assert sign_in(conn, "bo@city.gov", "first password 1", key="k") is None
        assert sign_in(conn, "bo@city.gov", "second password 2", key="k") is not None
        [event] = list_events(conn, action="account.password_reset")
    assert event.actor == "cli"
    assert event.detail == {"email": "bo@city.gov", "by": "operator"}


def test_password_is_asked_for_twice_when_not_given(cli_env, engine) -> None:
    runner = CliRunner()
    runner.invoke(app, ["users", "add", "cy@city.gov", "--role", "viewer"], env=cli_env)
    typed = runner.invoke(app, ["users", "password", "cy@city.gov"], env=cli_env,
                          input="third password 3\nthird password 3\n")  # fmt: skip
    assert typed.exit_code == 0, typed.output
    assert "third password 3" not in typed.stdout  # typed unseen
    with engine.connect() as conn:
        assert sign_in(conn, "cy@city.gov", "third password 3", key="k") is not None


def test_password_reset_bad_input(cli) -> None:
    ghost = cli("users", "password", "ghost@city.gov", "--password", "long enough pass")
    assert ghost.exit_code == 1
    assert "No account for ghost@city.gov" in ghost.stderr
    cli("users", "add", "di@city.gov", "--role", "viewer", "--password", "a fine password")
    short = cli("users", "password", "di@city.gov", "--password", "short")
    assert short.exit_code == 1
    assert "at least 12 characters" in short.stderr


def test_keys_revoke_stops_the_key_and_is_recorded(cli, engine) -> None:
    assert cli("users", "add", "ana@city.gov", "--role", "admin").exit_code == 0
    key_id, secret = cli("keys", "create", "ana@city.gov").stdout.split()
    revoked = cli("keys", "revoke", key_id)
    assert revoked.exit_code == 0, revoked.output
    with engine.connect() as conn:
        assert principal_for_key(conn, key_id, secret) is None
        assert list_events(conn, action="key.revoke")[0].detail == {"key_id": key_id}
    again = cli("keys", "revoke", key_id)
    assert again.exit_code == 1
    assert "No key" in again.output
