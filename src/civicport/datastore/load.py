"""Bulk loading: make a data table, stream rows into it in batches, then index it.

Rows are never materialized: they are converted and sent in batches of BATCH_ROWS (SQLite:
executemany on the driver cursor; PostgreSQL: COPY). Indexes and the full-text index are built
after the load, which is several times faster than maintaining them row by row. Everything here
runs inside the caller's transaction (see transactions.py), so a failure undoes all of it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from typing import Any

import sqlalchemy as sa

from civicport.datastore.convert import batch_converter
from civicport.datastore.fulltext import (
    fts_table_name,
    pg_index_statement,
    sqlite_index_statements,
)
from civicport.datastore.summary import summary_table_name
from civicport.datastore.tables import ColumnSchema, build_table, q
from civicport.datastore.types import format_fixed

BATCH_ROWS = 10_000
# Text columns whose sampled values average fewer characters than this get a b-tree index:
# they are the codes and names people filter and sort on; long prose is served by `$q`.
SHORT_TEXT_CHARS = 40
TEXT_SAMPLE_ROWS = 10_000
INDEXED_TYPES = frozenset(
    {"number", "double", "checkbox", "floating_timestamp", "fixed_timestamp", "point"}
)
Progress = Callable[[int], None]


def system_timestamp(now: dt.datetime, dialect: str) -> Any:
    """`_created_at`/`_updated_at` as stored: fixed-format UTC text on SQLite, timestamptz on PG."""
    return now if dialect == "postgresql" else format_fixed(now)


def create_data_table(conn: sa.Connection, name: str, columns: Sequence[ColumnSchema]) -> sa.Table:
    """Create the physical table for `columns` (system columns included) and return it."""
    table = build_table(name, columns, conn.dialect.name)
    table.create(conn)
    return table


def drop_data_table(conn: sa.Connection, name: str) -> None:
    """Drop a data table, its full-text index (triggers and PostgreSQL's go with the table)
    and its summary table."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(fts_table_name(name))}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(summary_table_name(name))}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {q(name)}")


def insert_rows(
    conn: sa.Connection,
    table_name: str,
    columns: Sequence[ColumnSchema],
    rows: Iterable[Sequence[Any]],
    *,
    first_id: int,
    now: dt.datetime,
    progress: Progress | None = None,
) -> int:
    """Insert `rows` (tuples in `columns` order, reader values) with ids first_id, first_id+1, ….

    Returns how many rows were inserted. Columns of the table not in `columns` are left NULL.
    """
    convert = batch_converter(columns, conn.dialect.name)
    stored = (convert(batch) for batch in _batches(rows))
    return insert_columns(
        conn, table_name, columns, stored, first_id=first_id, now=now, progress=progress
    )


def insert_columns(
    conn: sa.Connection,
    table_name: str,
    columns: Sequence[ColumnSchema],
    batches: Iterable[Sequence[Sequence[Any]]],
    *,
    first_id: int,
    now: dt.datetime,
    progress: Progress | None = None,
) -> int:
    """insert_rows for batches already in their stored form: per batch, one sequence per
    physical column of `columns` (see convert.convert_columns). Returns the rows inserted."""
    dialect = conn.dialect.name
    stamp = system_timestamp(now, dialect)
    names = ["_id", "_created_at", "_updated_at"] + [p for c in columns for p in c.physical]
    write = _copy_batches if dialect == "postgresql" else _executemany_batches

    def prepared() -> Iterator[list[tuple[Any, ...]]]:
        next_id = first_id
        for stored in batches:
            size = len(stored[0]) if stored else 0
            yield list(zip(range(next_id, next_id + size), repeat(stamp), repeat(stamp), *stored))
            next_id += size

    return write(conn, table_name, names, prepared(), progress)


def _executemany_batches(
    conn: sa.Connection,
    table_name: str,
    names: list[str],
    batches: Iterable[list[tuple[Any, ...]]],
    progress: Progress | None,
) -> int:
    sql = (
        f"INSERT INTO {q(table_name)} ({', '.join(q(n) for n in names)}) "
        f"VALUES ({', '.join('?' for _ in names)})"
    )
    # The driver cursor skips SQLAlchemy's per-row parameter processing: several times faster.
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    total = 0
    try:
        for batch in batches:
            cursor.executemany(sql, batch)
            total += len(batch)
            if progress:
                progress(total)
    finally:
        cursor.close()
    return total


