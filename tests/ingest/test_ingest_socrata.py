"""Socrata exports read by ingest: a real rows.json (Montgomery County's liquor licensees) and
hand-built ones covering every dataTypeName an export can hold, plus broken exports."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from civicport.errors import InvalidUpload
from civicport.ingest.reader import read_file
from civicport.ingest.records import ReadOptions
from civicport.ingest.socrata import load_view

SYSTEM = [
    ":sid",
    ":id",
    ":position",
    ":created_at",
    ":created_meta",
    ":updated_at",
    ":updated_meta",
    ":meta",
]


def system_columns() -> list[dict]:
    return [
        {"id": -1, "name": f[1:], "dataTypeName": "meta_data", "fieldName": f, "position": 0}
        for f in SYSTEM
    ]


def column(col_id: int, field: str, name: str, data_type: str, description: str = "") -> dict:
    return {
        "id": col_id,
        "name": name,
        "dataTypeName": data_type,
        "fieldName": field,
        "position": col_id,
        "description": description or None,
    }


COLUMNS = [
    column(1, "permit_no", "Permit #", "text", "The permit's number, as printed on it"),
    column(2, "issued", "Issued", "calendar_date", "Day the permit was issued"),
    column(3, "fee", "Fee", "money"),
    column(4, "paid", "Paid", "checkbox"),
    column(5, "site", "Site", "location", "Where the work is"),
    column(6, "link", "Link", "url"),
    column(7, "plan", "Plan", "document"),
    column(8, "share", "Share", "percent"),
]
ROWS = [
    [
        "00123",
        "2024-03-01T00:00:00",
        "150.50",
        True,
        [
            '{"address": "550 Main St", "city": "Hartford", "state": "CT", "zip": "06103"}',
            "41.7637",
            "-72.6751",
            None,
            False,
        ],
        ["https://example.org/p/123", "Permit page"],
        {"file_id": "abc-123", "filename": "plan.pdf"},
        "12.5",
    ],
    ["00124", None, None, False, [None, None, None, None, None], None, None, None],
]


def rows_json(path: Path, columns=COLUMNS, rows=ROWS) -> Path:
    """A rows.json as Socrata writes it: system values first, then the columns' values."""
    data = [
        [n, f"row-{n}", n, 1709251200, "1", 1709251200, "1", None, *r]
        for n, r in enumerate(rows, 1)
    ]
    view = {"id": "ab12-cd34", "name": "Building permits", "columns": system_columns() + columns}
    path.write_text(json.dumps({"meta": {"view": view}, "data": data}))
    return path


def test_real_rows_json_keeps_field_names_descriptions_and_types(real):
    path = real("socrata/montgomery_county_md_liquor_licensees_c6rw-fazn_rows.json")
    table = read_file(path)
    by_field = {c.field_name: c for c in table.columns}
    assert not [f for f in by_field if f.startswith(":") or f in ("sid", "id", "position", "meta")]
    assert by_field["licensee_name"].display_name == "Licensee Name"
    assert by_field["licensee_name"].description == "Licensee Name"
    assert by_field["zip"].soda_type == "text"  # declared text, though the values are numbers
    assert by_field["location"].soda_type == "point"
    rows = [dict(zip(by_field, r, strict=True)) for r in table.rows]
    assert len(rows) == 1070  # 1,071 data rows, one of them entirely empty
    maki = next(r for r in rows if r["licensee_name"] == "MAKI MAKI SUSHI")
    assert maki["location"] == (-77.095581, 38.991082)
    assert maki["location_address"] == "8023 WISCONSIN AVE\nBETHESDA, MD 20814"
    assert maki["zip"] == "20814"


