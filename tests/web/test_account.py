"""Staff accounts in the browser: sign-in and sessions, sign-out, CSRF on every form, rate limits,
password reset through a real SMTP server on loopback, and API keys made on the account page."""

from __future__ import annotations

import email
import re
import socket
import time
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from httpx import Response
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from civicport.app import create_app
from civicport.auth.accounts import create_user
from civicport.auth.audit import list_events
from civicport.auth.keys import create_key
from civicport.auth.sessions import SESSION_COOKIE, password_fingerprint
from civicport.config import Settings
from civicport.db.schema import api_keys, users
from civicport.web.routes.account import DEFAULT_NEXT, local_path

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple battery horse correct"
EMAIL = "pat@city.example"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def account(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        create_user(conn, email=EMAIL, role="publisher", department="Parks", password=PASSWORD)


def csrf_from(client: TestClient, path: str = "/account/sign-in") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = CSRF_FIELD.search(page.text)
    assert found is not None
    return found.group(1)


def sign_in(
    client: TestClient, email_address: str = EMAIL, password: str = PASSWORD, **extra: str
) -> Response:
    data = {"csrf_token": csrf_from(client), "email": email_address, "password": password, **extra}
    return client.post("/account/sign-in", data=data, follow_redirects=False)


def events(engine: sa.Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list_events(conn, action=action)


def key_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(api_keys)).scalar_one()


# --- signing in --------------------------------------------------------------------------------


@pytest.mark.usefixtures("account")
def test_sign_in_sets_a_session_that_opens_staff_pages(
    client: TestClient, engine: sa.Engine
) -> None:
    assert client.get("/").text.count('href="/account/sign-in') == 1  # the header's link
    answer = sign_in(client, "  Pat@City.Example ", next="/account")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/account"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Max-Age=43200" in cookie  # session_hours = 12
    assert "Secure" not in cookie  # plain http and no https site_url here
    page = client.get("/account")
    assert page.status_code == 200
    assert EMAIL in page.text
    assert "Publisher" in page.text
    assert "Parks" in page.text
    assert page.headers["cache-control"] == "no-store"
    home = client.get("/")
    assert EMAIL in home.text  # the header names who is signed in on every page
    assert 'action="/account/sign-out"' in home.text
    assert 'href="/manage"' in home.text
    [event] = events(engine, "account.sign_in")
    assert event.actor == EMAIL
    assert event.client == "testclient"


def test_the_session_cookie_is_secure_when_the_site_is_https(
    settings: Settings, engine: sa.Engine, account: None
) -> None:
    app = create_app(settings.model_copy(update={"site_url": "https://data.city.example"}))
    with TestClient(app, base_url="https://testserver") as client:
        assert "Secure" in sign_in(client).headers["set-cookie"]


@pytest.mark.usefixtures("account")
def test_the_default_next_page_is_manage(client: TestClient) -> None:
    assert sign_in(client).headers["location"] == DEFAULT_NEXT == "/manage"


@pytest.mark.usefixtures("account")
@pytest.mark.parametrize(
    "email_address", [EMAIL, "nobody@city.example"], ids=["wrong password", "unknown email"]
)
def test_a_wrong_password_or_unknown_email_get_the_same_401(
    client: TestClient, engine: sa.Engine, email_address: str
) -> None:
    answer = sign_in(client, email_address, "not the password at all")
    assert answer.status_code == 401
    assert "Wrong email or password" in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    assert "www-authenticate" not in answer.headers  # no browser password dialog
    assert client.get("/account").status_code == 401
    [event] = events(engine, "account.sign_in_failed")
    assert event.detail == {"email": email_address}
    assert "not the password" not in str(event.as_dict())
    assert events(engine, "account.sign_in") == []


def test_an_account_without_a_password_cannot_sign_in(
    client: TestClient, engine: sa.Engine
) -> None:
    with engine.begin() as conn:
        create_user(conn, email="robot@city.example", role="publisher")  # API keys only
    assert sign_in(client, "robot@city.example", "").status_code == 400
    assert sign_in(client, "robot@city.example", "anything at all").status_code == 401


@pytest.mark.usefixtures("account")
def test_an_empty_form_is_explained(client: TestClient, engine: sa.Engine) -> None:
    answer = sign_in(client, "", "")
    assert answer.status_code == 400
    assert "Enter your email address and your password." in answer.text
    assert events(engine, "account.sign_in_failed") == []


@pytest.mark.parametrize(
    ("asked", "goes_to"),
    [
        ("/account", "/account"),
        ("/d/abcd-1234?tab=data", "/d/abcd-1234?tab=data"),
        ("https://evil.example/", DEFAULT_NEXT),
        ("//evil.example/path", DEFAULT_NEXT),
        ("/\\evil.example", DEFAULT_NEXT),
        ("javascript:alert(1)", DEFAULT_NEXT),
        ("/ok\r\nSet-Cookie: x=1", DEFAULT_NEXT),
        ("", DEFAULT_NEXT),
    ],
)
def test_next_is_only_ever_a_path_on_this_site(asked: str, goes_to: str) -> None:
    assert local_path(asked) == goes_to


@pytest.mark.usefixtures("account")
def test_next_to_another_host_is_ignored(client: TestClient) -> None:
    page = client.get("/account/sign-in", params={"next": "https://evil.example/steal"})
    assert '<input type="hidden" name="next" value="/manage">' in page.text
    answer = sign_in(client, next="https://evil.example/steal")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/manage"
    assert sign_in(client, next="//evil.example").headers["location"] == "/manage"


# --- sessions that must read as signed out -----------------------------------------------------


def _session_cookie(client: TestClient, engine: sa.Engine, *, age_seconds: int) -> str:
    """A session cookie for the account signed as sessions.py signs, stamped `age_seconds` ago."""

    class Stamped(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    with engine.connect() as conn:
        row = conn.execute(sa.select(users.c.id, users.c.password_hash)).one()
    serializer = URLSafeTimedSerializer(
        client.app.state.signing_key, salt="civicport.session", signer=Stamped
    )
    return serializer.dumps({"u": row.id, "p": password_fingerprint(row.password_hash)})


@pytest.mark.usefixtures("account")
def test_forged_and_expired_cookies_read_as_signed_out(
    client: TestClient, engine: sa.Engine
) -> None:
    fresh = _session_cookie(client, engine, age_seconds=60)
    client.cookies.set(SESSION_COOKIE, fresh)
    assert client.get("/account").status_code == 200  # the way cookies are made here is right
    expired = _session_cookie(client, engine, age_seconds=13 * 3600)  # session_hours = 12
    forged = fresh[:-3] + ("AAA" if not fresh.endswith("AAA") else "BBB")
    other_key = URLSafeTimedSerializer("not the site key", salt="civicport.session").dumps(
        {"u": 1, "p": "0" * 16}
    )
    for cookie in (expired, forged, other_key, "garbage"):
        client.cookies.set(SESSION_COOKIE, cookie)
        page = client.get("/account")
        assert page.status_code == 401
        assert "Sign in to continue" in page.text
        assert 'href="/account/sign-in?next=%2Faccount"' in page.text
        assert EMAIL not in page.text


def test_an_anonymous_staff_page_offers_to_sign_in_and_come_back(client: TestClient) -> None:
    page = client.get("/account", params={"x": "1"})
    assert page.status_code == 401
    assert "text/html" in page.headers["content-type"]
    assert 'href="/account/sign-in?next=%2Faccount%3Fx%3D1"' in page.text
    assert "www-authenticate" not in page.headers


# --- CSRF --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("account")
@pytest.mark.parametrize("token", [None, "x" * 43], ids=["missing", "wrong"])
def test_posts_without_the_right_csrf_token_are_refused(
    client: TestClient, engine: sa.Engine, token: str | None
) -> None:
    def post(path: str, **data: str) -> Response:
        if token is not None:
            data["csrf_token"] = token
        return client.post(path, data=data, follow_redirects=False)

    refused = post("/account/sign-in", email=EMAIL, password=PASSWORD)
    assert refused.status_code == 403
    assert "did not come from this site" in refused.text
    assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    assert events(engine, "account.sign_in") == []
    assert sign_in(client).status_code == 303
    assert post("/account/keys").status_code == 403
    assert key_count(engine) == 0
    assert post("/account/sign-out").status_code == 403
    assert client.get("/account").status_code == 200  # still signed in
    assert events(engine, "account.sign_out") == []


@pytest.mark.usefixtures("account")
def test_a_multipart_form_is_read_too(client: TestClient) -> None:
    token = csrf_from(client)
    fields = {"csrf_token": token, "email": EMAIL, "password": PASSWORD, "next": "/account"}
    parts = {name: (None, value) for name, value in fields.items()}
    answer = client.post("/account/sign-in", files=parts, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/account"
    parts["csrf_token"] = (None, "y" * 43)
    assert client.post("/account/sign-in", files=parts).status_code == 403


def test_a_form_that_is_not_a_form_or_too_large_is_refused(client: TestClient) -> None:
    token = csrf_from(client)
    as_json = client.post("/account/sign-in", json={"csrf_token": token})
    assert as_json.status_code == 403
    huge = client.post("/account/sign-in", data={"csrf_token": token, "email": "x" * 20_000})
    assert huge.status_code == 413
    assert "too large" in huge.text


# --- rate limits -------------------------------------------------------------------------------


def test_failed_sign_ins_are_limited_per_address_and_per_account(
    settings: Settings, engine: sa.Engine, account: None
) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_sign_in": "3/hour"}))
    with TestClient(app, client=("10.0.0.1", 1000)) as first:
        for _ in range(5):  # successes never count
            assert sign_in(first).status_code == 303
        for _ in range(3):
            assert sign_in(first, password="wrong password!").status_code == 401
        refused = sign_in(first)  # the right password, but no more attempts now
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
        assert "Too many failed sign-ins" in refused.text
        assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
        assert sign_in(first, "other@city.example").status_code == 429  # same address
    with TestClient(app, client=("10.0.0.2", 1000)) as second:
        assert sign_in(second).status_code == 429  # same account, another address
        assert sign_in(second, "other@city.example").status_code == 401  # neither spent
    # The refused attempts were not even checked: no event for them.
    assert len(events(engine, "account.sign_in_failed")) == 4
    assert len(events(engine, "account.sign_in")) == 5


# --- signing out -------------------------------------------------------------------------------


@pytest.mark.usefixtures("account")
def test_sign_out_ends_the_session(client: TestClient, engine: sa.Engine) -> None:
    sign_in(client)
    page = client.get("/account")
    token = CSRF_FIELD.search(page.text)
    assert token is not None
    answer = client.post(
        "/account/sign-out", data={"csrf_token": token.group(1)}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    assert f'{SESSION_COOKIE}=""' in answer.headers["set-cookie"]
    assert "Max-Age=0" in answer.headers["set-cookie"]
    assert client.get("/account").status_code == 401
    assert 'href="/account/sign-in' in client.get("/").text
    [event] = events(engine, "account.sign_out")
    assert event.actor == EMAIL


# --- password reset by mail --------------------------------------------------------------------


class Mailbox:
    """aiosmtpd handler keeping every message the server receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on 127.0.0.1 and what it received."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def mail_client(
    settings: Settings, engine: sa.Engine, mailbox: tuple[Mailbox, int], account: None
) -> Iterator[TestClient]:
    configured = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox[1],
            "smtp_starttls": False,
            "mail_from": "portal@city.example",
            "site_name": "Springfield Data",
        }
    )
    with TestClient(create_app(configured)) as client:
        yield client


def ask_for_link(client: TestClient, email_address: str) -> Response:
    token = csrf_from(client, "/account/forgot")
    return client.post("/account/forgot", data={"csrf_token": token, "email": email_address})


def test_password_reset_by_mail_works_once_and_ends_old_sessions(
    mail_client: TestClient, mailbox: tuple[Mailbox, int], engine: sa.Engine
) -> None:
    client, box = mail_client, mailbox[0]
    assert sign_in(client).status_code == 303
    old_session = client.cookies.get(SESSION_COOKIE)
    assert old_session

    nobody = ask_for_link(client, "nobody@city.example")
    answer = ask_for_link(client, EMAIL)
    assert answer.status_code == nobody.status_code == 200
    said = "a link to choose a new password is on its way there"
    assert said in answer.text
    assert said in nobody.text
    assert len(box.messages) == 1  # none for the unknown address
    [mail] = box.messages
    assert mail["To"] == EMAIL
    assert mail["From"] == "portal@city.example"
    assert "Springfield Data" in mail["Subject"]
    body = mail.get_payload(decode=True).decode()
    link = re.search(r"http://testserver(/account/reset/\S+)", body)
    assert link is not None
    reset_path = link.group(1)

    form = client.get(reset_path)
    assert form.status_code == 200
    assert EMAIL in form.text
    assert form.headers["referrer-policy"] == "no-referrer"
    token = CSRF_FIELD.search(form.text)
    assert token is not None
    csrf = token.group(1)

    short = client.post(reset_path, data={"csrf_token": csrf, "password": "short",
                                          "password_again": "short"})  # fmt: skip
    assert short.status_code == 400
    assert "at least 12 characters" in short.text
    mismatch = client.post(reset_path, data={"csrf_token": csrf, "password": NEW_PASSWORD,
                                             "password_again": NEW_PASSWORD + "x"})  # fmt: skip
    assert mismatch.status_code == 400
    assert "not the same" in mismatch.text
    assert sign_in(client).status_code == 303  # nothing changed yet

    done = client.post(reset_path, data={"csrf_token": csrf, "password": NEW_PASSWORD,
                                         "password_again": NEW_PASSWORD})  # fmt: skip
    assert done.status_code == 200
    assert "Your password is changed" in done.text
    [event] = events(engine, "account.password_reset")
    assert event.actor == EMAIL

    assert sign_in(client).status_code == 401  # the old password
    assert sign_in(client, password=NEW_PASSWORD).status_code == 303
    again = client.get(reset_path)
    assert again.status_code == 400
    assert "expired or was already used" in again.text
    reused = client.post(reset_path, data={"csrf_token": csrf, "password": "yet another one!",
                                           "password_again": "yet another one!"})  # fmt: skip
    assert reused.status_code == 400
    assert sign_in(client, password="yet another one!").status_code == 401
    client.cookies.set(SESSION_COOKIE, old_session)
    assert client.get("/account").status_code == 401  # the old session ended


def test_a_forged_reset_link_is_refused(mail_client: TestClient) -> None:
    page = mail_client.get("/account/reset/eyJ1IjoxLCJwIjoiMDAwIn0.forged.signature")
    assert page.status_code == 400
    assert "Ask for a new link" in page.text
    assert 'name="password"' not in page.text


def test_reset_requests_are_rate_limited(
    settings: Settings, engine: sa.Engine, mailbox: tuple[Mailbox, int], account: None
) -> None:
    configured = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": mailbox[1], "smtp_starttls": False,
                "rate_limit_sign_in": "2/hour"}
    )  # fmt: skip
    with TestClient(create_app(configured)) as client:
        assert ask_for_link(client, EMAIL).status_code == 200
        assert ask_for_link(client, EMAIL).status_code == 200
        refused = ask_for_link(client, EMAIL)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
    assert len(mailbox[0].messages) == 2


def test_a_mail_server_that_fails_changes_nothing_the_person_sees(
    settings: Settings, engine: sa.Engine, account: None, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configured = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    with TestClient(create_app(configured)) as client:
        answer = ask_for_link(client, EMAIL)
    assert answer.status_code == 200
    assert "on its way" in answer.text
    assert "could not send the password-reset mail" in caplog.text
    assert "/account/reset/" not in caplog.text


def test_without_a_mail_server_the_page_says_to_ask_an_admin(client: TestClient) -> None:
    page = client.get("/account/forgot")
    assert page.status_code == 200
    assert "no mail server is configured" in page.text
    assert 'name="email"' not in page.text


# --- API keys on the account page --------------------------------------------------------------


def test_a_key_made_on_the_account_page_is_shown_once_and_writes(
    client: TestClient, engine: sa.Engine, make_dataset
) -> None:
    with engine.begin() as conn:
        create_user(conn, email="admin@city.example", role="admin", password=PASSWORD)
    dataset = make_dataset([("case_id", "text"), ("name", "text")], [("C1", "First")],
                           row_identifier="case_id")  # fmt: skip
    sign_in(client, "admin@city.example")
    page = client.get("/account")
    assert "You have no API keys." in page.text
    token = CSRF_FIELD.search(page.text)
    assert token is not None
    made = client.post("/account/keys", data={"csrf_token": token.group(1)})
    assert made.status_code == 200
    key_id = re.search(r'<code id="new-key-id">([^<]+)</code>', made.text)
    secret = re.search(r'<code id="new-key-secret">([^<]+)</code>', made.text)
    assert key_id is not None
    assert secret is not None
    assert made.headers["cache-control"] == "no-store"
    later = client.get("/account")
    assert key_id.group(1) in later.text  # listed with its date
    assert secret.group(1) not in later.text  # never shown again
    [event] = events(engine, "key.create")
    assert event.actor == "admin@city.example"
    assert event.detail["key_id"] == key_id.group(1)
    assert secret.group(1) not in str(event.as_dict())

    client.cookies.clear()
    write = client.post(
        f"/resource/{dataset}.json",
        json=[{"case_id": "C2", "name": "Second"}],
        auth=(key_id.group(1), secret.group(1)),
    )
    assert write.status_code == 200, write.text
    assert write.json()["Rows Created"] == 1
    wrong = client.post(
        f"/resource/{dataset}.json", json=[{"case_id": "C3"}], auth=(key_id.group(1), "nope")
    )
    assert wrong.status_code == 401
    assert len(client.get(f"/resource/{dataset}.json").json()) == 2


def test_a_key_revoked_on_the_account_page_stops_writing(
    client: TestClient, engine: sa.Engine, make_dataset
) -> None:
    with engine.begin() as conn:
        create_user(conn, email="admin@city.example", role="admin", password=PASSWORD)
        create_user(conn, email="other@city.example", role="admin", password=PASSWORD)
        key_id, secret = create_key(conn, email="admin@city.example")
        others_key, _ = create_key(conn, email="other@city.example")
    dataset = make_dataset([("case_id", "text")], [("C1",)], row_identifier="case_id")
    sign_in(client, "admin@city.example")
    token = csrf_from(client, "/account")
    # Someone else's key is no key of yours: 404, and it keeps working.
    foreign = client.post(f"/account/keys/{others_key}/revoke", data={"csrf_token": token})
    assert foreign.status_code == 404
    revoked = client.post(
        f"/account/keys/{key_id}/revoke", data={"csrf_token": token}, follow_redirects=False
    )
    assert (revoked.status_code, revoked.headers["location"]) == (303, "/account")
    assert "revoked" in client.get("/account").text
    [event] = events(engine, "key.revoke")
    assert (event.actor, event.detail) == ("admin@city.example", {"key_id": key_id})
    again = client.post(f"/account/keys/{key_id}/revoke", data={"csrf_token": token})
    assert again.status_code == 404
    client.cookies.clear()
    write = client.post(
        f"/resource/{dataset}.json", json=[{"case_id": "C2"}], auth=(key_id, secret)
    )
    assert write.status_code == 401
    assert len(client.get(f"/resource/{dataset}.json").json()) == 1
