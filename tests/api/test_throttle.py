"""Rate limits on anonymous reads and app tokens (soda.md §7): 429 with Retry-After, SODA's
error shape on the API and a page on pages, separate budgets per address and per token."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from civicport.app import create_app
from civicport.auth.tokens import is_app_token, register_app_token, revoke_app_token
from civicport.config import Settings

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def small_app(settings: Settings, engine: sa.Engine) -> FastAPI:
    return create_app(
        settings.model_copy(
            update={"rate_limit_anonymous": "3/hour", "rate_limit_app_token": "5/hour"}
        )
    )


def client_at(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, client=(address, 123))


@pytest.fixture
def anonymous(small_app: FastAPI) -> Iterator[TestClient]:
    with client_at(small_app, "1.2.3.4") as client:
        yield client


def new_token(engine: sa.Engine) -> str:
    with engine.begin() as conn:
        return register_app_token(conn, app_name="Test app", email="dev@example.org")


def assert_throttled_json(response: Any) -> dict[str, Any]:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert body["code"] == body["errorCode"] == "too-many-requests"
    assert body["error"] is True
    assert response.headers["X-Error-Code"] == "too-many-requests"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return body


def test_anonymous_reads_are_throttled_in_sodas_shape(anonymous: TestClient, make_dataset) -> None:
    dataset = make_dataset()
    for url in (f"/resource/{dataset}.json", f"/api/views/{dataset}.json", "/api/catalog/v1"):
        assert anonymous.get(url).status_code == 200, url
    body = assert_throttled_json(anonymous.get(f"/resource/{dataset}.json"))
    assert "3/hour" in body["message"]
    assert "/developers" in body["message"]
    assert body["data"]["limit"] == "3/hour"
    assert_throttled_json(anonymous.get(f"/resource/{dataset}.csv"))
    assert anonymous.head(f"/resource/{dataset}.json").status_code == 429


def test_pages_are_throttled_with_a_page(anonymous: TestClient, make_dataset) -> None:
    dataset = make_dataset()
    for url in ("/", "/browse", f"/d/{dataset}"):
        assert anonymous.get(url).status_code == 200, url
    page = anonymous.get("/browse?q=x")
    assert page.status_code == 429
    assert int(page.headers["Retry-After"]) >= 1
    assert page.headers["content-type"].startswith("text/html")
    assert "too many requests" in page.text
    spanish = anonymous.get("/", headers={"Accept-Language": "es"})
    assert spanish.status_code == 429
    assert "demasiadas solicitudes" in spanish.text


def test_static_files_docs_and_writes_are_not_counted(anonymous: TestClient) -> None:
    for _ in range(6):
        assert anonymous.get("/static/css/site.css").status_code == 200
        assert anonymous.get("/openapi.json").status_code == 200
        assert anonymous.get("/docs").status_code == 200
        assert anonymous.get("/robots.txt").status_code == 200
        assert anonymous.get("/developers").status_code == 200
    assert anonymous.get("/api/catalog/v1").status_code == 200


def test_a_registered_token_lifts_the_limit(
    anonymous: TestClient, engine: sa.Engine, make_dataset
) -> None:
    dataset = make_dataset()
    url = f"/resource/{dataset}.json"
    for _ in range(3):
        anonymous.get(url)
    assert_throttled_json(anonymous.get(url))
    token = new_token(engine)
    for _ in range(3):  # header, any spelling of it, or the $$app_token parameter
        assert anonymous.get(url, headers={"X-App-Token": token}).status_code == 200
    assert anonymous.get(url, headers={"X-App-token": token}).status_code == 200
    assert anonymous.get(url, params={"$$app_token": token}).status_code == 200
    body = assert_throttled_json(anonymous.get(url, headers={"X-App-Token": token}))
    assert "5/hour" in body["message"]


def test_an_unknown_token_is_refused(anonymous: TestClient, make_dataset) -> None:
    dataset = make_dataset()
    for attempt in ({"headers": {"X-App-Token": "NotARegisteredToken123"}},
                    {"params": {"$$app_token": "NotARegisteredToken123"}},
                    {"headers": {"X-App-Token": "bad token!"}}):  # fmt: skip
        response = anonymous.get(f"/resource/{dataset}.json", **attempt)
        assert response.status_code == 403
        body = response.json()
        assert body["code"] == "permission_denied"
        assert "not registered" in body["message"]
    page = anonymous.get("/browse", headers={"X-App-Token": "NotARegisteredToken123"})
    assert page.status_code == 403
    assert "not registered" in page.text


def test_a_revoked_token_is_refused(anonymous: TestClient, engine: sa.Engine) -> None:
    token = new_token(engine)
    assert anonymous.get("/api/catalog/v1", headers={"X-App-Token": token}).status_code == 200
    with engine.begin() as conn:
        assert revoke_app_token(conn, token)
        assert not is_app_token(conn, token)
    assert anonymous.get("/api/catalog/v1", headers={"X-App-Token": token}).status_code == 403


def test_each_address_has_its_own_budget(small_app: FastAPI) -> None:
    with client_at(small_app, "1.2.3.4") as first, client_at(small_app, "5.6.7.8") as second:
        for _ in range(3):
            assert first.get("/api/catalog/v1").status_code == 200
        assert first.get("/api/catalog/v1").status_code == 429
        assert second.get("/api/catalog/v1").status_code == 200


def test_a_token_budget_is_shared_across_addresses(small_app: FastAPI, engine: sa.Engine) -> None:
    token = new_token(engine)
    headers = {"X-App-Token": token}
    with client_at(small_app, "1.2.3.4") as first, client_at(small_app, "5.6.7.8") as second:
        for client in (first, second, first, second, first):
            assert client.get("/api/catalog/v1", headers=headers).status_code == 200
        assert second.get("/api/catalog/v1", headers=headers).status_code == 429


def test_default_limits_do_not_throttle_ordinary_use(client: TestClient) -> None:
    for _ in range(50):
        assert client.get("/api/catalog/v1").status_code == 200


def test_empty_limit_means_no_limit(settings: Settings, engine: sa.Engine) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_anonymous": ""}))
    with client_at(app, "1.2.3.4") as client:
        for _ in range(20):
            assert client.get("/api/catalog/v1").status_code == 200


def test_bad_limits_are_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match="not a rate limit"):
        Settings(rate_limit_anonymous="lots")


def redis_is_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.mark.skipif(not redis_is_up(), reason="no Redis on 127.0.0.1:6379")
def test_redis_storage_is_shared_by_app_processes(settings: Settings, engine: sa.Engine) -> None:
    limited = settings.model_copy(update={"rate_limit_anonymous": "3/hour", "redis_url": REDIS_URL})
    # Two apps stand for two processes; a fresh address keeps this run's counters its own.
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    address = f"{address}-{uuid.uuid4().hex[:8]}"
    first_app, second_app = create_app(limited), create_app(limited)
    with client_at(first_app, address) as first, client_at(second_app, address) as second:
        assert first.get("/api/catalog/v1").status_code == 200
        assert second.get("/api/catalog/v1").status_code == 200
        assert first.get("/api/catalog/v1").status_code == 200
        assert_throttled_json(second.get("/api/catalog/v1"))
        assert_throttled_json(first.get("/api/catalog/v1"))


def test_unreachable_redis_lets_requests_through(settings: Settings, engine: sa.Engine) -> None:
    broken = settings.model_copy(
        update={"rate_limit_anonymous": "1/hour", "redis_url": "redis://127.0.0.1:1/0"}
    )
    with client_at(create_app(broken), "1.2.3.4") as client:
        for _ in range(3):
            assert client.get("/api/catalog/v1").status_code == 200
