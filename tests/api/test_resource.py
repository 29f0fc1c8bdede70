"""GET /resource/{id}: SODA 2.1 bytes, headers, paging and conditional requests, both backends."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import orjson
from fastapi.testclient import TestClient

from civicport.catalog.service import import_table
from civicport.ingest.records import ColumnSpec, ParsedTable

MakeDataset = Callable[..., str]


def test_json_body_and_headers(client: TestClient, inspections: str) -> None:
    response = client.get(f"/resource/{inspections}.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    body = response.content
    assert body.startswith(b'[{"name":"Joe\'s \\"Diner\\"","score":"92","ratio":0.5,"passed":true,')
    assert body.count(b"\n,") == 2
    assert body.endswith(b"}]\n")
    rows = orjson.loads(body)
    assert rows[1] == {
        "name": "Pizza Place",
        "score": "75.5",
        "ratio": 1.25,
        "passed": False,
        "inspected": "2020-05-06T00:00:00.000",
    }
    assert rows[0]["stamp"] == "2019-01-02T13:00:00.000Z"
    assert rows[0]["location"] == {"type": "Point", "coordinates": [-72.68, 41.76]}
    assert rows[0]["website"] == {"url": "http://joes.example"}
    assert rows[2] == {
        "name": "Taco Stand",
        "location": {"type": "Point", "coordinates": [-72.7, 41.7]},
    }
    headers = response.headers
    assert orjson.loads(headers["x-soda2-fields"]) == [
        "name", "score", "ratio", "passed", "inspected", "stamp", "location", "website"
    ]  # fmt: skip
    assert orjson.loads(headers["x-soda2-types"]) == [
        "text", "number", "double", "boolean", "floating_timestamp", "fixed_timestamp",
        "point", "url",
    ]  # fmt: skip
    assert headers["etag"].startswith('"')
    assert headers["etag"].endswith('"')
    assert headers["last-modified"].endswith(" GMT")
    assert headers["access-control-allow-origin"] == "*"
    assert len(headers["x-socrata-requestid"]) == 32


def test_without_extension_json_or_by_accept(client: TestClient, inspections: str) -> None:
    plain = client.get(f"/resource/{inspections}")
    assert plain.headers["content-type"] == "application/json;charset=utf-8"
    assert len(plain.json()) == 3
    as_csv = client.get(f"/resource/{inspections}", headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"] == "text/csv; charset=UTF-8"


def test_csv_body(client: TestClient, inspections: str) -> None:
    response = client.get(f"/resource/{inspections}.csv", params={"$order": "name"})
    assert response.headers["content-type"] == "text/csv; charset=UTF-8"
    assert "x-soda2-fields" in response.headers
    lines = response.text.split("\n")
    assert lines[0] == '"name","score","ratio","passed","inspected","stamp","location","website"'
    assert lines[1] == (
        '"Joe\'s ""Diner""","92","0.5","true","2019-01-02T08:00:00.000",'
        '"2019-01-02T13:00:00.000Z","POINT (-72.68 41.76)","http://joes.example"'
    )
    assert lines[2] == '"Pizza Place","75.5","1.25","false","2020-05-06T00:00:00.000",,,'
    assert lines[4] == ""
    bom = client.get(f"/resource/{inspections}.csv", params={"$$bom": "true"})
    assert bom.content.startswith(b'\xef\xbb\xbf"name"')


def test_geojson_body(client: TestClient, inspections: str) -> None:
    response = client.get(f"/resource/{inspections}.geojson", params={"$select": "name, location"})
    assert response.headers["content-type"] == "application/vnd.geo+json;charset=utf-8"
    doc = response.json()
    assert doc["type"] == "FeatureCollection"
    assert doc["crs"] == {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    assert doc["features"][0] == {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-72.68, 41.76]},
        "properties": {"name": 'Joe\'s "Diner"'},
    }
    assert doc["features"][1]["geometry"] is None


def test_soql_select_where_order_and_system_fields(client: TestClient, inspections: str) -> None:
    response = client.get(
        f"/resource/{inspections}.json",
        params={"$select": ":id, name, score", "$where": "score > 80 OR score IS NULL",
                "$order": "name DESC"},
    )  # fmt: skip
    rows = response.json()
    assert [r["name"] for r in rows] == ["Taco Stand", 'Joe\'s "Diner"']
    assert rows[0][":id"].startswith("row-")
    assert orjson.loads(response.headers["x-soda2-types"]) == ["row_identifier", "text", "number"]
    filtered = client.get(f"/resource/{inspections}.json", params={"name": "Pizza Place"})
    assert [r["name"] for r in filtered.json()] == ["Pizza Place"]


def test_aggregates_are_strings(client: TestClient, inspections: str) -> None:
    rows = client.get(f"/resource/{inspections}.json", params={"$select": "count(*)"}).json()
    assert rows == [{"count": "3"}]


