"""The privacy scanner: hand-made tables for each rule, and real city files from shared/data."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from civicport.ingest.reader import read_file
from civicport.ingest.records import ColumnSpec
from civicport.privacy import Finding, is_sensitive_category, scan_table
from civicport.privacy.scan import threshold

DATA = Path("/work/shared/data")
EMPLOYEES = DATA / "misc" / "chicago_employee_names_salaries_position_titles.csv"
CRIMES = DATA / "police" / "chicago_crimes_2016-01-01_to_03_sample.csv"
CRASHES = DATA / "police" / "hartford_crashes_2015-2020_uconn_cdr_processed.csv"
DEATHS = DATA / "ct" / "ct_accidental_drug_related_deaths_2012-2018.csv"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared/data is not available")


def col(name: str, soda_type: str = "text", display: str | None = None) -> ColumnSpec:
    return ColumnSpec(name, display or name, soda_type)


def scan_column(
    name: str, values: Sequence[Any], soda_type: str = "text", category: str | None = None
) -> list[Finding]:
    return scan_table([col(name, soda_type)], [(v,) for v in values], category=category)


def kinds(findings: list[Finding], column: str | None = None) -> set[str]:
    return {f.kind for f in findings if column is None or f.column == column}


def read(path: Path) -> tuple[list[ColumnSpec], list[tuple[Any, ...]]]:
    table = read_file(path, parallel=False)
    return table.columns, list(table.rows)


# -- thresholds -------------------------------------------------------------------------------


def test_threshold_is_five_percent_and_at_least_three() -> None:
    assert threshold(1) == 1
    assert threshold(2) == 2
    assert threshold(10) == 3
    assert threshold(100) == 5
    assert threshold(5000) == 250


def test_one_stray_value_does_not_flag_a_column() -> None:
    values = [f"Pothole on block {i}" for i in range(100)] + ["write to jane.doe@example.org"]
    assert scan_column("comment", values) == []
    values += [f"clerk{i}@city.gov" for i in range(5)]  # 6 of 106: past 5%
    assert kinds(scan_column("comment", values)) == {"email"}


# -- email, phone, SSN ------------------------------------------------------------------------


def test_email_addresses() -> None:
    values = ["jane.doe@example.org", "BOB_SMITH+city@Mail.Hartford.gov", "x@y.io"] * 10
    [finding] = scan_column("contact_email", values)
    assert finding.kind == "email"
    assert finding.share == 1.0
    assert finding.examples == ("j***@e***.org", "B***@M***.gov", "x***@y***.io")
    assert finding.message == (
        "Column 'contact_email' holds email addresses (100% of 30 sampled values)"
    )


def test_not_email_addresses() -> None:
    values = ["@cityhall", "user at example dot org", "a@b", "price @ 5.00", "twitter: @mayor"]
    assert scan_column("handle", values * 5) == []


@pytest.mark.parametrize(
    "phone",
    [
        "(312) 555-1234",
        "312-555-1234",
        "312.555.1234",
        "312 555 1234",
        "+1 312 555 1234",
        "1-312-555-1234",
        "(312)555-1234 x12",
        "call 860-555-0199 after 5",
    ],
)
def test_phone_numbers(phone: str) -> None:
    assert kinds(scan_column("info", [phone] * 5)) == {"phone"}


@pytest.mark.parametrize(
    "value",
    [
        "60601",  # ZIP
        "60601-1234",  # ZIP+4
        "06103",
        "2016-01-03",  # dates
        "01/03/2016",
        "2016-01-03 23:57:00",
        "$1,234,567.89",  # money
        "1234567.89",
        "BP-100234567",  # permit numbers
        "100-234-5678",  # no US area code starts with 1
        "HZ103159",
        "17-0012345",
        "41.753985135",
        "(41.753985, -87.664263)",
    ],
)
def test_not_phone_numbers_nor_ssns(value: str) -> None:
    assert scan_column("reference", [value] * 10) == []


def test_bare_ten_digits_are_phones_only_in_a_phone_column() -> None:
    values = ["3125551234", "8605550199", "2125550000"] * 3
    assert scan_column("reference", values) == []
    assert kinds(scan_column("phone", values)) == {"phone"}
    numbers = [3125551234, 8605550199, 2125550000] * 3
    assert kinds(scan_column("Telephone", numbers, "number")) == {"phone"}
    assert scan_column("parcel_id", numbers, "number") == []


def test_social_security_numbers() -> None:
    [finding] = scan_column("notes_x", ["123-45-6789", "SSN 078-05-1120 on file", "219-09-9999"])
    assert finding.kind == "ssn"
    assert finding.examples[0] == "***-**-6789"
    assert "6789" in finding.examples[0]
    assert "123-45" not in " ".join(finding.examples)


def test_never_issued_ssns_are_not_ssns() -> None:
    assert (
        scan_column("ref", ["000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567"] * 3) == []
    )


def test_nine_bare_digits_are_ssns_only_in_an_ssn_column() -> None:
    values = ["123456789", "078051120", "219099999"] * 3
    assert scan_column("permit_number", values) == []
    assert kinds(scan_column("ssn", values)) == {"ssn"}
    assert kinds(scan_column("social_security", [123456789, 78051120, 219099999], "number")) == {
        "ssn"
    }


# -- person names -----------------------------------------------------------------------------

PEOPLE = ["Maria Lopez", "James O'Brien", "Linda K. Smith", "WASHINGTON, DENZEL", "Wei Chen"]
BUSINESSES = ["Joe's Pizza", "PEPPER CONSTRUCTION CO.", "Mayfair Commons", "City Grill", "Acme"]


@pytest.mark.parametrize(
    "name", ["name", "owner_name", "Complainant", "officer", "victim_name", "Employee Full Name"]
)
def test_person_names_in_a_column_named_like_a_person(name: str) -> None:
    findings = scan_table(
        [col(name.lower().replace(" ", "_"), display=name)], [(p,) for p in PEOPLE], category=None
    )
    assert kinds(findings) == {"person_name"}
    assert findings[0].examples == ("M*** L***", "J*** O***", "L*** K***. S***")


@pytest.mark.parametrize(
    "name", ["street_name", "business_name", "dba_name", "restaurant_name", "park_facility_name"]
)
def test_names_of_places_and_businesses_are_not_people(name: str) -> None:
    assert scan_column(name, PEOPLE * 3) == []


def test_first_and_last_name_columns_hold_single_words() -> None:
    assert kinds(scan_column("first_name", ["Maria", "James", "Ahmed", "Keisha"] * 3)) == {
        "person_name"
    }
    assert kinds(scan_column("last_name", ["Lopez", "Smith", "Nguyen"] * 3)) == {"person_name"}


def test_a_column_of_business_names_is_not_people() -> None:
    assert scan_column("name", BUSINESSES * 3) == []


def test_given_names_flag_a_column_with_another_name() -> None:
    assert kinds(scan_column("inspected_by", PEOPLE * 3)) == {"person_name"}
    assert (
        scan_column("inspected_by", ["WATER MGMNT", "POLICE OFFICER", "CIVIL ENGINEER"] * 3) == []
    )


# -- street addresses -------------------------------------------------------------------------


def test_street_addresses_with_house_numbers() -> None:
    values = ["123 MAIN ST", "45 Park Avenue Apt 2", "1234 N. Kedzie Ave.", "7 Elm Street"]
    [finding] = scan_column("location_text", values)
    assert finding.kind == "street_address"
    assert finding.examples == ("### MAIN ST", "## Park Avenue Apt #", "#### N. Kedzie Ave.")


def test_generalised_addresses_and_street_names_are_not_addresses() -> None:
    values = ["100 BLOCK OF MAIN ST", "016XX W 77TH ST", "MAIN ST", "133 AVENUE", "231 STREET"]
    assert scan_column("block", values * 3) == []


# -- exact locations --------------------------------------------------------------------------


def test_sensitive_categories() -> None:
    for category in ("Public Safety", "public safety", "Police", "Crime & Justice", "Health"):
        assert is_sensitive_category(category), category
    for category in ("Transportation", "Parks and Recreation", None, "", "Healthy Eating Parks"):
        assert not is_sensitive_category(category), category


def test_exact_points_in_a_sensitive_category() -> None:
    points = [(-87.664263 + i / 1000, 41.753985 + i / 1000) for i in range(20)]
    [finding] = scan_column("location", points, "point", category="Public Safety")
    assert finding.kind == "exact_location"
    assert finding.examples[0] == "(-87.66…, 41.75…)"
    assert scan_column("location", points, "point", category="Transportation") == []
    coarse = [(round(x, 3), round(y, 3)) for x, y in points]
    assert scan_column("location", coarse, "point", category="Public Safety") == []


def test_latitude_and_longitude_numbers() -> None:
    columns = [col("latitude", "number"), col("longitude", "number"), col("x_coord", "number")]
    rows = [(41.75398 + i / 1e4, -87.66426 - i / 1e4, 1166811 + i) for i in range(30)]
    findings = scan_table(columns, rows, category="Police")
    assert [(f.column, f.kind) for f in findings] == [
        ("latitude", "exact_location"),
        ("longitude", "exact_location"),
    ]


def test_repeated_centroids_are_not_exact_locations() -> None:
    towns = [(-72.738288, 41.575155), (-73.413239, 41.124877)]
    assert scan_column("deathcitygeo", towns * 50, "point", category="Health") == []


# -- free text --------------------------------------------------------------------------------


def test_free_text_note_columns() -> None:
    notes = [
        f"Caller {i} reported that the neighbour at the corner house leaves trash out every week."
        for i in range(10)
    ]
    [finding] = scan_column("notes", notes)
    assert finding.kind == "free_text"
    assert finding.examples[0] == f"[text, {len(notes[0])} characters]"
    # Sentences flag a column whatever its name; short labels and repeated boilerplate do not.
    assert kinds(scan_column("details_of_call", notes)) == {"free_text"}
    assert kinds(scan_column("misc", notes)) == {"free_text"}
    assert scan_column("notes", ["Pothole", "Graffiti removed", "Closed"] * 5) == []
    boilerplate = ["The Department of Transportation inspected the condition and repaired it."] * 30
    assert scan_column("resolution", boilerplate) == []


# -- small counts -----------------------------------------------------------------------------


def test_small_counts_in_an_aggregate_table() -> None:
    columns = [col("neighborhood"), col("count", "number")]
    rows = [("Asylum Hill", 120), ("Blue Hills", 3), ("Frog Hollow", 45), ("Parkville", 0)]
    [finding] = scan_table(columns, rows, category=None)
    assert (finding.column, finding.kind, finding.examples) == ("count", "small_count", ("<5",))
    assert "1 of 4 sampled values" in finding.message
    no_small = [("Asylum Hill", 120), ("Blue Hills", 30), ("Parkville", 0)]
    assert scan_table(columns, no_small, category=None) == []


def test_small_numbers_that_are_not_counts() -> None:
    columns = [col("street_number", "number"), col("total_fee", "number"), col("ward", "number")]
    rows = [(2, 3, 4), (1200, 2.5, 1), (3, 1, 2)]
    assert scan_table(columns, rows, category=None) == []


def test_a_large_table_is_not_an_aggregate() -> None:
    columns = [col("count", "number")]
    rows = [(i % 7,) for i in range(12_000)]
    assert scan_table(columns, rows, category=None) == []
    # An iterator's length is unknown unless the caller says it.
    assert scan_table(columns, iter(rows[:100]), category=None) != []
    assert scan_table(columns, iter(rows), category=None, sample=100) == []
    assert scan_table(columns, iter(rows), category=None, sample=100, total_rows=900) != []


# -- sampling, masking and speed --------------------------------------------------------------


def test_samples_evenly_through_a_list() -> None:
    rows = [("no contact",)] * 9000 + [("jane@example.org",)] * 1000
    findings = scan_table([col("contact")], rows, category=None, sample=500)
    assert kinds(findings) == {"email"}
    assert findings[0].share == pytest.approx(0.1)
    # An iterator is read from its start only.
    assert scan_table([col("contact")], iter(rows), category=None, sample=500) == []


def test_findings_never_hold_a_raw_value() -> None:
    columns = [col("email"), col("phone"), col("ssn"), col("owner_name"), col("address")]
    rows = [
        (f"person{i}@example.org", f"312-555-{1000 + i}", f"123-45-{6000 + i}", name, addr)
        for i, (name, addr) in enumerate(
            zip(PEOPLE * 2, ["123 MAIN ST", "45 Park Avenue Apt 2"] * 5, strict=True)
        )
    ]
    findings = scan_table(columns, rows, category=None)
    assert kinds(findings) == {"email", "phone", "ssn", "person_name", "street_address"}
    text = repr(findings)
    for row in rows:
        for value in row:
            assert value not in text


def test_empty_values_and_short_rows() -> None:
    columns = [col("email"), col("other")]
    rows: list[tuple[Any, ...]] = [(None, ""), ("  ",), ("a@b.org", None)]
    findings = scan_table(columns, rows, category=None)
    assert [(f.kind, f.share) for f in findings] == [("email", 1.0)]
    assert scan_table(columns, [], category=None) == []


def test_scanning_5000_rows_by_30_columns_is_fast() -> None:
    types = ["text", "number", "text", "point", "floating_timestamp", "checkbox"]
    columns = [col(f"c{i}", types[i % len(types)]) for i in range(30)]
    columns[0] = col("name")
    columns[2] = col("notes")
    values: dict[str, Any] = {
        "text": "Pothole at 123 MAIN ST reported by jane@example.org",
        "number": 41.753985,
        "point": (-87.664263, 41.753985),
        "floating_timestamp": "2016-01-03T23:57:00",
        "checkbox": True,
    }
    rows = [
        tuple(
            f"{PEOPLE[r % 5]}" if i == 0 else values[c.soda_type] if i != 1 else r
            for i, c in enumerate(columns)
        )
        for r in range(10_000)
    ]
    start = time.perf_counter()
    findings = scan_table(columns, rows, category="Public Safety")
    elapsed = time.perf_counter() - start
    assert findings
    assert elapsed < 1.0, elapsed


# -- real files -------------------------------------------------------------------------------


@needs_data
def test_city_employees_names_are_flagged_not_their_jobs() -> None:
    columns, rows = read(EMPLOYEES)
    assert [c.field_name for c in columns] == [
        "name",
        "position_title",
        "department",
        "employee_annual_salary",
    ]
    findings = scan_table(columns, rows, category="Finance")
    assert [(f.column, f.kind) for f in findings] == [("name", "person_name")]
    [finding] = findings
    assert finding.share > 0.95
    assert finding.message.startswith("Column 'Name' holds people's names (")
    assert "5,000 sampled values" in finding.message
    names = {row[0] for row in rows}
    assert not any(example in names for example in finding.examples)


@needs_data
def test_crimes_have_exact_locations_only_in_a_sensitive_category() -> None:
    columns, rows = read(CRIMES)
    safety = scan_table(columns, rows, category="Public Safety")
    assert {f.column for f in safety if f.kind == "exact_location"} == {
        "latitude",
        "longitude",
        "location",
    }
    # 'x_coordinate' is state-plane feet, 'block' is already a hundred block: neither is flagged.
    assert {f.column for f in safety} == {"latitude", "longitude", "location"}
    assert scan_table(columns, rows, category="Transportation") == []


@needs_data
def test_crashes_named_x_and_y_are_exact_locations() -> None:
    columns, rows = read(CRASHES)
    safety = scan_table(columns, rows, category="Public Safety")
    assert {(f.column, f.kind) for f in safety} == {
        ("x", "exact_location"),
        ("y", "exact_location"),
    }
    assert scan_table(columns, rows, category="Transportation") == []


@needs_data
def test_town_centroids_in_health_data_are_not_exact() -> None:
    columns, rows = read(DEATHS)
    findings = scan_table(columns, rows, category="Health and Human Services")
    assert "exact_location" not in kinds(findings)
