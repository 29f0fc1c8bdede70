"""The renderers write SODA's exact bytes for each type, as each dialect hands values back."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal

import orjson
import pytest

from civicport.api.renderers import (
    render_csv,
    render_geojson,
    render_geojson_feature,
    render_json,
    render_json_object,
)
from civicport.api.renderers.cells import EXPORT_CSV_ENCODERS
from civicport.datastore.rowids import format_row_id


@dataclass(frozen=True)
class Col:
    name: str
    soda_type: str
    width: int = 1


COLUMNS = [
    Col("name", "text"),
    Col("score", "number"),
    Col("ratio", "double"),
    Col("passed", "checkbox"),
    Col("seen", "floating_timestamp"),
    Col("stamp", "fixed_timestamp"),
    Col("location", "point", 2),
    Col("site", "url"),
    Col("id", "row_identifier"),
]
# One row as SQLite returns it and the same row as PostgreSQL returns it.
SQLITE_ROW = (
    'Joe\'s "Diner"',
    42,
    1.5,
    1,
    "2019-01-02T03:04:05.000",
    "2019-01-02T03:04:05.000Z",
    -72.5,
    41.75,
    "http://x.org",
    34,
)
PG_ROW = (
    'Joe\'s "Diner"',
    Decimal("42"),
    1.5,
    True,
    dt.datetime(2019, 1, 2, 3, 4, 5),
    dt.datetime(2019, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    -72.5,
    41.75,
    "http://x.org",
    34,
)
EXPECTED_OBJECT = {
    "name": 'Joe\'s "Diner"',
    "score": "42",
    "ratio": 1.5,
    "passed": True,
    "seen": "2019-01-02T03:04:05.000",
    "stamp": "2019-01-02T03:04:05.000Z",
    "location": {"type": "Point", "coordinates": [-72.5, 41.75]},
    "site": {"url": "http://x.org"},
    "id": format_row_id(34),
}
NULL_ROW = ("Null Cafe",) + (None,) * 9


@pytest.mark.parametrize("row", [SQLITE_ROW, PG_ROW], ids=["sqlite", "postgresql"])
def test_json_encodes_each_type_as_soda_does(row: tuple) -> None:
    body = b"".join(render_json(COLUMNS, [[row]]))
    assert orjson.loads(body) == [EXPECTED_OBJECT]


def test_json_framing_omits_null_keys_and_spans_batches() -> None:
    body = b"".join(render_json(COLUMNS, [[SQLITE_ROW], [], [NULL_ROW, NULL_ROW]]))
    assert body.startswith(b'[{"name":')
    assert body.count(b"\n,") == 2
    assert body.endswith(b'\n,{"name":"Null Cafe"}]\n')


def test_json_empty_result_is_an_empty_array() -> None:
    assert b"".join(render_json(COLUMNS, [])) == b"[]\n"
    assert b"".join(render_json(COLUMNS, [[]])) == b"[]\n"


def test_json_object_is_bare_with_newline() -> None:
    body = render_json_object(COLUMNS, SQLITE_ROW)
    assert body.endswith(b"}\n")
    assert orjson.loads(body) == EXPECTED_OBJECT


def test_double_specials_become_strings() -> None:
    body = b"".join(render_json([Col("d", "double")], [[(float("nan"),), (float("-inf"),)]]))
    assert orjson.loads(body) == [{"d": "NaN"}, {"d": "-Infinity"}]


def test_number_keeps_plain_notation() -> None:
    rows = [(0.000001,), (1e20,), (Decimal("3.50"),), (7,)]
    body = b"".join(render_json([Col("n", "number")], [rows]))
    assert [r["n"] for r in orjson.loads(body)] == ["0.000001", "100000000000000000000", "3.5", "7"]


@pytest.mark.parametrize("row", [SQLITE_ROW, PG_ROW], ids=["sqlite", "postgresql"])
def test_csv_quotes_every_value_and_leaves_nulls_empty(row: tuple) -> None:
    body = b"".join(render_csv(COLUMNS, [[row, NULL_ROW]])).decode()
    lines = body.split("\n")
    assert lines[0] == '"name","score","ratio","passed","seen","stamp","location","site","id"'
    assert lines[1] == (
        '"Joe\'s ""Diner""","42","1.5","true","2019-01-02T03:04:05.000",'
        '"2019-01-02T03:04:05.000Z","POINT (-72.5 41.75)","http://x.org","'
        + format_row_id(34)
        + '"'
    )
    assert lines[2] == '"Null Cafe",,,,,,,,'
    assert lines[3] == ""
    assert list(csv.reader(io.StringIO(body)))[1][0] == 'Joe\'s "Diner"'


def test_csv_bom_and_custom_header() -> None:
    body = b"".join(render_csv([Col("a", "text")], [[("x",)]], header=["A col"], bom=True))
    assert body == '\ufeff"A col"\n"x"\n'.encode()


def test_csv_export_dates_read_like_socrata() -> None:
    columns = [Col("seen", "floating_timestamp"), Col("stamp", "fixed_timestamp")]
    rows = [("2019-01-02T15:04:05.000", dt.datetime(2019, 1, 2, 3, 4, 5, tzinfo=dt.UTC))]
    body = b"".join(render_csv(columns, [rows], encoders=EXPORT_CSV_ENCODERS)).decode()
    assert body.split("\n")[1] == '"01/02/2019 03:04:05 PM","01/02/2019 03:04:05 AM"'


def test_csv_streams_in_chunks_of_bounded_size() -> None:
    rows = [("x" * 100,)] * 1000
    chunks = list(render_csv([Col("a", "text")], [rows] * 10))
    assert len(chunks) >= 3
    assert max(len(c) for c in chunks) < 600 * 1024
    assert b"".join(chunks).count(b"\n") == 10_001


POLYGON = '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}'


def test_geojson_uses_first_geometry_and_keeps_null_properties() -> None:
    columns = [Col("name", "text"), Col("where", "point", 2), Col("area", "polygon")]
    body = b"".join(render_geojson(columns, [[("a", 1.0, 2.0, POLYGON), ("b", None, None, None)]]))
    doc = orjson.loads(body)
    assert doc["type"] == "FeatureCollection"
    assert doc["crs"]["properties"]["name"] == "urn:ogc:def:crs:OGC:1.3:CRS84"
    first, second = doc["features"]
    assert first["geometry"] == {"type": "Point", "coordinates": [1.0, 2.0]}
    assert first["properties"] == {"name": "a", "area": orjson.loads(POLYGON)}
    assert second == {
        "type": "Feature",
        "geometry": None,
        "properties": {"name": "b", "area": None},
    }


def test_geojson_feature_carries_crs() -> None:
    feature = orjson.loads(render_geojson_feature([Col("area", "polygon")], (POLYGON,)))
    assert feature["type"] == "Feature"
    assert feature["geometry"] == orjson.loads(POLYGON)
    assert feature["crs"]["type"] == "name"


def test_csv_writes_other_geometries_as_wkt() -> None:
    body = b"".join(render_csv([Col("area", "polygon")], [[(POLYGON,)]])).decode()
    assert body.split("\n")[1] == '"POLYGON ((0 0, 1 0, 1 1, 0 0))"'
