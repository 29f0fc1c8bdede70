"""Kind "arcgis" against a loopback server that pages like an ArcGIS Feature Service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sources_loopback import answering, serving
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_file
from civicport.ingest.sources import SourceError, SourceSpec, fetch_source

PARKS = [
    {
        "type": "Feature",
        "id": n,
        "properties": {"OBJECTID": n, "NAME": f"Park {n}"},
        "geometry": {"type": "Point", "coordinates": [-72.6 - n / 100, 41.7]},
    }
    for n in range(1, 8)
]
MAX_RECORD_COUNT = 3  # the server's cap: 7 features come in pages of 3, 3 and 1
LAYER = "/arcgis/rest/services/Parks/FeatureServer"


class FeatureService:
    """Answers /query like ArcGIS: at most MAX_RECORD_COUNT features from resultOffset, and
    exceededTransferLimit (under "properties" on the first page, at the top after) while more
    remain. Remembers the queries it was sent."""

    def __init__(self) -> None:
        self.queries: list[dict[str, str]] = []

    async def answer(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.queries.append(query)
        offset = int(query.get("resultOffset", 0))
        count = min(int(query.get("resultRecordCount", 1000)), MAX_RECORD_COUNT)
        page = PARKS[offset : offset + count]
        body: dict[str, object] = {"type": "FeatureCollection", "features": page}
        if offset + count < len(PARKS):
            if offset == 0:
                body["properties"] = {"exceededTransferLimit": True}
            else:
                body["exceededTransferLimit"] = True
        return JSONResponse(body, media_type="application/geo+json")


ERROR = {
    "error": {
        "code": 400,
        "message": "Cannot perform query. Invalid query parameters.",
        "details": ["'where' parameter is invalid"],
    }
}
ESRI_JSON = {"features": [{"attributes": {"OBJECTID": 1}}]}
TOKEN_REQUIRED = {"error": {"code": 499, "message": "Token Required"}}
STUCK = {"type": "FeatureCollection", "features": [], "exceededTransferLimit": True}


@pytest.fixture(scope="module")
def service() -> FeatureService:
    return FeatureService()


@pytest.fixture(scope="module")
def gis(service: FeatureService) -> Iterator[str]:
    routes = [
        Route(f"{LAYER}/0/query", service.answer),
        Route(f"{LAYER}/1/query", answering(json.dumps(ERROR), "application/json")),
        Route(f"{LAYER}/2/query", answering(json.dumps(ESRI_JSON), "application/json")),
        Route(f"{LAYER}/3/query", answering(json.dumps(TOKEN_REQUIRED), "application/json")),
        Route(f"{LAYER}/4/query", answering(json.dumps(STUCK), "application/geo+json")),
    ]
    with serving(Starlette(routes=routes)) as base:
        yield base


def fetch(location: str, into: Path, **options: object) -> Path:
    return fetch_source(SourceSpec("arcgis", location, options=options), into, max_bytes=1 << 20)


def test_every_page_lands_in_one_feature_collection(
    gis: str, service: FeatureService, into: Path
) -> None:
    service.queries.clear()
    fetched = fetch(f"{gis}{LAYER}/0", into, page_size=5)
    assert fetched == into / "Parks-0.geojson"
    collection = json.loads(fetched.read_bytes())
    assert collection["type"] == "FeatureCollection"
    assert collection["features"] == PARKS
    assert [q["resultOffset"] for q in service.queries] == ["0", "3", "6"]
    first = service.queries[0]
    assert (first["where"], first["outFields"], first["f"], first["outSR"]) == (
        "1=1",
        "*",
        "geojson",
        "4326",
    )
    assert first["resultRecordCount"] == "5"


def test_the_query_address_and_its_own_where_are_kept(
    gis: str, service: FeatureService, into: Path
) -> None:
    service.queries.clear()
    fetch(f"{gis}{LAYER}/0/query?where=NAME+LIKE+%27P%25%27&f=json", into)
    assert service.queries[0]["where"] == "NAME LIKE 'P%'"
    assert service.queries[0]["f"] == "geojson"


@pytest.mark.parametrize(
    ("layer", "words"),
    [
        (1, "the ArcGIS server refused the query (400: Cannot perform query. Invalid query "
            "parameters. — 'where' parameter is invalid)."),
        (2, "did not answer with GeoJSON features"),
        (3, "needs a valid token"),
        (4, "the server said more features remain but sent none"),
    ],
)  # fmt: skip
def test_errors_answered_with_200_are_failures(
    gis: str, into: Path, layer: int, words: str
) -> None:
    with pytest.raises(SourceError) as raised:
        fetch(f"{gis}{LAYER}/{layer}", into)
    assert raised.value.message.startswith(f"Could not fetch ArcGIS layer {gis}{LAYER}/{layer}: ")
    assert words in raised.value.message
    assert list(into.iterdir()) == []


def test_the_layer_imports_as_points(gis: str, into: Path, engine, stored_rows) -> None:
    fetched = fetch(f"{gis}{LAYER}/0", into)
    result = import_file(engine, fetched, metadata=DatasetMetadata(title="Parks"), mode="create")
    assert result.row_count == len(PARKS)
    assert [row["name"] for row in stored_rows(result.dataset_id)] == [
        f"Park {n}" for n in range(1, 8)
    ]
