"""Large loads convert their chunks in worker processes: same values, same order, same errors."""

from __future__ import annotations

import datetime as dt
import functools
import gc
from pathlib import Path

import pytest

from civicport.datastore.convert import convert_columns
from civicport.datastore.tables import ColumnSchema
from civicport.errors import InvalidUpload
from civicport.ingest.chunks import Chunk, encode_chunk
from civicport.ingest.reader import read_file
from civicport.ingest.workers import convert_in_workers, map_in_workers


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_workers_give_the_stored_columns_the_rows_give(big_csv: Path, dialect: str) -> None:
    sequential = read_file(big_csv, parallel=False)
    assert sequential.column_batches is None
    parallel = read_file(big_csv, parallel=True)
    assert parallel.column_batches is not None
    assert parallel.columns == sequential.columns
    schema = [ColumnSchema(c.field_name, c.soda_type) for c in parallel.columns]
    assert [c.soda_type for c in schema] == [
        "text", "floating_timestamp", "number", "checkbox", "point",
    ]  # fmt: skip

    finish = functools.partial(convert_columns, schema, dialect)
    batches = list(parallel.column_batches(finish))
    assert len(batches) > 1
    from_workers = [row for batch in batches for row in zip(*batch, strict=True)]
    rows = list(sequential.rows)
    expected = list(
        zip(*convert_columns(schema, dialect, list(zip(*rows, strict=True))), strict=True)
    )
    assert len(from_workers) == len(rows) > 10_000
    assert from_workers == expected
    assert [type(v) for v in from_workers[1]] == [type(v) for v in expected[1]]
    if dialect == "postgresql":  # reader values pass through: datetimes survive the trip
        assert isinstance(from_workers[1][1], dt.datetime)


def refuse_second_chunk(chunk: Chunk) -> list[list[str]]:
    if chunk.first_row > 1:
        raise InvalidUpload("row 3, column x: 'bad' is not a number", data={"row": 3})
    return [list(column) for column in chunk.columns]


def test_an_error_in_a_worker_reaches_the_loader_with_its_row() -> None:
    blobs = [encode_chunk(Chunk(first_row=n, columns=[["a", "b"]])) for n in (1, 3)]
    batches = convert_in_workers(blobs, refuse_second_chunk, list, workers=2)
    assert next(batches) == [["a", "b"]]
    with pytest.raises(InvalidUpload, match="row 3, column x") as caught:
        next(batches)
    assert caught.value.data == {"row": 3}


def test_checks_in_workers_find_the_first_bad_cell_by_row(big_csv: Path, tmp_path: Path) -> None:
    lines = big_csv.read_text(encoding="utf-8").splitlines()
    for row in (15_000, 19_000):  # two bad cells, in different chunks
        case_id, opened, _days, rest = lines[row].split(",", 3)
        lines[row] = ",".join([case_id, opened, "n/a", rest])
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.raises(InvalidUpload, match="row 15,000, column days: 'n/a'"):
        read_file(bad, type_overrides={"Days": "number"}, parallel=True)
    inferred = read_file(bad, parallel=True)
    assert [c.soda_type for c in inferred.columns] == [
        c.soda_type for c in read_file(bad, parallel=False).columns
    ]
    assert inferred.columns[2].soda_type == "text"


def collector_enabled(_item: int) -> bool:
    return gc.isenabled()


def test_load_workers_run_without_the_cyclic_gc() -> None:
    assert list(map_in_workers(collector_enabled, [1, 2, 3], workers=2)) == [False] * 3
