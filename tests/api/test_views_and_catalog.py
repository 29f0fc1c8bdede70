"""/api/views/{id}.json, the rows.csv export, /api/catalog/v1, the home page and the API docs."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from civicport.app import create_app
from civicport.config import Settings

MakeDataset = Callable[..., str]


def test_view_shape(client: TestClient, inspections: str) -> None:
    response = client.get(f"/api/views/{inspections}.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    view = response.json()
    assert view["id"] == inspections
    assert view["name"] == "Restaurant inspections"
    assert view["description"] == "Inspections of restaurants."
    assert view["category"] == "Health"
    assert view["tags"] == ["food", "restaurants"]
    assert view["licenseId"] == "CC0_10"
    assert view["license"] == {
        "name": "Public Domain",
        "termsLink": "https://creativecommons.org/publicdomain/zero/1.0/",
    }
    assert view["assetType"] == "dataset"
    assert view["newBackend"] is True
    for stamp in ("createdAt", "rowsUpdatedAt", "viewLastModified", "publicationDate"):
        assert isinstance(view[stamp], int)
        assert view[stamp] > 1_600_000_000
    assert view["metadata"]["custom_fields"] == {"Dataset Info": {"Agency": "Health"}}
    assert view["metadata"]["attachments"] == []
    columns = {c["fieldName"]: c for c in view["columns"]}
    assert [c["position"] for c in view["columns"]] == list(range(1, 9))
    assert columns["inspected"]["dataTypeName"] == "calendar_date"
    assert columns["stamp"]["dataTypeName"] == "date"
    assert columns["passed"]["dataTypeName"] == "checkbox"
    assert columns["location"]["renderTypeName"] == "point"
    assert columns["name"]["name"] == "Name"
    assert "rowIdentifier" not in view["metadata"]


def test_view_names_the_row_identifier(client: TestClient, make_dataset: MakeDataset) -> None:
    dataset = make_dataset(
        [("permit", "text"), ("fee", "number")], [("A", 1)], row_identifier="permit"
    )
    view = client.get(f"/api/views/{dataset}.json").json()
    assert view["metadata"]["rowIdentifier"] == view["columns"][0]["id"]
    assert view["rowIdentifierColumnId"] == view["columns"][0]["id"]


def test_rows_csv_export(client: TestClient, inspections: str) -> None:
    response = client.get(f"/api/views/{inspections}/rows.csv", params={"accessType": "DOWNLOAD"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=UTF-8"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "Name", "Score", "Ratio", "Passed", "Inspected", "Stamp", "Location", "Website"
    ]  # fmt: skip
    assert rows[1][4] == "01/02/2019 08:00:00 AM"
    assert rows[1][5] == "01/02/2019 01:00:00 PM"
    assert rows[1][6] == "POINT (-72.68 41.76)"
    assert [r[0] for r in rows[1:]] == ['Joe\'s "Diner"', "Pizza Place", "Taco Stand"]


def test_rows_csv_export_streams_every_row(client: TestClient, make_dataset: MakeDataset) -> None:
    dataset = make_dataset([("n", "number")], [(i,) for i in range(4321)])
    response = client.get(f"/api/views/{dataset}/rows.csv?accessType=DOWNLOAD")
    values = [int(r[0]) for r in list(csv.reader(io.StringIO(response.text)))[1:]]
    assert values == list(range(4321))
    assert client.app.state.engine.pool.checkedout() == 0


@pytest.fixture
def catalog(make_dataset: MakeDataset) -> list[str]:
    """Seven public datasets (categories and tags vary) and one private one."""
    ids = [
        make_dataset(
            [("a", "text")],
            [("x",)],
            title=f"Dataset {i} {'trash' if i % 2 else 'parks'}",
            category="Environment" if i < 3 else "Transport",
            tags=("weekly",) if i % 3 == 0 else (),
        )
        for i in range(7)
    ]
    make_dataset([("a", "text")], [("x",)], title="Secret trash", audience="private")
    return ids


def test_catalog_shape(client: TestClient, catalog: list[str]) -> None:
    response = client.get("/api/catalog/v1")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["resultSetSize"] == 7
    assert set(body) >= {"results", "resultSetSize", "timings"}
    result = body["results"][0]
    resource = result["resource"]
    assert resource["type"] == "dataset"
    assert resource["id"] in catalog
    assert resource["columns_field_name"] == ["a"]
    assert resource["columns_datatype"] == ["Text"]
    assert resource["updatedAt"].endswith("Z")
    assert set(result["classification"]) >= {"categories", "tags", "domain_category", "domain_tags"}
    assert result["metadata"]["domain"] == "testserver"
    assert result["permalink"] == f"http://testserver/d/{resource['id']}"
    assert result["link"].endswith(f"/{resource['id']}")


def test_catalog_paging_is_exact(client: TestClient, catalog: list[str]) -> None:
    seen = []
    for offset in range(0, 9, 3):
        page = client.get("/api/catalog/v1", params={"limit": 3, "offset": offset}).json()
        assert page["resultSetSize"] == 7
        assert len(page["results"]) == min(3, 7 - offset)
        seen += [r["resource"]["id"] for r in page["results"]]
    assert sorted(seen) == sorted(catalog)
    past = client.get("/api/catalog/v1", params={"offset": 7}).json()
    assert past["results"] == []


def test_catalog_filters(client: TestClient, catalog: list[str]) -> None:
    def ids(**params) -> set[str]:
        return {
            r["resource"]["id"]
            for r in client.get("/api/catalog/v1", params=params).json()["results"]
        }

    assert ids(q="trash") == {catalog[1], catalog[3], catalog[5]}
    assert ids(categories="Environment") == set(catalog[:3])
    assert ids(tags="weekly") == {catalog[0], catalog[3], catalog[6]}
    assert ids(ids=[catalog[2], catalog[4]]) == {catalog[2], catalog[4]}
    assert ids(domains="elsewhere.example", q="trash", categories="Transport") == {
        catalog[3], catalog[5]
    }  # fmt: skip
    assert ids(only="map") == set()
    assert ids(only="datasets") == set(catalog)


def test_catalog_rejects_windows_past_10000(client: TestClient) -> None:
    assert client.get("/api/catalog/v1", params={"limit": 10001}).status_code == 400
    assert client.get("/api/catalog/v1", params={"offset": -1}).status_code == 400


def test_openapi_describes_the_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/resource/{dataset_id}.{fmt}",
        "/resource/{dataset_id}/{row_id}.{fmt}",
        "/api/views/{dataset_id}.json",
        "/api/views/{dataset_id}/rows.csv",
        "/api/catalog/v1",
    ):
        assert spec["paths"][path]["get"]["summary"]
    names = {p["name"] for p in spec["paths"]["/resource/{dataset_id}.{fmt}"]["get"]["parameters"]}
    assert {"dataset_id", "fmt", "$select", "$where", "$order", "$limit"} <= names
    assert client.get("/docs").status_code == 200


def test_create_app_touches_nothing_until_started(tmp_path) -> None:
    settings = Settings(home=tmp_path / "never", database_url=None)
    create_app(settings)
    assert not (tmp_path / "never").exists()