def _copy_batches(
    conn: sa.Connection,
    table_name: str,
    names: list[str],
    batches: Iterable[list[tuple[Any, ...]]],
    progress: Progress | None,
) -> int:
    sql = f"COPY {q(table_name)} ({', '.join(q(n) for n in names)}) FROM STDIN"
    total = 0
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(sql) as copy:
        for batch in batches:
            for row in batch:
                copy.write_row(row)
            total += len(batch)
            if progress:
                progress(total)
    return total


def _batches(rows: Iterable[Sequence[Any]]) -> Iterator[list[Sequence[Any]]]:
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, BATCH_ROWS)):
        yield batch


def build_indexes(
    conn: sa.Connection,
    table_name: str,
    columns: Sequence[ColumnSchema],
    *,
    unique: str | None = None,
) -> None:
    """Index a freshly loaded table: b-trees on the columns filters and sorts hit, a unique
    index on the row identifier `unique` (if any), and the full-text index of its text columns.

    A duplicate row-identifier value makes the unique index fail with IntegrityError; callers
    check for duplicates first (see writes.find_duplicate_key) to report them by row.
    Run it inside parallel_sorting for speed on SQLite.
    """
    dialect = conn.dialect.name
    # "What changed since" (`$where=:updated_at > …`) and the diff between versions seek on it.
    conn.exec_driver_sql(
        f"CREATE INDEX {q(table_name + '_updated')} ON {q(table_name)} (_updated_at)"
    )
    for position, column in enumerate(columns):
        if column.field_name == unique:
            create_key_index(conn, table_name, unique)
        elif _wants_index(conn, table_name, column):
            # A point is filtered by box/circle: latitude narrows it down well enough.
            physical = column.physical[-1]
            conn.exec_driver_sql(
                f"CREATE INDEX {q(f'{table_name}_ix{position}')} ON {q(table_name)} ({q(physical)})"
            )
    searchable = text_columns(columns)
    if searchable:
        if dialect == "postgresql":
            conn.exec_driver_sql(pg_index_statement(table_name, searchable))
        else:
            for statement in sqlite_index_statements(table_name, searchable):
                conn.exec_driver_sql(statement)
    # The first queries should not plan blind: without statistics SQLite picks an equality
    # index over a range index that serves the ORDER BY (benchmark Q3: 300 ms instead of 1 ms).
    conn.exec_driver_sql(f"ANALYZE {q(table_name)}")


@contextlib.contextmanager
def parallel_sorting(conn: sa.Connection) -> Iterator[None]:
    """Let SQLite's sorter use the other cores while it builds indexes and summaries (~35%
    faster on 2 cores). Set per connection, and put back so queries keep one thread each."""
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql(f"PRAGMA threads={min(os.cpu_count() or 1, 4)}")
    try:
        yield
    finally:
        conn.exec_driver_sql("PRAGMA threads=0")


def create_key_index(conn: sa.Connection, table_name: str, key: str) -> None:
    """The unique index on the row-identifier column that upserts match rows on."""
    conn.exec_driver_sql(
        f"CREATE UNIQUE INDEX {q(table_name + '_key')} ON {q(table_name)} ({q(key)})"
    )


def _wants_index(conn: sa.Connection, table_name: str, column: ColumnSchema) -> bool:
    if column.soda_type in INDEXED_TYPES:
        return True
    if column.soda_type != "text":
        return False
    name = q(column.field_name)
    average = conn.exec_driver_sql(
        f"SELECT avg(length({name})) FROM "
        f"(SELECT {name} FROM {q(table_name)} WHERE {name} IS NOT NULL LIMIT {TEXT_SAMPLE_ROWS}) s"
    ).scalar()
    return average is not None and float(average) < SHORT_TEXT_CHARS


def text_columns(columns: Sequence[ColumnSchema]) -> list[str]:
    """Field names the full-text index covers."""
    return [c.field_name for c in columns if c.soda_type == "text"]