def test_every_socrata_type_is_read_as_its_soda_type(tmp_path):
    table = read_file(rows_json(tmp_path / "permits.rows.json"))
    specs = {c.field_name: c for c in table.columns}
    assert [c.field_name for c in table.columns] == [
        "permit_no",
        "issued",
        "fee",
        "paid",
        "site",
        "site_address",
        "link",
        "plan",
        "share",
    ]
    assert {f: c.soda_type for f, c in specs.items()} == {
        "permit_no": "text",
        "issued": "floating_timestamp",
        "fee": "number",
        "paid": "checkbox",
        "site": "point",
        "site_address": "text",
        "link": "url",
        "plan": "text",
        "share": "number",
    }
    assert specs["permit_no"].display_name == "Permit #"
    assert specs["issued"].description == "Day the permit was issued"
    first, second = list(table.rows)
    assert first[0] == "00123"
    assert first[1] == dt.datetime(2024, 3, 1)
    assert Decimal(str(first[2])) == Decimal("150.50")
    assert first[3] is True
    assert first[4] == (-72.6751, 41.7637)
    assert first[5] == "550 Main St\nHartford, CT 06103"
    assert first[6] == "https://example.org/p/123"
    assert first[7] == "abc-123"
    assert second[1] is None
    assert second[4] is None
    assert second[3] is False


def test_csv_with_its_view_takes_the_views_names_types_and_descriptions(tmp_path, real):
    csv = real("misc/chicago_affordable_rental_housing_developments.csv")
    view = tmp_path / "s6ha-ppgi.json"
    view.write_text(
        json.dumps(
            {
                "id": "s6ha-ppgi",
                "name": "Affordable Rental Housing",
                "columns": [
                    column(
                        1,
                        "community_area",
                        "Community Area Name",
                        "text",
                        "One of Chicago's 77 areas",
                    ),
                    column(2, "zip_code", "Zip Code", "text", "Five-digit ZIP"),
                    column(3, "units", "Units", "number", "Rental units in the development"),
                    column(4, "location", "Location", "location"),
                ],
            }
        )
    )
    table = read_file(csv, options=ReadOptions(socrata_view=view))
    specs = {c.field_name: c for c in table.columns}
    assert specs["community_area"].display_name == "Community Area Name"
    assert specs["community_area"].description == "One of Chicago's 77 areas"
    assert specs["zip_code"].soda_type == "text"
    assert specs["units"].soda_type == "number"
    assert specs["location"].soda_type == "point"
    assert "property_name" in specs  # a column the view leaves out keeps its derived name
    row = dict(zip(specs, next(table.rows), strict=True))
    assert row["zip_code"] == "60630"
    assert row["location"] == (-87.7397474866, 41.9682242321)


def test_a_view_of_another_dataset_is_refused(tmp_path, real):
    csv = real("misc/chicago_affordable_rental_housing_developments.csv")
    view = tmp_path / "other.json"
    view.write_text(json.dumps({"columns": [column(1, "permit_no", "Permit #", "text")]}))
    with pytest.raises(InvalidUpload, match="none of the file's columns is in the Socrata view"):
        read_file(csv, options=ReadOptions(socrata_view=view))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"data": [[1, 2]]}, "has no meta.view"),
        ({"meta": {"view": {"name": "x"}}, "data": []}, "is not a Socrata view"),
        ({"meta": {"view": {"columns": system_columns()}}, "data": []}, "lists no data columns"),
    ],
)
def test_malformed_rows_json_is_refused(tmp_path, document, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidUpload, match=message):
        read_file(path)


def test_truncated_rows_json_is_refused(tmp_path):
    path = rows_json(tmp_path / "cut.json")
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(InvalidUpload, match="is not complete, valid JSON"):
        read_file(path)


def test_short_data_row_is_refused(tmp_path):
    path = tmp_path / "short.json"
    view = {"columns": system_columns() + COLUMNS[:2]}
    path.write_text(json.dumps({"meta": {"view": view}, "data": [[1, "row-1", 1]]}))
    with pytest.raises(InvalidUpload, match="data row 1 has 3 values but its view lists 10"):
        read_file(path)


def test_row_identifier_is_named_by_column_id(tmp_path):
    path = rows_json(tmp_path / "permits.rows.json")
    document = json.loads(path.read_text())
    document["meta"]["view"]["rowIdentifierColumnId"] = 1
    path.write_text(json.dumps(document))
    view = load_view(path)
    assert view.row_identifier == "permit_no"
    assert view.view_id == "ab12-cd34"