def test_default_limit_1000_in_id_order_and_big_limit(
    client: TestClient, make_dataset: MakeDataset
) -> None:
    dataset = make_dataset([("n", "number")], [(i,) for i in range(2500)])
    first = client.get(f"/resource/{dataset}.json").json()
    assert [int(r["n"]) for r in first] == list(range(1000))
    rest = client.get(f"/resource/{dataset}.json", params={"$offset": "1000", "$limit": "5"})
    assert [int(r["n"]) for r in rest.json()] == [1000, 1001, 1002, 1003, 1004]
    # More rows than one batch: streamed, complete, in order, nothing repeated.
    everything = client.get(f"/resource/{dataset}.csv", params={"$limit": "1000000000000"})
    assert everything.status_code == 200
    values = [int(r[0]) for r in list(csv.reader(io.StringIO(everything.text)))[1:]]
    assert values == list(range(2500))
    assert client.get(f"/resource/{dataset}.json", params={"$limit": "0"}).content == b"[]\n"
    assert client.app.state.engine.pool.checkedout() == 0


def test_streamed_json_is_valid_and_gzips(client: TestClient, make_dataset: MakeDataset) -> None:
    dataset = make_dataset([("t", "text")], [(f"row {i}",) for i in range(4500)])
    response = client.get(
        f"/resource/{dataset}.json",
        params={"$limit": "5000"},
        headers={"Accept-Encoding": "gzip"},
    )
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["access-control-allow-origin"] == "*"
    rows = response.json()  # httpx has already decompressed it
    assert len(rows) == 4500
    assert rows[-1] == {"t": "row 4499"}
    raw = client.get(
        f"/resource/{dataset}.json",
        params={"$limit": "5000"},
        headers={"Accept-Encoding": "identity"},
    )
    assert "content-encoding" not in raw.headers
    assert raw.json() == rows


def test_conditional_requests(client: TestClient, inspections: str, engine) -> None:
    url = f"/resource/{inspections}.json"
    first = client.get(url, params={"$order": "name"})
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = client.get(url, params={"$order": "name"}, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    weak = client.get(url, params={"$order": "name"}, headers={"If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304
    since = client.get(url, params={"$order": "name"}, headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    other_query = client.get(url, params={"$order": "score"}, headers={"If-None-Match": etag})
    assert other_query.status_code == 200
    assert (
        client.get(url, params={"$order": "name"}, headers={"If-None-Match": '"x"'}).status_code
        == 200
    )
    # New data: the same query gets a new ETag.
    import_table(
        engine,
        ParsedTable([ColumnSpec("name", "Name", "text")], iter([("New Cafe",)])),
        metadata=None,
        dataset_id=inspections,
        mode="append",
    )
    changed = client.get(url, params={"$order": "name"}, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert len(changed.json()) == 4


def test_one_row_by_id(client: TestClient, inspections: str) -> None:
    row_id = client.get(
        f"/resource/{inspections}.json", params={"$select": ":id", "$limit": "1", "$offset": "1"}
    ).json()[0][":id"]
    response = client.get(f"/resource/{inspections}/{row_id}.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    assert response.content.startswith(b'{"name":"Pizza Place"')
    assert response.content.endswith(b"}\n")
    feature = client.get(f"/resource/{inspections}/{row_id}.geojson").json()
    assert feature["type"] == "Feature"
    assert "crs" in feature
    for missing_row in ("row-zzzz", "nonsense", "row-!!"):
        missing = client.get(f"/resource/{inspections}/{missing_row}.json")
        assert missing.status_code == 404
        assert missing.json()["error"] is True


def test_one_row_by_row_identifier(client: TestClient, make_dataset: MakeDataset) -> None:
    dataset = make_dataset(
        [("permit", "text"), ("fee", "number")], [("A-1", 10), ("B'2", 20)], row_identifier="permit"
    )
    assert client.get(f"/resource/{dataset}/A-1.json").json() == {"permit": "A-1", "fee": "10"}
    assert client.get(f"/resource/{dataset}/B'2.json").json()["fee"] == "20"
    assert client.get(f"/resource/{dataset}/C-3.json").status_code == 404


def test_a_replace_is_seen_at_once(client: TestClient, inspections: str, engine) -> None:
    url = f"/resource/{inspections}.json"
    assert client.get(url).json()[0]["name"] == 'Joe\'s "Diner"'  # the record is cached now
    import_table(
        engine,
        ParsedTable([ColumnSpec("title", "Title", "text")], iter([("Only row",)])),
        metadata=None,
        dataset_id=inspections,
        mode="replace",
    )
    response = client.get(url)
    assert response.json() == [{"title": "Only row"}]
    assert response.headers["x-soda2-fields"] == '["title"]'
    assert client.get(f"/api/views/{inspections}.json").json()["columns"][0]["fieldName"] == "title"


def test_head_answers_the_get_headers_without_a_body(client: TestClient, inspections: str) -> None:
    for path in (f"/resource/{inspections}.json", f"/api/views/{inspections}/rows.csv"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == 200, path
        assert head.content == b""
        for name in ("content-type", "etag", "last-modified", "content-disposition"):
            assert head.headers.get(name) == get.headers.get(name), (path, name)
    missing = client.head("/resource/nope-0000.json")
    assert missing.status_code == 404
    assert missing.headers["x-error-code"] == "dataset.missing"
    assert missing.content == b""
