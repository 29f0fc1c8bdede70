"""Every failure answers in SODA's error shape with the right status and code; never a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from civicport.app import create_app

MakeDataset = Callable[..., str]

SHAPE_KEYS = {"code", "errorCode", "error", "message", "data"}


def assert_soda_error(response: Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-error-code"] == code
    assert len(response.headers["x-socrata-requestid"]) == 32
    body = response.json()
    assert set(body) == SHAPE_KEYS
    assert body["code"] == body["errorCode"] == code
    assert body["error"] is True
    assert body["message"]
    return body


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"$where": "nope = 1"}, "query.soql.no-such-column"),
        ({"$where": "name = "}, "query.compiler.malformed"),
        ({"$select": "sum(name)"}, "query.soql.type-mismatch"),
        ({"$limit": "abc"}, "query.compiler.malformed"),
        ({"$limit": "-1"}, "query.compiler.malformed"),
        ({"$bogus": "1"}, "query.compiler.malformed"),
        ({"$query": "select name", "$limit": "1"}, "query.compiler.malformed"),
        ({"nope": "x"}, "query.soql.no-such-column"),
        ({"$where": "name = 'a' AND (" * 2000}, "query.compiler.malformed"),
    ],
)
def test_bad_queries_answer_400(client: TestClient, inspections: str, params, code) -> None:
    response = client.get(f"/resource/{inspections}.json", params=params)
    assert_soda_error(response, 400, code)


def test_no_such_column_names_it(client: TestClient, inspections: str) -> None:
    body = client.get(f"/resource/{inspections}.json", params={"$where": "nope = 1"}).json()
    assert body["data"]["column"] == "nope"


@pytest.mark.parametrize("dataset_id", ["abcd-2345", "songs", "ABCD-1234", "a" * 300])
def test_unknown_or_malformed_dataset_ids(client: TestClient, dataset_id: str) -> None:
    body = assert_soda_error(client.get(f"/resource/{dataset_id}.json"), 404, "dataset.missing")
    assert body["data"] == {"id": dataset_id}


def test_unsupported_format(client: TestClient, inspections: str) -> None:
    assert_soda_error(client.get(f"/resource/{inspections}.xml"), 406, "format.unsupported")


def test_query_longer_than_the_limit(settings, engine, inspections: str) -> None:
    app = create_app(settings.model_copy(update={"max_query_length": 1000}))
    with TestClient(app) as client:
        short = client.get(f"/resource/{inspections}.json", params={"$where": "name = 'x'"})
        assert short.status_code == 200
        where = "name = '" + "x" * 1000 + "'"
        response = client.get(f"/resource/{inspections}.json", params={"$where": where})
        body = assert_soda_error(response, 400, "invalid_request")
        assert body["data"]["limit"] == 1000


def test_long_queries_within_the_limit_get_clean_answers(
    client: TestClient, inspections: str
) -> None:
    # httpx caps URLs at 64 KB; the 100 KB case runs against uvicorn in test_sodapy.py.
    names = ", ".join(f"'n{i}'" for i in range(3000)) + ", 'Pizza Place'"
    listed = client.get(f"/resource/{inspections}.json", params={"$where": f"name in ({names})"})
    assert listed.status_code == 200
    assert [r["name"] for r in listed.json()] == ["Pizza Place"]
    chained = " OR ".join(f"name = 'n{i}'" for i in range(1800))
    response = client.get(f"/resource/{inspections}.json", params={"$where": chained})
    if response.status_code != 200:  # the parser may refuse a chain this deep, but cleanly
        assert_soda_error(response, 400, "query.execution.queryTooComplex")


def test_huge_limit_is_just_a_limit(client: TestClient, inspections: str) -> None:
    response = client.get(f"/resource/{inspections}.json", params={"$limit": "1000000000000"})
    assert response.status_code == 200
    assert len(response.json()) == 3
    too_big = client.get(f"/resource/{inspections}.json", params={"$limit": "9" * 40})
    assert too_big.status_code == 400


def test_unknown_path_and_method(client: TestClient, inspections: str) -> None:
    assert_soda_error(client.get("/no/such/thing"), 404, "not_found")
    assert_soda_error(client.delete(f"/api/views/{inspections}.json"), 405, "method_not_allowed")


def test_request_validation_errors_use_the_shape(client: TestClient) -> None:
    body = assert_soda_error(client.get("/api/catalog/v1?limit=abc"), 400, "invalid_request")
    assert "limit" in body["message"]


def test_cors_preflight(client: TestClient, inspections: str) -> None:
    response = client.options(
        f"/resource/{inspections}.json",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-App-Token",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "X-App-Token"


# Every door, by route: how to ask it about one dataset. The list is checked against the app's
# own routes (API and pages), so a new route fails test_every_route_is_a_known_door until it is
# here and the tests below prove it hides what an anonymous reader may not see.
DATASET_DOORS: dict[str, Callable[[str], list[str]]] = {
    "/resource/{dataset_id}.{fmt}": lambda i: [f"/resource/{i}.{f}" for f in FORMATS],
    "/resource/{dataset_id}": lambda i: [f"/resource/{i}"],
    "/resource/{dataset_id}/{row_id}.{fmt}": lambda i: [
        f"/resource/{i}/row-3.json",
        f"/resource/{i}/row-3.geojson",
    ],
    "/api/views/{dataset_id}.json": lambda i: [f"/api/views/{i}.json"],
    "/api/views/{dataset_id}/rows.csv": lambda i: [f"/api/views/{i}/rows.csv?accessType=DOWNLOAD"],
}
# Pages about one dataset: a hidden one is the same "not found" page as a dataset that never was.
PAGE_DOORS: dict[str, Callable[[str], list[str]]] = {
    "/d/{dataset_id}": lambda i: [f"/d/{i}", *[f"/d/{i}?tab={t}" for t in PAGE_TABS]],
}
# Doors that list datasets: their answers must not name, count or describe a hidden one.
LISTING_DOORS: dict[str, list[str]] = {
    "/api/catalog/v1": ["/api/catalog/v1", "/api/catalog/v1?q=payroll"],
    "/": ["/"],
    "/browse": ["/browse", "/browse?q=payroll", "/browse?sort=updated", "/browse?sort=views"],
    "/sitemap.xml": ["/sitemap.xml"],
    "/robots.txt": ["/robots.txt"],
    # The developers page and its form list no datasets (tests/web/test_developers.py).
    "/developers": [],
    "/developers/tokens": [],
}
# Paths that only write (their reads share the paths above); tests/api/test_producer.py proves
# they answer 401 without a key and 404 for a dataset the key's owner may not see.
WRITE_ONLY_DOORS = {"/resource/{dataset_id}/{row_id}"}
# Doors only admins may open (an admin's API key over HTTP Basic): tests/api/test_audit_api.py.
ADMIN_DOORS = {"/api/audit.{fmt}"}
FORMATS = ("json", "csv", "geojson")
PAGE_TABS = ("chart", "map", "api")
# Routes FastAPI adds to describe the API itself, and the folder of page assets.
FRAMEWORK_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/static"}


def route_paths(routes) -> set[str]:
    """Every path the app answers, also inside included routers (which recent FastAPI keeps
    as router objects instead of copying their routes)."""
    paths = set()
    for route in routes:
        included = getattr(route, "original_router", None)
        paths |= route_paths(included.routes) if included else {route.path}
    return paths


def test_every_route_is_a_known_door(app: FastAPI) -> None:
    routes = route_paths(app.routes) - FRAMEWORK_ROUTES
    known = (
        set(DATASET_DOORS) | set(PAGE_DOORS) | set(LISTING_DOORS) | WRITE_ONLY_DOORS | ADMIN_DOORS
    )
    assert routes == known


def test_public_datasets_come_out_of_every_door(client: TestClient, make_dataset) -> None:
    public = make_dataset(title="Open payroll")
    for urls in (*DATASET_DOORS.values(), *PAGE_DOORS.values()):
        for url in urls(public):
            assert client.get(url).status_code == 200, url
    for path, urls in LISTING_DOORS.items():
        for url in urls:
            if path != "/robots.txt":
                assert public in client.get(url).text, url


@pytest.mark.parametrize("audience", ["private", "internal"])
def test_non_public_datasets_are_missing_everywhere(
    client: TestClient, make_dataset: MakeDataset, audience: str
) -> None:
    hidden = make_dataset(title="Hidden payroll", audience=audience)
    for urls in DATASET_DOORS.values():
        for url in urls(hidden):
            body = assert_soda_error(client.get(url), 404, "dataset.missing")
            assert body["data"] == {"id": hidden}
    for urls in PAGE_DOORS.values():
        for url in urls(hidden):
            page = client.get(url)
            assert page.status_code == 404, url
            assert "Hidden payroll" not in page.text, url
    for urls in LISTING_DOORS.values():
        for url in urls:
            text = client.get(url).text
            assert hidden not in text, url
            assert "Hidden payroll" not in text, url
    catalog = client.get("/api/catalog/v1", params={"ids": hidden}).json()
    assert catalog["results"] == []
    assert catalog["resultSetSize"] == 0
    assert client.get("/api/catalog/v1", params={"q": "payroll"}).json()["resultSetSize"] == 0
    assert hidden not in client.get("/openapi.json").text
