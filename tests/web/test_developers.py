"""/developers: the limits explained and app tokens registered in the browser, behind a
double-submit CSRF token, with input checked and registrations rate-limited."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from civicport.app import create_app
from civicport.config import Settings
from civicport.db.schema import app_tokens

CSRF_COOKIE = "civicport_csrf"


def csrf_from(client: TestClient) -> str:
    page = client.get("/developers")
    assert page.status_code == 200
    field = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert field is not None
    assert client.cookies.get(CSRF_COOKIE) == field.group(1)
    return field.group(1)


def token_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(app_tokens)).scalar_one()


def test_the_page_explains_the_limits_and_sets_a_strict_cookie(client: TestClient) -> None:
    page = client.get("/developers")
    assert page.status_code == 200
    assert "each address may make 1,000 requests per hour" in page.text
    assert "each app may make 10,000 requests per hour" in page.text
    spanish = client.get("/developers", params={"lang": "es"}).text
    assert "1000 solicitudes por hora" in spanish or "1.000 solicitudes por hora" in spanish
    assert "X-App-Token" in page.text
    assert "Retry-After" in page.text
    cookie = page.headers["set-cookie"]
    assert f"{CSRF_COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain http here; https requests get Secure
    assert 'href="/developers"' in client.get("/").text  # linked from the footer
    spanish = client.get("/developers", headers={"Accept-Language": "es"})
    assert "Registrar un token de aplicación" in spanish.text


def test_the_cookie_is_secure_over_https(settings: Settings, engine: sa.Engine) -> None:
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        assert "Secure" in client.get("/developers").headers["set-cookie"]


def test_a_registered_token_is_shown_once_and_works(
    client: TestClient, engine: sa.Engine, make_dataset
) -> None:
    dataset = make_dataset()
    csrf = csrf_from(client)
    page = client.post(
        "/developers/tokens",
        data={"csrf_token": csrf, "app_name": "Bus tracker", "email": "dev@example.org"},
    )
    assert page.status_code == 200
    token = re.search(r'<code id="new-token">([^<]+)</code>', page.text)
    assert token is not None
    token_text = token.group(1)
    assert 20 <= len(token_text) <= 32
    assert f"X-App-Token: {token_text}" in page.text
    assert "from sodapy import Socrata" in page.text
    assert page.headers["cache-control"] == "no-store"
    with engine.connect() as conn:
        row = conn.execute(sa.select(app_tokens)).one()
    assert (row.token, row.app_name, row.contact_email) == (
        token_text,
        "Bus tracker",
        "dev@example.org",
    )
    answer = client.get(f"/resource/{dataset}.json", headers={"X-App-Token": token_text})
    assert answer.status_code == 200
    assert token_text not in client.get("/developers").text  # shown once


@pytest.mark.parametrize(
    ("cookie", "field"), [(None, None), ("abc123abc123", None), (None, "abc123abc123"),
                      ("abc123abc123", "xyz789xyz789")],
)  # fmt: skip
def test_a_post_without_matching_csrf_tokens_is_refused(
    client: TestClient, engine: sa.Engine, cookie: str | None, field: str | None
) -> None:
    client.cookies.clear()
    if cookie is not None:
        client.cookies.set(CSRF_COOKIE, cookie)
    data = {"app_name": "Sneaky", "email": "dev@example.org"}
    if field is not None:
        data["csrf_token"] = field
    page = client.post("/developers/tokens", data=data)
    assert page.status_code == 403
    assert "did not come from this site" in page.text
    assert token_count(engine) == 0


@pytest.mark.parametrize(
    ("name", "email", "says"),
    [
        ("Bus tracker", "not-an-email", "is not an email address"),
        ("Bus tracker", "a@b", "is not an email address"),
        ("Bus tracker", "", "Give an email address"),
        ("", "dev@example.org", "Give your app a name"),
        ("   ", "dev@example.org", "Give your app a name"),
        ("x" * 101, "dev@example.org", "too long"),
    ],
)
def test_bad_input_answers_400_saying_what_is_wrong(
    client: TestClient, engine: sa.Engine, name: str, email: str, says: str
) -> None:
    csrf = csrf_from(client)
    page = client.post(
        "/developers/tokens", data={"csrf_token": csrf, "app_name": name, "email": email}
    )
    assert page.status_code == 400
    assert says in page.text
    assert token_count(engine) == 0


def test_bad_input_is_explained_in_spanish(client: TestClient) -> None:
    csrf = csrf_from(client)
    page = client.post(
        "/developers/tokens",
        data={"csrf_token": csrf, "app_name": "App", "email": "nope"},
        headers={"Accept-Language": "es"},
    )
    assert page.status_code == 400
    assert "no es una dirección de correo" in page.text


def test_registrations_are_rate_limited_per_address(settings: Settings, engine: sa.Engine) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_token_registrations": "2/hour"}))
    with TestClient(app, client=("1.2.3.4", 123)) as client:
        csrf = csrf_from(client)
        data = {"csrf_token": csrf, "app_name": "App", "email": "dev@example.org"}
        assert client.post("/developers/tokens", data=data).status_code == 200
        assert client.post("/developers/tokens", data=data).status_code == 200
        refused = client.post("/developers/tokens", data=data)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
    with TestClient(app, client=("5.6.7.8", 123)) as other:
        csrf = csrf_from(other)
        data = {"csrf_token": csrf, "app_name": "App", "email": "dev@example.org"}
        assert other.post("/developers/tokens", data=data).status_code == 200
    assert token_count(engine) == 3
