"""datastore.load / convert / transactions: stored values, indexes, all-or-nothing writes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from civicport.datastore.convert import batch_converter
from civicport.datastore.load import build_indexes, create_data_table, insert_rows
from civicport.datastore.tables import ColumnSchema
from civicport.datastore.transactions import write_transaction
from civicport.datastore.types import SODA_TYPES, to_storage

NOW = dt.datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=dt.UTC)
SAMPLES = {
    "text": ["a", "", None],
    "url": ["https://example.org", None],
    "number": [1, 2.5, Decimal("3"), Decimal("0.1"), Decimal("12345678901234567890"), None],
    "double": [1.5, -0.0, None],
    "checkbox": [True, False, None],
    "floating_timestamp": [
        dt.datetime(2024, 1, 2, 3, 4, 5, 678901),
        dt.datetime(999, 12, 31),
        dt.datetime(2024, 1, 2, 3, 4, 5, 999),
        None,
    ],
    "fixed_timestamp": [
        dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        dt.datetime(2024, 6, 1, tzinfo=dt.UTC),
        None,
    ],
    "point": [(-72.5, 41.75), (0, 0), None],
    "polygon": [{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}, None],
}


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@pytest.mark.parametrize("soda_type", SODA_TYPES)
def test_batch_conversion_agrees_with_to_storage(soda_type, dialect):
    values = SAMPLES.get(soda_type, SAMPLES["polygon"])
    stored = batch_converter([ColumnSchema("c", soda_type)], dialect)([(v,) for v in values])
    expected = [to_storage(v, soda_type, dialect) for v in values]
    assert [list(cells) for cells in zip(*stored, strict=True)] == expected


def test_batch_conversion_rejects_ragged_rows():
    convert = batch_converter([ColumnSchema("a", "text"), ColumnSchema("b", "text")], "sqlite")
    with pytest.raises(ValueError, match="shorter"):
        convert([("x", "y"), ("x",)])


COLUMNS = [
    ColumnSchema("code", "text"),
    ColumnSchema("notes", "text"),
    ColumnSchema("amount", "number"),
    ColumnSchema("seen", "floating_timestamp"),
    ColumnSchema("spot", "point"),
    ColumnSchema("shape", "polygon"),
]


def _index_columns(conn: sa.Connection, table: str) -> set[str]:
    names = set()
    for index in sa.inspect(conn).get_indexes(table):
        names.update(index["column_names"])
    return {n for n in names if n}


def test_load_then_index(engine):
    long_note = "a long free-text note that people search with $q, not with filters " * 2
    rows = [
        (f"C{i}", long_note, i, dt.datetime(2024, 1, 1) + dt.timedelta(hours=i), (1.0, 2.0), None)
        for i in range(25_000)
    ]
    progress: list[int] = []
    with write_transaction(engine) as conn:
        create_data_table(conn, "d_test_0001_g1", COLUMNS)
        count = insert_rows(
            conn,
            "d_test_0001_g1",
            COLUMNS,
            iter(rows),
            first_id=7,
            now=NOW,
            progress=progress.append,
        )
        build_indexes(conn, "d_test_0001_g1", COLUMNS, unique="code")
    assert count == 25_000
    assert progress == [10_000, 20_000, 25_000]
    with engine.connect() as conn:
        low, high, n = conn.exec_driver_sql(
            'SELECT min(_id), max(_id), count(*) FROM "d_test_0001_g1"'
        ).one()
        assert (low, high, n) == (7, 25_006, 25_000)
        # short text, numbers, timestamps, point latitude, the key; not long prose or geometry
        assert _index_columns(conn, "d_test_0001_g1") >= {"code", "amount", "seen", "spot__lat"}
        assert not {"notes", "shape", "spot__lon"} & _index_columns(conn, "d_test_0001_g1")
        unique = [i for i in sa.inspect(conn).get_indexes("d_test_0001_g1") if i["unique"]]
        assert [i["column_names"] for i in unique] == [["code"]]


def test_write_transaction_undoes_ddl_and_rows_on_error(engine):
    def load_then_fail() -> None:
        with write_transaction(engine) as conn:
            create_data_table(conn, "d_test_0002_g1", COLUMNS[:1])
            insert_rows(conn, "d_test_0002_g1", COLUMNS[:1], [("x",)], first_id=1, now=NOW)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        load_then_fail()
    assert "d_test_0002_g1" not in sa.inspect(engine).get_table_names()
