"""A dataset's live rows read back as a file reader would hand them over: what a rescan scans
and what a re-application of privacy decisions loads again.

    table = read_live(conn, record, limit=5000)   # on the caller's connection
    with live_table(engine, record) as table:     # on a connection of its own, to load again
        drafts.edit_dataset(..., table=table, stored_rows=True)

Rows come in `:id` order through the SoQL compiler (the one query path), BATCH_ROWS at a time
— a server-side cursor on PostgreSQL, SQLite's lazy cursor — so memory does not grow with the
dataset. Each value is turned back into what readers yield (datastore.types.to_storage's
input): SQLite's timestamp text into datetimes and its 0/1 into booleans, a geometry's GeoJSON
text into a dict, a point's two columns into (lon, lat).

Why `live_table` reads on a connection of its own: a load fills its new table on its own
connection, and on PostgreSQL fetching from a cursor while COPY writes on the same connection
waits forever (psycopg serialises the connection; SQLite would allow it). The connection is
opened when the load asks for the first row — inside the load's transaction, once it holds
the dataset's lock — so no write can slip in between the rows read and the replace; reading
starts by checking that the rows are still those the table's columns were taken from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import sqlalchemy as sa

from civicport.catalog.records import DatasetRecord
from civicport.catalog.store import get_dataset
from civicport.datastore.types import GEOMETRY_TYPES
from civicport.errors import Conflict
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.soql.compiler import CompiledQuery, OutputColumn, compile_query
from civicport.soql.params import SodaParams

BATCH_ROWS = 2000
_ALL_ROWS = str(2**62)  # $limit for "every row"
Progress = Callable[[int], None]
Convert = Callable[[Any], Any]


def read_live(
    conn: sa.Connection, record: DatasetRecord, *, limit: int | None = None
) -> ParsedTable:
    """The dataset's live rows (the first `limit`, or all) read on `conn` as they are consumed,
    with its columns."""
    columns, compiled = _query(record, conn.dialect.name, limit)
    return ParsedTable(
        columns=columns, rows=_rows(conn, compiled, None), source_name=f"{record.id} (stored rows)"
    )


@contextmanager
def live_table(
    engine: sa.Engine, record: DatasetRecord, *, progress: Progress | None = None
) -> Iterator[ParsedTable]:
    """Every live row of `record`, to be loaded again: read on a connection of its own opened
    at the first row and closed after the last (before the load commits and drops the old
    table) or when the block ends. Conflict if the dataset's rows are no longer `record`'s
    when reading starts. `progress` is told the number of rows read after each batch."""
    columns, compiled = _query(record, engine.dialect.name, None)
    rows = _rows_on_own_connection(engine, record, compiled, progress)
    try:
        yield ParsedTable(columns=columns, rows=rows, source_name=f"{record.id} (stored rows)")
    finally:
        rows.close()


def _query(
    record: DatasetRecord, dialect: str, limit: int | None
) -> tuple[list[ColumnSpec], CompiledQuery]:
    """The dataset's columns as a reader names them, and the query of its rows in `:id` order."""
    schema = record.table_schema(dialect, summaries=False)
    params = SodaParams(order=":id", limit=_ALL_ROWS if limit is None else str(limit))
    compiled = compile_query(params, schema)
    by_name = {c.field_name: c for c in record.columns}
    columns = [
        ColumnSpec(c.field_name, c.display_name, c.soda_type, c.description)
        for c in (by_name[o.name] for o in compiled.columns)
    ]
    return columns, compiled


def _rows_on_own_connection(
    engine: sa.Engine, record: DatasetRecord, compiled: CompiledQuery, progress: Progress | None
) -> Generator[tuple[Any, ...], None, None]:
    """The rows, on a connection opened at the first row and closed after the last."""
    with engine.connect() as conn:
        current = get_dataset(conn, record.id)
        if (current.data_table, current.data_version) != (record.data_table, record.data_version):
            raise Conflict(
                f"The rows of dataset '{record.id}' changed while they were being prepared "
                "(another load or API write); try again"
            )
        yield from _rows(conn, compiled, progress)


def _rows(
    conn: sa.Connection, compiled: CompiledQuery, progress: Progress | None
) -> Iterator[tuple[Any, ...]]:
    convert = _row_converter(compiled.columns, conn.dialect.name)
    # On PostgreSQL a named (server-side) cursor: rows arrive a batch at a time, not all at
    # once. Set for this statement only: `conn` may be the caller's, which goes on writing.
    options = {"stream_results": True, "max_row_buffer": BATCH_ROWS}
    pg = conn.dialect.name == "postgresql"
    result = conn.exec_driver_sql(
        compiled.sql, compiled.params, execution_options=options if pg else None
    )
    read = 0
    try:
        while batch := result.fetchmany(BATCH_ROWS):
            for row in batch:
                yield convert(row)
            read += len(batch)
            if progress is not None:
                progress(read)
    finally:
        result.close()


def _row_converter(
    columns: tuple[OutputColumn, ...], dialect: str
) -> Callable[[sa.Row[Any]], tuple[Any, ...]]:
    """A SQL row → one reader value per column (a point's two SQL columns → one pair)."""
    cells: list[tuple[int, int, Convert | None]] = []
    index = 0
    for column in columns:
        cells.append((index, column.width, _value_converter(column.soda_type, dialect)))
        index += column.width

    def convert(row: sa.Row[Any]) -> tuple[Any, ...]:
        values = []
        for start, width, change in cells:
            if width == 2:
                lon, lat = row[start], row[start + 1]
                values.append(None if lon is None or lat is None else (lon, lat))
                continue
            value = row[start]
            values.append(value if change is None or value is None else change(value))
        return tuple(values)

    return convert


def _value_converter(soda_type: str, dialect: str) -> Convert | None:
    """How a stored value of `soda_type` becomes the reader's value again (None: as it is)."""
    if soda_type in GEOMETRY_TYPES and soda_type != "point":
        return orjson.loads  # stored as compact GeoJSON text
    if dialect != "sqlite":
        return None  # PostgreSQL hands back datetimes, Decimals and booleans
    if soda_type == "checkbox":
        return bool
    if soda_type in ("floating_timestamp", "fixed_timestamp"):
        # '2019-01-02T08:00:00.000' → naive; '2019-01-02T13:00:00.000Z' → aware, in UTC.
        return dt.datetime.fromisoformat
    return None
