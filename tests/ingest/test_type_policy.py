"""Values that do not fit a chosen type: reject the load, leave them empty, or keep the column
as text, per column (ReadOptions.type_policy), on the sequential and the parallel path."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from civicport.datastore.convert import convert_columns
from civicport.datastore.tables import ColumnSchema
from civicport.errors import InvalidUpload
from civicport.ingest.reader import read_file
from civicport.ingest.records import ParsedTable, ReadOptions

DATES = {"inspection_date": "floating_timestamp"}
Write = Callable[..., Path]
BAD_DATES = ("31/02/2019", "soon", "2019-13-01", "n/a")


@pytest.fixture
def inspections(write: Write) -> Path:
    """1,300 rows; inspection_date has 4 bad values from row 1,204 on, score one at row 7."""
    lines = ["name,inspection_date,score"]
    bad_rows = dict(zip((1204, 1210, 1250, 1299), BAD_DATES, strict=True))
    for row in range(1, 1301):
        date = bad_rows.get(row, f"2019-01-{row % 28 + 1:02d}")
        score = "ninety" if row == 7 else str(row % 100)
        lines.append(f"Place {row},{date},{score}")
    return write("inspections.csv", "\n".join(lines) + "\n")


def read(path: Path, policy: dict[str, str] | None = None, **overrides: str) -> ParsedTable:
    options = ReadOptions(type_policy=policy or {})
    return read_file(path, type_overrides=overrides or DATES, options=options, parallel=False)


def test_reject_names_the_first_bad_cell_and_counts_the_rest(inspections: Path) -> None:
    with pytest.raises(InvalidUpload) as err:
        read(inspections)
    assert err.value.message == (
        "row 1,204, column inspection_date: '31/02/2019' is not a date; 3 more like it"
    )
    assert err.value.data == {
        "row": 1204,
        "column": "inspection_date",
        "count": 4,
        "columns": ["inspection_date"],
    }


def test_reject_is_the_default_and_can_be_said(inspections: Path) -> None:
    with pytest.raises(InvalidUpload, match="; 3 more like it$"):
        read(inspections, {"inspection_date": "reject"})


def test_reject_names_the_earliest_bad_cell_and_the_other_columns(inspections: Path) -> None:
    with pytest.raises(InvalidUpload) as err:
        read(inspections, inspection_date="floating_timestamp", score="number")
    assert err.value.message == (
        "row 7, column score: 'ninety' is not a number; column inspection_date has bad values too"
    )
    assert err.value.data["columns"] == ["inspection_date", "score"]


def test_a_single_bad_value_has_no_count(write: Write) -> None:
    path = write("t.csv", "n\n1\n2\nthree\n")
    with pytest.raises(InvalidUpload) as err:
        read(path, n="number")
    assert err.value.message == "row 3, column n: 'three' is not a number"


def test_null_leaves_bad_values_empty_and_warns(inspections: Path) -> None:
    table = read(inspections, {"inspection_date": "null"})
    # score is inferred, not chosen: its 'ninety' makes it text, without a word.
    assert [c.soda_type for c in table.columns] == ["text", "floating_timestamp", "text"]
    rows = list(table.rows)
    assert len(rows) == 1300
    assert [rows[n - 1][1] for n in (1204, 1210, 1250, 1299)] == [None] * 4
    assert rows[1204][1] == dt.datetime(2019, 1, 1205 % 28 + 1)  # row 1,205
    assert sum(r[1] is None for r in rows) == 4
    assert table.warnings == [
        "Column inspection_date: 4 values were not dates and were left empty "
        "(the first at row 1,204: '31/02/2019')"
    ]


def test_null_with_one_bad_value_says_it_once(write: Write) -> None:
    path = write("t.csv", "open\ntrue\nmaybe\nno\n")
    table = read(path, {"open": "null"}, open="checkbox")
    assert list(table.rows) == [(True,), (None,), (False,)]
    assert table.warnings == [
        "Column open: 1 value was not true or false and was left empty (row 2: 'maybe')"
    ]


def test_text_keeps_the_column_as_text_and_warns(inspections: Path) -> None:
    table = read(inspections, {"inspection_date": "text"})
    assert [c.soda_type for c in table.columns] == ["text", "text", "text"]
    rows = list(table.rows)
    assert rows[1203][1] == "31/02/2019"
    assert rows[0][1] == "2019-01-02"
    assert table.warnings == [
        "Column inspection_date: 4 values were not dates, so the column was read as text "
        "(the first at row 1,204: '31/02/2019')"
    ]


def test_policies_change_nothing_when_every_value_fits(write: Write) -> None:
    path = write("t.csv", 'amount\n"$1,200"\n7\n\n')
    for policy in ("reject", "null", "text"):
        table = read(path, {"amount": policy}, amount="number")
        assert table.columns[0].soda_type == "number"
        assert list(table.rows) == [(1200,), (7,)]
        assert table.warnings == []


def test_each_column_follows_its_own_policy(inspections: Path) -> None:
    table = read(
        inspections,
        {"Inspection Date": "null", "score": "text"},  # a display name matches too
        inspection_date="floating_timestamp",
        score="number",
    )
    assert [c.soda_type for c in table.columns] == ["text", "floating_timestamp", "text"]
    assert [w.split(":")[0] for w in table.warnings] == [
        "Column inspection_date",
        "Column score",
    ]
    assert table.warnings[1] == (
        "Column score: 1 value was not a number, so the column was read as text (row 7: 'ninety')"
    )


def test_a_rejecting_column_fails_the_read_whatever_the_others_do(inspections: Path) -> None:
    with pytest.raises(InvalidUpload) as err:
        read(
            inspections,
            {"score": "null"},
            inspection_date="floating_timestamp",
            score="number",
        )
    assert err.value.message.startswith("row 1,204, column inspection_date:")
    assert "score" not in err.value.message


def test_a_policy_for_a_column_the_file_lacks_is_ignored(write: Write) -> None:
    path = write("t.csv", "n\n1\n")
    assert list(read(path, {"gone": "null"}, n="number").rows) == [(1,)]


def test_an_unknown_policy_is_refused(write: Write) -> None:
    path = write("t.csv", "n\n1\n")
    with pytest.raises(InvalidUpload, match="must be one of reject, null, text, not 'drop'"):
        read(path, {"n": "drop"}, n="number")


def test_policy_applies_to_types_a_file_declares(write: Write) -> None:
    """A GeoJSON layer declares its geometry; a point column chosen by --type is checked
    the same way: here, a location column with a cell that is not a point."""
    path = write("t.csv", 'site,where\nA,"(41.7, -72.6)"\nB,somewhere\n')
    table = read(path, {"where": "null"}, where="point")
    assert list(table.rows) == [("A", (-72.6, 41.7)), ("B", None)]
    assert table.warnings == [
        "Column where: 1 value was not a point and was left empty (row 2: 'somewhere')"
    ]


def test_choosing_the_types_a_file_would_get_changes_no_value(big_csv: Path) -> None:
    """What a replace does: the dataset's types are given for every column."""
    inferred = read_file(big_csv, parallel=False)
    types = {c.field_name: c.soda_type for c in inferred.columns}
    chosen = read_file(big_csv, type_overrides=types, parallel=False)
    assert chosen.columns == inferred.columns
    rows = list(chosen.rows)
    assert rows == list(inferred.rows)
    assert [type(v) for v in rows[1]] == [str, dt.datetime, float, bool, tuple]


