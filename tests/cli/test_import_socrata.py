"""`civicport import` of Socrata exports on both backends: the dataset keeps the view's id,
catalog entry, field names and column descriptions, and serves them from /api/views."""

from __future__ import annotations

import json
import re

MONTGOMERY = "socrata/montgomery_county_md_liquor_licensees_c6rw-fazn_rows.json"
# Licensed premises are public record in Montgomery County.
ACCEPT = (
    "--privacy",
    "street=accept:licensed premises",
    "--privacy",
    "location=accept:licensed premises",
    "--privacy",
    "location_address=accept:licensed premises",
)


def column(col_id: int, field: str, name: str, data_type: str, description: str = "") -> dict:
    return {
        "id": col_id,
        "fieldName": field,
        "name": name,
        "dataTypeName": data_type,
        "description": description or None,
        "position": col_id,
    }


def rows_json(path):
    """A small permits export: two system columns, then the data's own."""
    view = {
        "id": "ab12-cd34",
        "name": "Building permits",
        "columns": [
            {"id": -1, "fieldName": ":sid", "name": "sid", "dataTypeName": "meta_data"},
            {"id": -1, "fieldName": ":id", "name": "id", "dataTypeName": "meta_data"},
            column(1, "permit_no", "Permit #", "text", "The permit's number"),
            column(2, "issued", "Issued", "calendar_date"),
            column(3, "paid", "Paid", "checkbox"),
        ],
    }
    data = [[1, "row-1", "00123", "2024-03-01T00:00:00", True], [2, "row-2", "00124", None, False]]
    path.write_text(json.dumps({"meta": {"view": view}, "data": data}))
    return path


def failure(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return re.sub(r"\s+", " ", result.stderr)


def test_rows_json_brings_its_catalog_entry_and_columns(cli, client, dataset, real):
    path = real(MONTGOMERY)
    view = json.loads(path.read_text())["meta"]["view"]
    result = cli("import", path, "--audience", "public", *ACCEPT)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "c6rw-fazn"  # the Socrata id, free here

    record = dataset("c6rw-fazn")
    assert record.title == view["name"]
    assert record.category == "Community/Recreation"
    assert record.tags == tuple(view["tags"])
    assert record.license_name == "Public Domain"
    assert record.attribution == "Montgomery County, MD"
    assert record.custom_fields["Dataset Information"]["Update Frequency"] == "Monthly"

    served = client.get("/api/views/c6rw-fazn.json")
    assert served.status_code == 200, served.text
    columns = {c["fieldName"]: c for c in served.json()["columns"]}
    for original in view["columns"]:
        if original["fieldName"].startswith(":"):
            assert original["fieldName"] not in columns
            continue
        assert columns[original["fieldName"]]["name"] == original["name"]
        assert columns[original["fieldName"]]["description"] == original["description"]
    assert columns["zip"]["dataTypeName"] == "text"
    assert columns["location"]["dataTypeName"] == "point"
    rows = client.get("/resource/c6rw-fazn.json", params={"licensee_number": "HBW224"}).json()
    assert rows[0]["licensee_name"] == "MAKI MAKI SUSHI"


def test_options_win_over_the_view_and_a_taken_id_is_not_reused(cli, dataset, real):
    path = real(MONTGOMERY)
    first = cli("import", path)
    assert first.exit_code == 0, first.output
    second = cli("import", path, "--title", "Liquor licensees", "--tag", "licenses")
    assert second.exit_code == 0, second.output
    new_id = second.stdout.strip()
    assert new_id != "c6rw-fazn"
    record = dataset(new_id)
    assert record.title == "Liquor licensees"
    assert record.tags == ("licenses",)
    assert record.attribution == "Montgomery County, MD"  # not overridden: the view's


def test_rows_json_row_identifier_and_chosen_id(cli, dataset, tmp_path):
    path = rows_json(tmp_path / "permits.rows.json")
    document = json.loads(path.read_text())
    document["meta"]["view"]["rowIdentifierColumnId"] = 1
    path.write_text(json.dumps(document))
    result = cli("import", path, "--id", "perm-2024")
    assert result.exit_code == 0, result.output
    record = dataset("perm-2024")
    assert record.title == "Building permits"
    assert record.row_identifier == "permit_no"
    types = {c.field_name: c.soda_type for c in record.columns}
    assert types["issued"] == "floating_timestamp"
    assert types["paid"] == "checkbox"


def test_csv_with_socrata_view(cli, client, dataset, tmp_path, real):
    csv = real("misc/chicago_affordable_rental_housing_developments.csv")
    view = tmp_path / "s6ha-ppgi.json"
    view.write_text(
        json.dumps(
            {
                "id": "s6ha-ppgi",
                "name": "Affordable Rental Housing Developments",
                "description": "Rental housing developments supported by the City.",
                "tags": ["housing"],
                "columns": [
                    column(
                        1, "community_area", "Community Area Name", "text", "One of the 77 areas"
                    ),
                    column(2, "zip_code", "Zip Code", "text", "Five-digit ZIP"),
                    column(3, "units", "Units", "number", "Rental units in the development"),
                ],
            }
        )
    )
    result = cli("import", csv, "--socrata-view", view, "--description", "Ours.")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "s6ha-ppgi"
    record = dataset("s6ha-ppgi")
    assert record.title == "Affordable Rental Housing Developments"
    assert record.description == "Ours."
    by_field = {c.field_name: c for c in record.columns}
    assert by_field["units"].description == "Rental units in the development"
    assert by_field["zip_code"].soda_type == "text"
    assert by_field["community_area"].display_name == "Community Area Name"


def test_broken_exports_create_nothing(cli, tmp_path, dataset_count, real):
    no_meta = tmp_path / "no-meta.json"
    no_meta.write_text(json.dumps({"data": [[1, 2, 3]]}))
    assert "has no meta.view" in failure(cli("import", no_meta))

    cut = rows_json(tmp_path / "cut.json")
    cut.write_bytes(cut.read_bytes()[:-40])
    assert "is not complete, valid JSON" in failure(cli("import", cut))

    csv = real("misc/chicago_affordable_rental_housing_developments.csv")
    not_a_view = tmp_path / "view.json"
    not_a_view.write_text("[1, 2]")
    message = failure(cli("import", csv, "--socrata-view", not_a_view))
    assert "view.json is not a Socrata view" in message
    assert "No such file" in failure(cli("import", csv, "--socrata-view", tmp_path / "nope.json"))
    assert dataset_count() == 0
