"""Every answer (pages, API, files, errors) carries the security headers, set in one place."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response

from civicport.api.security import tile_source
from civicport.app import create_app
from civicport.config import Settings

PAGE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self' 'unsafe-eval'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def policy(response: Response) -> dict[str, str]:
    [header] = response.headers.get_list("content-security-policy")
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def assert_secured(response: Response) -> None:
    for name, value in {
        "x-frame-options": "DENY",
        "referrer-policy": "strict-origin-when-cross-origin",
        "x-content-type-options": "nosniff",
    }.items():
        assert response.headers.get_list(name) == [value], name  # once, from one place
    permissions = response.headers["permissions-policy"]
    assert "camera=()" in permissions
    assert "geolocation=()" in permissions


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/browse", 200),
        ("GET", "/account/sign-in", 200),
        ("GET", "/d/nope-nope", 404),
        ("GET", "/resource/{id}.json", 200),
        ("GET", "/resource/nope-nope.json", 404),
        ("GET", "/api/views/{id}.json", 200),
        ("GET", "/api/catalog/v1", 200),
        ("GET", "/static/css/site.css", 200),
        ("GET", "/sitemap.xml", 200),
        ("HEAD", "/resource/{id}.csv", 200),
        ("POST", "/resource/{id}.json", 401),
    ],
)
def test_every_kind_of_answer_is_secured(
    client: TestClient, inspections: str, method: str, path: str, status: int
) -> None:
    response = client.request(method, path.format(id=inspections), content=b"[]")
    assert response.status_code == status
    assert_secured(response)
    assert policy(response) == PAGE_POLICY
    assert "strict-transport-security" not in response.headers  # not served over https


def test_a_cors_preflight_is_secured(client: TestClient) -> None:
    response = client.options(
        "/resource/abcd-1234.json",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 200
    assert_secured(response)


def test_the_map_tile_host_may_serve_images(settings: Settings, engine: sa.Engine) -> None:
    tiles = settings.model_copy(
        update={"map_tile_url": "https://{s}.tiles.example.org/{z}/{x}/{y}.png"}
    )
    with TestClient(create_app(tiles)) as client:
        directives = policy(client.get("/"))
    assert directives["img-src"] == "'self' data: https://*.tiles.example.org"
    assert directives["connect-src"] == "'self'"  # Leaflet loads tiles as images only


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.basemaps.example.com/{z}/{x}/{y}.png", "https://*.basemaps.example.com"),
        ("http://tiles.local:8080/{z}/{x}/{y}.png", "http://tiles.local:8080"),
        ("/static/tiles/{z}/{x}/{y}.png", None),
        (None, None),
    ],
)
def test_tile_source(url: str | None, source: str | None) -> None:
    assert tile_source(url) == source


def test_https_sites_ask_for_https_every_time(settings: Settings, engine: sa.Engine) -> None:
    secure = settings.model_copy(update={"site_url": "https://data.city.example"})
    with TestClient(create_app(secure)) as client:
        for path in ("/", "/api/catalog/v1", "/static/css/site.css"):
            assert client.get(path).headers["strict-transport-security"] == "max-age=31536000"


def test_the_api_reference_may_load_its_cdn_code(client: TestClient) -> None:
    directives = policy(client.get("/docs"))
    assert "https://cdn.jsdelivr.net" in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "cdn.jsdelivr.net" not in policy(client.get("/openapi.json"))["script-src"]


def test_a_route_may_ask_for_a_stricter_referrer_policy(client: TestClient) -> None:
    page = client.get("/account/reset/not-a-token")
    assert page.status_code == 400
    assert page.headers.get_list("referrer-policy") == ["no-referrer"]
    assert policy(page) == PAGE_POLICY