def test_dataset_types_apply_to_the_columns_the_file_has(write: Write) -> None:
    """A replace keeps the dataset's types: '02134' stays text, a removed column is no error,
    and an explicit override still wins."""
    path = write("t.csv", "Zip,Opened,Score\n02134,2019-01-02,7\n60616,soon,8\n")
    options = ReadOptions(
        dataset_types={"zip": "text", "opened": "floating_timestamp", "gone": "number",
                       "score": "number"},
        type_policy={"opened": "null"},
    )  # fmt: skip
    table = read_file(path, type_overrides={"score": "text"}, options=options)
    assert [c.soda_type for c in table.columns] == ["text", "floating_timestamp", "text"]
    assert list(table.rows) == [
        ("02134", dt.datetime(2019, 1, 2), "7"),
        ("60616", None, "8"),
    ]
    assert table.warnings == [
        "Column opened: 1 value was not a date and was left empty (row 2: 'soon')"
    ]
    with pytest.raises(InvalidUpload, match="row 2, column opened: 'soon' is not a date"):
        read_file(path, options=ReadOptions(dataset_types={"opened": "floating_timestamp"}))
    with pytest.raises(InvalidUpload, match="unknown type 'money!'"):
        read_file(path, options=ReadOptions(dataset_types={"zip": "money!"}))


# --- the parallel path -------------------------------------------------------------------------


@pytest.fixture
def big_bad_csv(big_csv: Path, tmp_path: Path) -> Path:
    """big_csv with 'n/a' in Days at rows 15,000 and 19,000 (different chunks)."""
    lines = big_csv.read_text(encoding="utf-8").splitlines()
    for row in (15_000, 19_000):
        case_id, opened, _days, rest = lines[row].split(",", 3)
        lines[row] = ",".join([case_id, opened, "n/a", rest])
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_parallel_reject_counts_across_chunks(big_bad_csv: Path) -> None:
    with pytest.raises(InvalidUpload) as err:
        read_file(big_bad_csv, type_overrides={"Days": "number"}, parallel=True)
    assert err.value.message == "row 15,000, column days: 'n/a' is not a number; 1 more like it"


@pytest.mark.parametrize("policy", ["null", "text"])
def test_parallel_policies_give_what_the_sequential_path_gives(
    big_bad_csv: Path, policy: str
) -> None:
    options = ReadOptions(type_policy={"days": policy})
    kwargs: dict[str, Any] = {"type_overrides": {"Days": "number"}, "options": options}
    sequential = read_file(big_bad_csv, parallel=False, **kwargs)
    parallel = read_file(big_bad_csv, parallel=True, **kwargs)
    assert parallel.columns == sequential.columns
    assert parallel.warnings == sequential.warnings
    assert len(parallel.warnings) == 1
    assert "2 values were not numbers" in parallel.warnings[0]
    assert "(the first at row 15,000: 'n/a')" in parallel.warnings[0]

    schema = [ColumnSchema(c.field_name, c.soda_type) for c in parallel.columns]
    assert parallel.column_batches is not None
    finish = functools.partial(convert_columns, schema, "sqlite")
    days = [v for batch in parallel.column_batches(finish) for v in batch[2]]
    expected = [row[2] for row in sequential.rows]
    assert days == expected
    if policy == "null":
        assert days[14_999] is None
        assert days[18_999] is None
        assert days[1] == 1.1
    else:
        assert days[14_999] == "n/a"
        assert days[1] == "1.1"
