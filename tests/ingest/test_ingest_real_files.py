"""Real city files from /work/shared/data: the messiness they were collected for."""

import datetime as dt

from civicport.ingest.reader import read_file


def columns_and_rows(path, **kwargs):
    table = read_file(path, **kwargs)
    return table.columns, list(table.rows)


def test_austin_location_column_becomes_point_plus_address(real):
    columns, rows = columns_and_rows(
        real("inspections/austin_food_establishment_inspection_scores.csv")
    )
    types = {c.field_name: c.soda_type for c in columns}
    assert types["inspection_date"] == "floating_timestamp"
    assert types["score"] == "number"
    assert types["address"] == "point"
    assert types["address_address"] == "text"
    assert len(rows) == 25_549
    names = [c.field_name for c in columns]
    point, address = names.index("address"), names.index("address_address")
    located = [r for r in rows if r[point] is not None]
    assert 23_000 < len(located) < 23_500  # 2,075 rows carry no (lat, lon)
    lon, lat = located[0][point]
    assert -98.5 < lon < -97
    assert 30 < lat < 31
    assert all(r[address] for r in rows[:100])
    assert any("Nenaí" in (r[0] or "") for r in rows)


def test_ct_file_with_bom_and_location_text(real):
    columns, rows = columns_and_rows(real("ct/ct_accidental_drug_related_deaths_2012-2018.csv"))
    assert columns[0].field_name == "id"  # the BOM is not part of the first header
    types = {c.field_name: c.soda_type for c in columns}
    assert types["date"] == "floating_timestamp"
    assert types["deathcitygeo"] == "point"
    assert len(rows) == 5_105
    assert rows[0][1] == dt.datetime(2014, 6, 28)


def test_kansas_city_xlsx_serial_dates_and_trailing_rows(real):
    columns, rows = columns_and_rows(
        real("service_requests/kansas_city_311_potholes_2020-01_to_02.xlsx")
    )
    types = {c.field_name: c.soda_type for c in columns}
    assert len(rows) == 2_534
    assert types["creation_date"] == "floating_timestamp"
    assert types["case_id"] == "number"
    assert types["case_url"] == "url"
    names = [c.field_name for c in columns]
    assert rows[0][names.index("creation_date")] == dt.datetime(2020, 1, 7)
    assert rows[0][names.index("case_id")] == 2020002530


def test_nyc_resource_json(real):
    columns, rows = columns_and_rows(real("socrata/nyc_311_erm2-nwe9_resource_sample.json"))
    types = {c.field_name: c.soda_type for c in columns}
    assert len(rows) == 1_000
    assert types["created_date"] == "floating_timestamp"
    assert types["location"] == "point"
    assert types["unique_key"] == "number"
    assert "computed_region_efsh_h5xi" in types
