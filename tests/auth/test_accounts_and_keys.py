"""Staff accounts and API keys on real storage: hashed, checked, and refused when wrong."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from civicport.auth.accounts import create_user, user_by_email
from civicport.auth.keys import create_key, principal_for_key
from civicport.auth.passwords import password_matches
from civicport.auth.principal import Principal
from civicport.db.schema import api_keys, users
from civicport.errors import Conflict, InvalidUpload, NotFound


def test_an_account_keeps_only_an_argon2_hash_of_its_password(engine) -> None:
    with engine.begin() as conn:
        ana = create_user(
            conn, email=" Ana@City.GOV ", role="publisher", password="a long passphrase",
            department="Health",
        )  # fmt: skip
        stored = conn.execute(sa.select(users.c.password_hash)).scalar_one()
    assert ana == Principal(ana.user_id, "ana@city.gov", "publisher", "Health")
    assert stored.startswith("$argon2id$")
    assert "passphrase" not in stored
    assert password_matches(stored, "a long passphrase")
    assert not password_matches(stored, "a long passphrasE")
    assert not password_matches(None, "")


@pytest.mark.parametrize(
    ("values", "error", "says"),
    [
        ({"email": "not-an-email", "role": "admin"}, InvalidUpload, "not an email"),
        ({"email": "a@b.org", "role": "root"}, InvalidUpload, "Unknown role"),
        ({"email": "a@b.org", "role": "viewer", "password": "short"}, InvalidUpload, "12"),
        ({"email": "TAKEN@b.org", "role": "viewer"}, Conflict, "already an account"),
    ],
)
def test_bad_accounts_are_refused(engine, values, error, says) -> None:
    with engine.begin() as conn:
        create_user(conn, email="taken@b.org", role="viewer")
    with pytest.raises(error, match=says), engine.begin() as conn:
        create_user(conn, **values)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one() == 1


def test_a_key_authenticates_its_owner_and_nothing_else(engine) -> None:
    with engine.begin() as conn:
        owner = create_user(conn, email="bot@city.gov", role="admin")
        key_id, secret = create_key(conn, email="BOT@city.gov")
        other_id, _ = create_key(conn, email="bot@city.gov")
    with engine.connect() as conn:
        assert principal_for_key(conn, key_id, secret) == owner
        assert principal_for_key(conn, key_id, secret + "x") is None
        assert principal_for_key(conn, other_id, secret) is None
        assert principal_for_key(conn, "cpk_unknown", secret) is None
        stored = conn.execute(sa.select(api_keys.c.secret_sha256)).scalars().all()
    assert secret not in stored
    assert len(secret) >= 40


def test_revoked_keys_stop_working(engine) -> None:
    with engine.begin() as conn:
        create_user(conn, email="bot@city.gov", role="admin")
        key_id, secret = create_key(conn, email="bot@city.gov")
        conn.execute(api_keys.update().values(revoked_at=sa.func.now()))
    with engine.connect() as conn:
        assert principal_for_key(conn, key_id, secret) is None


def test_keys_need_an_account(engine) -> None:
    with pytest.raises(NotFound, match="No account"), engine.begin() as conn:
        create_key(conn, email="ghost@city.gov")
    with pytest.raises(NotFound), engine.connect() as conn:
        user_by_email(conn, "ghost@city.gov")
