"""datastore.writes: upsert with deletes, the way the Producer API will call it."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from civicport.datastore.history import create_history_table
from civicport.datastore.load import build_indexes, create_data_table, insert_rows
from civicport.datastore.tables import ColumnSchema
from civicport.datastore.transactions import write_transaction
from civicport.datastore.writes import DELETED, check_key_column, upsert_rows
from civicport.errors import InvalidUpload

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
COLUMNS = [ColumnSchema("code", "text"), ColumnSchema("n", "number")]
TABLE = "d_wrte_0001_g1"


@pytest.fixture
def loaded(engine) -> str:
    with write_transaction(engine) as conn:
        create_data_table(conn, TABLE, COLUMNS)
        insert_rows(conn, TABLE, COLUMNS, [("a", 1), ("b", 2), ("c", 3)], first_id=1, now=T0)
        build_indexes(conn, TABLE, COLUMNS, unique="code")
        create_history_table(conn, TABLE, COLUMNS)
    return TABLE


def _rows(engine):
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.exec_driver_sql(f'SELECT _id, code, n FROM "{TABLE}" ORDER BY _id')
        ]


def test_upsert_deletes_updates_and_inserts(engine, loaded):
    with write_transaction(engine) as conn:
        counts = upsert_rows(
            conn,
            TABLE,
            [*COLUMNS, DELETED],
            [("b", None, True), ("c", 30, False), ("d", 4, None), ("zz", None, True)],
            key="code",
            now=T1,
            first_id=4,
            table_columns=COLUMNS,
        )
    assert (counts.created, counts.updated, counts.deleted) == (1, 1, 1)
    assert [(i, c, int(n)) for i, c, n in _rows(engine)] == [(1, "a", 1), (3, "c", 30), (4, "d", 4)]
    assert f"{TABLE}_stage" not in sa.inspect(engine).get_table_names()
    # The deleted row and the updated row's old values went to the history, whole.
    with engine.connect() as conn:
        superseded = conn.exec_driver_sql(f'SELECT _id, code, n FROM "{TABLE}_h" ORDER BY _id')
        assert [(i, c, int(n)) for i, c, n in superseded] == [(2, "b", 2), (3, "c", 3)]


def test_check_key_column_refuses_missing_and_geometry_keys():
    with pytest.raises(InvalidUpload, match="not in the data"):
        check_key_column(COLUMNS, "id")
    with pytest.raises(InvalidUpload, match="cannot identify rows"):
        check_key_column([ColumnSchema("where", "point")], "where")
