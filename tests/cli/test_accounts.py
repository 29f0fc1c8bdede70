"""`civicport users add` and `civicport keys create` against the test database."""

from __future__ import annotations

from civicport.auth.keys import principal_for_key


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
