"""The load checks on real staged tables (SQLite and PostgreSQL): each rule finds what it
should, says it in plain words with numbers and rows, and warns, blocks or stays quiet as the
dataset's rules say."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from civicport.datastore.load import create_data_table, drop_data_table, insert_rows
from civicport.datastore.tables import ColumnSchema
from civicport.errors import InvalidUpload
from civicport.ingest.checks import (
    CheckReport,
    LoadRejected,
    LoadRules,
    Previous,
    check_load,
    load_boundary,
    raise_if_blocked,
)
from civicport.ingest.checks import boundary as boundary_module

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
PERMITS = [ColumnSchema("permit_id", "text"), ColumnSchema("amount", "number")]
# A box around Hartford, CT: longitudes -72.72..-72.65, latitudes 41.72..41.81.
HARTFORD = {
    "type": "Polygon",
    "coordinates": [
        [[-72.72, 41.72], [-72.65, 41.72], [-72.65, 41.81], [-72.72, 41.81], [-72.72, 41.72]]
    ],
}


def make_table(
    conn: sa.Connection,
    name: str,
    columns: Sequence[ColumnSchema],
    rows: Sequence[Sequence[Any]],
    *,
    first_id: int = 1,
) -> Previous:
    create_data_table(conn, name, columns)
    insert_rows(conn, name, columns, rows, first_id=first_id, now=NOW)
    return Previous(name, list(columns), len(rows))


def check(
    conn: sa.Connection,
    columns: Sequence[ColumnSchema],
    rows: Sequence[Sequence[Any]],
    *,
    previous: Previous | None = None,
    key: str | None = None,
    whole: bool = True,
    boundary: Any = None,
    first_id: int = 1,
    **rules: Any,
) -> CheckReport:
    """Stage `rows` (again) and run check_load on them with `rules` (LoadRules fields)."""
    drop_data_table(conn, "staged")
    make_table(conn, "staged", columns, rows, first_id=first_id)
    return check_load(
        conn,
        staged_table="staged",
        columns=columns,
        row_count=len(rows),
        previous=previous,
        key=key,
        rules=LoadRules(**rules),
        boundary=boundary,
        now=NOW,
        whole=whole,
    )


def permits(count: int, start: int = 0) -> list[tuple[str, int]]:
    return [(f"B-{start + i}", i) for i in range(count)]


# --- LoadRules --------------------------------------------------------------------------------


def test_rules_default_and_round_trip_through_json() -> None:
    assert LoadRules.from_json(None) == LoadRules()
    rules = LoadRules.from_json(
        {"row_drop": "warn", "max_row_drop": 0.2, "type_policy": {"d": "null"}}
    )
    assert (rules.row_drop, rules.max_row_drop, rules.empty_column) == ("warn", 0.2, "warn")
    assert rules.type_policy == {"d": "null"}
    assert LoadRules.from_json(rules.to_json()) == rules
    assert orjson.loads(orjson.dumps(rules.to_json())) == rules.to_json()
    assert LoadRules().to_json()["duplicate_ids"] == "block"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"row_drops": "warn"}, "Unknown load rule 'row_drops'"),
        ({"empty_column": "stop"}, "empty_column must be one of off, warn, block, not 'stop'"),
        ({"max_row_drop": 1.5}, "between 0 and 1"),
        ({"max_row_drop": -0.1}, "between 0 and 1"),
        ({"max_row_drop": True}, "between 0 and 1"),
        ({"max_row_drop": "half"}, "between 0 and 1"),
        ({"type_policy": {"d": "drop"}}, "column d must be one of reject, null, text"),
        ({"type_policy": ["d"]}, "type_policy maps column names"),
        (["row_drop"], "a JSON object"),
    ],
)
def test_rules_refuse_what_they_do_not_know(data: Any, message: str) -> None:
    with pytest.raises(InvalidUpload, match=message):
        LoadRules.from_json(data)


def test_rules_keep_their_own_copy_of_the_type_policy() -> None:
    policy = {"d": "null"}
    rules = LoadRules(type_policy=policy)
    policy["d"] = "text"
    assert rules.type_policy == {"d": "null"}
    assert LoadRules(max_row_drop=1).max_row_drop == 1.0


# --- row_drop ---------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["block", "warn", "off"])
def test_row_drop(engine: sa.Engine, action: str) -> None:
    with engine.begin() as conn:
        previous = make_table(conn, "current", PERMITS, permits(3170))
        report = check(conn, PERMITS, permits(412), previous=previous, row_drop=action)
    expected = (
        "The new data has 412 rows, 87% fewer than the 3,170 of the current version "
        "(the limit is a 50% drop)"
    )
    assert report == CheckReport(
        warnings=(expected,) if action == "warn" else (),
        blocking=(expected,) if action == "block" else (),
    )


def test_row_drop_within_the_limit_or_on_a_partial_load_is_fine(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        previous = make_table(conn, "current", PERMITS, permits(100))
        assert check(conn, PERMITS, permits(60), previous=previous) == CheckReport()
    with engine.begin() as conn:
        report = check(conn, PERMITS, permits(10), previous=previous, whole=False)
    assert report == CheckReport()


def test_row_drop_to_nothing_and_a_limit_that_rounds_alike(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        previous = make_table(conn, "current", PERMITS, permits(1000))
        report = check(conn, PERMITS, [], previous=previous, max_row_drop=0.5, row_drop="block")
    assert report.blocking == (
        "The new data has 0 rows, 100% fewer than the 1,000 of the current version "
        "(the limit is a 50% drop)",
    )
    with engine.begin() as conn:
        report = check(
            conn, PERMITS, permits(496), previous=previous, max_row_drop=0.5, row_drop="block"
        )
    assert report.blocking[0].startswith("The new data has 496 rows, 50.4% fewer than")


# --- empty_column -----------------------------------------------------------------------------

INSPECTIONS = [
    ColumnSchema("name", "text"),
    ColumnSchema("inspection_date", "floating_timestamp"),
    ColumnSchema("location", "point"),
    ColumnSchema("notes", "text"),
]


def inspections(count: int, *, dates: bool = True, points: bool = True) -> list[tuple[Any, ...]]:
    return [
        (
            f"Place {i}",
            dt.datetime(2024, 1, 1) + dt.timedelta(days=i) if dates else None,
            (-72.68, 41.76) if points else None,
            None,
        )
        for i in range(count)
    ]


@pytest.mark.parametrize("action", ["warn", "block", "off"])
def test_empty_column(engine: sa.Engine, action: str) -> None:
    with engine.begin() as conn:
        previous = make_table(conn, "current", INSPECTIONS, inspections(20))
        report = check(
            conn, INSPECTIONS, inspections(20, dates=False), previous=previous, empty_column=action
        )
    found = ("Column inspection_date is empty in every row; it had values before",)
    assert report.warnings == (found if action == "warn" else ())
    assert report.blocking == (found if action == "block" else ())


def test_empty_columns_together_and_a_column_that_was_empty_already(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        previous = make_table(conn, "current", INSPECTIONS, inspections(5))
        report = check(
            conn, INSPECTIONS, inspections(5, dates=False, points=False), previous=previous
        )
    # notes was empty before too: nothing changed there.
    assert report.warnings == (
        "Columns inspection_date, location are empty in every row; they had values before",
    )


def test_empty_column_is_not_checked_for_appends(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        previous = make_table(conn, "current", INSPECTIONS, inspections(5))
        report = check(
            conn, INSPECTIONS, inspections(2, dates=False), previous=previous, whole=False
        )
    assert report == CheckReport()


# --- duplicate_ids ----------------------------------------------------------------------------


def repeating_permits() -> list[tuple[str | None, int]]:
    """20 permits: B-1002 in rows 4 and 17, B-2000 in rows 5 to 7, two without an id."""
    rows: list[tuple[str | None, int]] = [(f"B-{i}", i) for i in range(1, 21)]
    rows[3] = rows[16] = ("B-1002", 4)
    rows[4] = rows[5] = rows[6] = ("B-2000", 5)
    rows[10] = rows[11] = (None, 0)
    return rows


def staged_ids(conn: sa.Connection) -> list[tuple[int, str | None]]:
    return [
        tuple(r) for r in conn.exec_driver_sql("SELECT _id, permit_id FROM staged ORDER BY _id")
    ]


def test_duplicate_ids_block(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        report = check(conn, PERMITS, repeating_permits(), key="permit_id")
        assert len(staged_ids(conn)) == 20
    assert report.blocking == (
        "Row identifier permit_id repeats: 'B-1002' in rows 4 and 17, and 1 more value",
    )
    assert report.dropped_rows == 0


def test_duplicate_ids_warn_keeps_the_first_row_of_each_value(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        report = check(
            conn, PERMITS, repeating_permits(), key="permit_id", duplicate_ids="warn", first_id=101
        )
        kept = staged_ids(conn)
    assert report.warnings == (
        "Row identifier permit_id repeats: 'B-1002' in rows 4 and 17, and 1 more value; "
        "only the first row of each value was kept (3 rows left out)",
    )
    assert report.blocking == ()
    assert report.dropped_rows == 3
    ids = [i for i, _ in kept]
    assert len(kept) == 17
    assert {104, 105, 111, 112} <= set(ids)  # first of each repeat, and both rows without an id
    assert not {106, 107, 117} & set(ids)


def test_duplicate_ids_off_leaves_the_rows(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        report = check(conn, PERMITS, repeating_permits(), key="permit_id", duplicate_ids="off")
        assert len(staged_ids(conn)) == 20
    assert report == CheckReport()


def test_duplicate_ids_name_a_value_seen_three_times_and_numbers(engine: sa.Engine) -> None:
    rows = [("A", 1), ("B", 7), ("C", 7), ("D", 7), ("E", 2)]
    columns = [ColumnSchema("code", "text"), ColumnSchema("n", "number")]
    with engine.begin() as conn:
        report = check(conn, columns, rows, key="n")
    assert report.blocking == ("Row identifier n repeats: '7' in 3 rows, from row 2 to row 4",)


def test_unique_ids_pass(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        assert check(conn, PERMITS, permits(50), key="permit_id") == CheckReport()


# --- future_dates -----------------------------------------------------------------------------

DATED = [
    ColumnSchema("inspected_on", "floating_timestamp"),
    ColumnSchema("reported_at", "fixed_timestamp"),
]


def dated_rows() -> list[tuple[dt.datetime | None, dt.datetime | None]]:
    rows: list[tuple[dt.datetime | None, dt.datetime | None]] = [
        (dt.datetime(2024, 6, 1), dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    ] * 60
    rows[9] = (dt.datetime(2026, 1, 1), None)
    rows[51] = (dt.datetime(2031, 4, 2), None)
    rows[54] = (dt.datetime(2030, 7, 7, 9, 30), dt.datetime(2027, 5, 5, 14, 30, tzinfo=dt.UTC))
    rows[55] = (None, NOW + dt.timedelta(hours=20))  # within a day: clocks differ
    return rows


@pytest.mark.parametrize("action", ["warn", "block", "off"])
def test_future_dates(engine: sa.Engine, action: str) -> None:
    with engine.begin() as conn:
        report = check(conn, DATED, dated_rows(), future_dates=action)
    found = (
        "Column inspected_on has 3 dates in the future, the latest 2031-04-02 (row 52)",
        "Column reported_at has 1 date in the future, on 2027-05-05 14:30 (row 55)",
    )
    assert report.warnings == (found if action == "warn" else ())
    assert report.blocking == (found if action == "block" else ())


def test_dates_up_to_now_pass(engine: sa.Engine) -> None:
    rows = [(dt.datetime(2025, 3, 1), NOW)]
    with engine.begin() as conn:
        assert check(conn, DATED, rows) == CheckReport()


# --- outside_boundary -------------------------------------------------------------------------

PLACES = [ColumnSchema("name", "text"), ColumnSchema("location", "point")]


def places() -> list[tuple[str, tuple[float, float] | None]]:
    inside = (-72.68, 41.76)
    rows: list[tuple[str, tuple[float, float] | None]] = [(f"P{i}", inside) for i in range(12)]
    rows[2] = ("far", (-73.1, 41.2))
    rows[5] = ("edge", (-72.65, 41.75))  # on the boundary line: inside
    rows[7] = ("none", None)
    rows[10] = ("near", (-72.64, 41.76))  # within the bounding box's reach, just east
    return rows


@pytest.mark.parametrize("action", ["warn", "block", "off"])
def test_outside_boundary(engine: sa.Engine, tmp_path: Path, action: str) -> None:
    path = tmp_path / "city.geojson"
    path.write_bytes(orjson.dumps(HARTFORD))
    with engine.begin() as conn:
        report = check(
            conn, PLACES, places(), boundary=load_boundary(path), outside_boundary=action
        )
    found = (
        "Column location has 2 points outside the city boundary, the first at row 3 (41.2, -73.1)",
    )
    assert report.warnings == (found if action == "warn" else ())
    assert report.blocking == (found if action == "block" else ())


def test_outside_boundary_reads_in_batches(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(boundary_module, "BATCH_ROWS", 3)
    path = tmp_path / "city.geojson"
    path.write_bytes(orjson.dumps({"type": "Feature", "properties": {}, "geometry": HARTFORD}))
    rows = places()
    rows[11] = ("north", (-72.7, 42.5))
    with engine.begin() as conn:
        report = check(conn, PLACES, rows, boundary=load_boundary(path), first_id=50)
    assert report.warnings == (
        "Column location has 3 points outside the city boundary, the first at row 3 (41.2, -73.1)",
    )


def test_without_a_boundary_points_are_not_checked(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        assert check(conn, PLACES, places(), outside_boundary="block") == CheckReport()


# --- schema_drift -----------------------------------------------------------------------------

BEFORE = [ColumnSchema("z", "text"), ColumnSchema("amount", "number"), ColumnSchema("n", "text")]
AFTER = [ColumnSchema("amount", "text"), ColumnSchema("n", "text"), ColumnSchema("x", "text"),
         ColumnSchema("y", "number")]  # fmt: skip


@pytest.mark.parametrize("action", ["warn", "block", "off"])
def test_schema_drift(engine: sa.Engine, action: str) -> None:
    with engine.begin() as conn:
        previous = make_table(conn, "current", BEFORE, [("a", 1, "b")])
        report = check(conn, AFTER, [("1", "b", "c", 2)], previous=previous, schema_drift=action)
    found = ("Columns added: x, y; removed: z; retyped: amount (number → text)",)
    assert report.warnings == (found if action == "warn" else ())
    assert report.blocking == (found if action == "block" else ())


def test_schema_drift_of_a_partial_load_reports_new_columns_only(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        previous = make_table(conn, "current", BEFORE, [("a", 1, "b")])
        report = check(conn, AFTER[2:3], [("c",)], previous=previous, whole=False)
    assert report.warnings == ("Column added: x",)


def test_the_same_columns_do_not_drift(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        previous = make_table(conn, "current", PERMITS, permits(3))
        assert check(conn, PERMITS, permits(3), previous=previous) == CheckReport()


# --- all together -----------------------------------------------------------------------------


def test_clean_data_passes_every_check(engine: sa.Engine, tmp_path: Path) -> None:
    path = tmp_path / "city.geojson"
    path.write_bytes(orjson.dumps(HARTFORD))
    columns = [ColumnSchema("permit_id", "text"), *INSPECTIONS]
    rows = [(f"B-{i}", *row) for i, row in enumerate(inspections(30))]
    with engine.begin() as conn:
        previous = make_table(conn, "current", columns, rows[:25])
        strict: dict[str, Any] = dict.fromkeys(
            ("empty_column", "future_dates", "schema_drift"), "block"
        )
        report = check(
            conn, columns, rows, previous=previous, key="permit_id",
            boundary=load_boundary(path), outside_boundary="block", **strict,
        )  # fmt: skip
    assert report == CheckReport()


def test_blocking_findings_refuse_the_load_with_warnings_alongside() -> None:
    report = CheckReport(
        warnings=("Column added: x",),
        blocking=("Row identifier id repeats: '1' in rows 1 and 2", "Column d is empty"),
    )
    with pytest.raises(LoadRejected) as caught:
        raise_if_blocked(report)
    error = caught.value
    assert isinstance(error, InvalidUpload)
    assert error.code == "upload.checks-failed"
    assert error.data == {"blocking": list(report.blocking), "warnings": ["Column added: x"]}
    assert "Row identifier id repeats: '1' in rows 1 and 2. Column d is empty." in error.message
    assert "load rules" in error.message
    raise_if_blocked(dataclasses.replace(report, blocking=()))  # warnings alone pass


# --- load_boundary ----------------------------------------------------------------------------


def test_boundary_from_a_feature_collection_is_the_union(tmp_path: Path) -> None:
    east = {
        "type": "Polygon",
        "coordinates": [[[-72.65, 41.72], [-72.6, 41.72], [-72.6, 41.81], [-72.65, 41.81],
                         [-72.65, 41.72]]],
    }  # fmt: skip
    features = [{"type": "Feature", "properties": {}, "geometry": g} for g in (HARTFORD, east)]
    path = tmp_path / "city.geojson"
    path.write_bytes(orjson.dumps({"type": "FeatureCollection", "features": features}))
    boundary = load_boundary(path)
    assert boundary is not None
    assert boundary.bounds == (-72.72, 41.72, -72.6, 41.81)


def test_boundary_is_read_once_per_version_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "city.geojson"
    path.write_bytes(orjson.dumps(HARTFORD))
    first = load_boundary(path)
    assert load_boundary(path) is first
    path.write_bytes(orjson.dumps({"type": "Feature", "geometry": HARTFORD, "properties": None}))
    later = os.stat(path).st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(later, later))
    assert load_boundary(path) is not first
    assert load_boundary(None) is None


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"<html>", "it is not GeoJSON"),
        (b'{"type": "Feature"}', "it is not GeoJSON"),
        (orjson.dumps({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}), "no polygon"),
        (orjson.dumps({"type": "FeatureCollection", "features": []}), "no geometries"),
        (
            orjson.dumps(
                {"type": "Polygon", "coordinates": [[[0, 0], [500000, 0], [0, 400000], [0, 0]]]}
            ),
            "not longitude and latitude",
        ),
    ],
)
def test_a_boundary_file_that_cannot_be_used_says_why(
    tmp_path: Path, content: bytes, why: str
) -> None:
    path = tmp_path / "city.geojson"
    path.write_bytes(content)
    with pytest.raises(InvalidUpload, match=why) as caught:
        load_boundary(path)
    assert "city_boundary setting" in caught.value.message


def test_a_missing_boundary_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(InvalidUpload, match="missing.geojson cannot be used: No such file"):
        load_boundary(tmp_path / "missing.geojson")
