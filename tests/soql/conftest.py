"""A small real table of Hartford places on each backend, and a helper that runs SoQL on it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from civicport.datastore import fulltext
from civicport.datastore.summary import choose_dimensions, summary_table_name, write_summary
from civicport.datastore.tables import ColumnSchema, SummarySchema, TableSchema, build_table
from civicport.datastore.types import format_fixed, format_floating, to_storage
from civicport.soql.compiler import compile_query
from civicport.soql.params import SodaParams

COLUMNS = (
    ColumnSchema("name", "text"),
    ColumnSchema("category", "text"),
    ColumnSchema("amount", "number"),
    ColumnSchema("ratio", "double"),
    ColumnSchema("opened", "floating_timestamp"),
    ColumnSchema("closed", "fixed_timestamp"),
    ColumnSchema("is_open", "checkbox"),
    ColumnSchema("location", "point"),
    ColumnSchema("description", "text"),
)
UTC = dt.UTC

# name, category, amount, ratio, opened, closed, is_open, location (lon, lat), description
ROWS: list[tuple[Any, ...]] = [
    ("Bushnell Park", "park", 10, 0.5, dt.datetime(2023, 1, 15, 10, 30),
     dt.datetime(2023, 1, 16, 12, 0, tzinfo=UTC), True, (-72.6851, 41.7658),
     "Broken bench near the carousel"),
    ("Elizabeth Park", "park", Decimal("25.5"), 1.25, dt.datetime(2022, 6, 1, 8, 0),
     None, False, (-72.7197, 41.7758), "Rose garden pipes are broken"),
    ("Colt Park", "Park", None, None, dt.datetime(2023, 3, 3),
     dt.datetime(2023, 3, 5, 9, 15, tzinfo=UTC), True, (-72.6658, 41.7519),
     "Pothole on Wethersfield Avenue"),
    ("State Capitol", "building", 100, 2.0, dt.datetime(2021, 12, 31, 23, 59, 59),
     dt.datetime(2022, 1, 1, 0, 0, tzinfo=UTC), None, (-72.6822, 41.7637),
     "O'Brien's complaint about the dome"),
    ("apple store", "shop", -3, None, None, None, False, None, None),
    ("West Farms Mall", "shop", 7, 0.25, dt.datetime(2024, 2, 29, 12, 0),
     dt.datetime(2024, 3, 1, 18, 30, tzinfo=UTC), True, (-72.7627, 41.7232),
     "Parking lot lights broken"),
    ("Zeta Lot", None, 0, 3.5, dt.datetime(2023, 1, 1), None, False, (-72.6700, 41.7700),
     "Quiet lot"),
]  # fmt: skip
CREATED = dt.datetime(2024, 1, 1, tzinfo=UTC)


def make_table(conn: sa.Connection, name: str, *, fts: bool) -> TableSchema:
    """Create and fill the sample table (ids 1..7) and, when asked, its full-text index."""
    dialect = conn.dialect.name
    table = build_table(name, COLUMNS, dialect)
    table.metadata.create_all(conn)
    records = []
    for index, row in enumerate(ROWS, start=1):
        stamp = CREATED + dt.timedelta(days=index)
        record: dict[str, Any] = {
            "_id": index,
            "_created_at": stamp if dialect == "postgresql" else format_fixed(stamp),
            "_updated_at": stamp if dialect == "postgresql" else format_fixed(stamp),
        }
        for column, value in zip(COLUMNS, row, strict=True):
            for physical, stored in zip(
                column.physical, to_storage(value, column.soda_type, dialect), strict=True
            ):
                record[physical] = stored
        records.append(record)
    conn.execute(table.insert(), records)
    text_columns = [c.field_name for c in COLUMNS if c.soda_type == "text"]
    fts_table = None
    if fts and dialect == "sqlite":
        for statement in fulltext.sqlite_index_statements(name, text_columns):
            conn.exec_driver_sql(statement)
        fts_table = fulltext.fts_table_name(name)
    elif fts:
        conn.exec_driver_sql(fulltext.pg_index_statement(name, text_columns))
    return TableSchema(name, COLUMNS, dialect, ids_dense=True, min_row_id=1, fts_table=fts_table)


def plain(value: Any) -> Any:
    """One result value in a dialect-neutral form, so both backends compare equal."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime):
        return format_fixed(value) if value.tzinfo else format_floating(value)
    return value


Run = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def conn(engine: sa.Engine) -> Iterator[sa.Connection]:
    with engine.begin() as connection:
        yield connection


@pytest.fixture
def schema(conn: sa.Connection) -> TableSchema:
    return make_table(conn, "d_test_1234_g1", fts=True)


@pytest.fixture
def run(conn: sa.Connection, schema: TableSchema) -> Run:
    """run($where=..., ...) → rows as {output name: plain value}; points as (lon, lat)."""

    def run_query(table: TableSchema | None = None, **soda: Any) -> list[dict[str, Any]]:
        params = SodaParams(
            **{k: v for k, v in soda.items() if k != "filters"},
            filters=tuple(soda.get("filters", ())),
        )
        compiled = compile_query(params, table or schema)
        rows = conn.exec_driver_sql(compiled.sql, compiled.params).fetchall()
        out = []
        for row in rows:
            values = iter(row)
            record = {}
            for column in compiled.columns:
                cells = [plain(next(values)) for _ in range(column.width)]
                if column.soda_type == "checkbox" and cells[0] is not None:
                    cells[0] = bool(cells[0])
                record[column.name] = tuple(cells) if column.width == 2 else cells[0]
            out.append(record)
        return out

    return run_query


COPIES = 60  # 420 rows: enough rows per group for a summary to be worth keeping


@pytest.fixture
def summarized(conn: sa.Connection) -> TableSchema:
    """The sample rows repeated COPIES times (amounts shifted per copy), with a summary."""
    schema = make_table(conn, "d_summ_1234_g1", fts=False)
    table = schema.table_name
    for copy in range(1, COPIES):
        conn.exec_driver_sql(
            f'INSERT INTO "{table}" SELECT _id + {copy * len(ROWS)}, _created_at, _updated_at, '
            f"name, category, amount + {copy}, ratio, opened, closed, is_open, "
            f'location__lon, location__lat, description FROM "{table}" WHERE _id <= {len(ROWS)}'
        )
    rows = COPIES * len(ROWS)
    dimensions = choose_dimensions(conn, table, schema.columns, rows)
    assert write_summary(conn, table, schema.columns, dimensions, rows)
    summary = SummarySchema(summary_table_name(table), tuple(dimensions), ("amount", "ratio"))
    return dataclasses.replace(schema, summary=summary)
