"""The rows that differ between two versions of a dataset, keyed by the row identifier.

Only rows written or superseded between the two versions' instants can differ
(datastore.history.touched_ids_sql), so a diff reads those, not the whole dataset: two versions
of a million rows with 1% changed cost a query over ten thousand rows on each side. Both sides
are read through the SoQL compiler, so values come out exactly as the API shows rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from civicport.catalog.records import DatasetRecord
from civicport.catalog.versions import Version, get_version, rows_at_select
from civicport.datastore.history import touched_ids_sql
from civicport.datastore.tables import TableSchema
from civicport.errors import Conflict
from civicport.soql.compiler import CompiledQuery, OutputColumn, compile_query
from civicport.soql.params import SodaParams

# "Everything": a diff has no row limit (it streams), but LIMIT needs a number.
ALL_ROWS = str(2**62)
SYSTEM = (":id", ":created_at", ":updated_at")
Row = Sequence[Any]


@dataclass(frozen=True)
class RowChange:
    """One row that differs: added, removed or changed, with its values on each side (raw, in
    VersionDiff.columns order: the system columns, then the data)."""

    change: str
    key: str
    before: Row | None
    after: Row | None

    def changed_columns(self, columns: Sequence[OutputColumn]) -> list[str]:
        if self.before is None or self.after is None:
            return []
        return [
            name for name, start, end in _spans(columns)
            if name not in SYSTEM and self.before[start:end] != self.after[start:end]
        ]  # fmt: skip


@dataclass(frozen=True)
class VersionDiff:
    older: Version
    newer: Version
    columns: tuple[OutputColumn, ...]
    key_column: str | None  # None: rows are keyed by a hash of their values

    def changes(self, conn: sa.Connection) -> Iterator[RowChange]:
        """The differing rows in `:id` order, streamed from the database."""
        before = _stream(conn, self._query(self.older, conn.dialect.name))
        after = _stream(conn, self._query(self.newer, conn.dialect.name))
        key_at = self._key_position()
        starts = {name: start for name, start, _ in _spans(self.columns)}
        data_from = max(starts[name] for name in SYSTEM) + 1
        for old, new in _merge_by_id(before, after, starts[":id"]):
            if old is not None and new is not None:
                if tuple(old[data_from:]) == tuple(new[data_from:]):
                    continue  # changed and changed back between the two versions
                yield RowChange("changed", _key(new, key_at, data_from), old, new)
            elif new is not None:
                yield RowChange("added", _key(new, key_at, data_from), None, new)
            elif old is not None:
                yield RowChange("removed", _key(old, key_at, data_from), old, None)

    def _query(self, version: Version, dialect: str) -> CompiledQuery:
        touched = touched_ids_sql(
            self.newer.data_table, self.older.made_at, self.newer.made_at, dialect
        )
        schema = TableSchema(
            table_name=version.data_table,
            columns=version.schema(),
            dialect=dialect,
            source_sql=(
                f"SELECT * FROM ({rows_at_select(version, dialect)}) AS v WHERE _id IN ({touched})"
            ),
        )
        return compile_query(SodaParams(select=":*, *", order=":id", limit=ALL_ROWS), schema)

    def _key_position(self) -> int | None:
        starts = {name: start for name, start, _ in _spans(self.columns)}
        return starts.get(self.key_column) if self.key_column else None


def diff_versions(conn: sa.Connection, dataset: DatasetRecord, a: int, b: int) -> VersionDiff:
    """The diff from version `a` to version `b` (either order: the older is "before").
    NotFound for a version not kept; Conflict when the two have different columns."""
    first, second = get_version(conn, dataset.id, a), get_version(conn, dataset.id, b)
    older, newer = (first, second) if first.version <= second.version else (second, first)
    if not comparable(older, newer):
        raise Conflict(
            f"Versions {older.version} and {newer.version} of dataset '{dataset.id}' have "
            "different columns, so their rows cannot be paired: download both to compare them"
        )
    schema = TableSchema(newer.data_table, newer.schema(), conn.dialect.name)
    columns = compile_query(SodaParams(select=":*, *", limit="1"), schema).columns
    return VersionDiff(older, newer, columns, newer.row_identifier)


def comparable(older: Version, newer: Version) -> bool:
    """Whether two versions' rows can be paired: the same table and columns (a load that
    changed the columns started a new table; both versions can still be downloaded)."""
    return older.data_table == newer.data_table and older.columns == newer.columns


def _spans(columns: Sequence[OutputColumn]) -> list[tuple[str, int, int]]:
    """Each output column's name and the slice of SQL values carrying it (a point has two)."""
    spans, start = [], 0
    for column in columns:
        spans.append((column.name, start, start + column.width))
        start += column.width
    return spans


def _stream(conn: sa.Connection, query: CompiledQuery) -> Iterator[Row]:
    result = conn.exec_driver_sql(query.sql, query.params)
    try:
        while batch := result.fetchmany(1000):
            yield from batch
    finally:
        result.close()


def _merge_by_id(
    before: Iterator[Row], after: Iterator[Row], at: int
) -> Iterator[tuple[Row | None, Row | None]]:
    """Pair two row streams ordered by `:id` (the value at position `at`)."""
    old, new = next(before, None), next(after, None)
    while old is not None or new is not None:
        if new is None or (old is not None and old[at] < new[at]):
            yield old, None
            old = next(before, None)
        elif old is None or new[at] < old[at]:
            yield None, new
            new = next(after, None)
        else:
            yield old, new
            old, new = next(before, None), next(after, None)


def _key(row: Row, position: int | None, data_from: int) -> str:
    """The row identifier's value, or a short hash of the row's data without one."""
    if position is not None:
        return str(row[position])
    values = orjson.dumps(
        list(row[data_from:]), default=str, option=orjson.OPT_PASSTHROUGH_DATETIME
    )
    return hashlib.sha256(values).hexdigest()[:16]
