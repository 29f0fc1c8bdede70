"""Changes to a dataset's current table: append, and upsert/delete by row identifier.

Upserts stage the incoming rows in a scratch table first (same bulk loader, `_id` = the row's
number in the upload), check them there with SQL (missing or duplicate identifiers), then apply
deletes, updates and inserts as three set-based statements. Nothing is applied unless all of it
is: the caller holds one transaction (transactions.write_transaction) around the whole call.

The same entry point serves file imports and the Producer API: a row iterator plus the columns
it carries, where an optional DELETED column marks rows to remove. `delete_rows` removes rows
named by their row-identifier values or system ids (the Producer API's single-row DELETE).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from civicport.datastore.load import Progress, drop_data_table, insert_rows
from civicport.datastore.tables import ColumnSchema, build_table, q
from civicport.datastore.types import GEOMETRY_TYPES, to_storage
from civicport.errors import InvalidUpload

# Include this column (value true) in an upsert's columns to delete the row with that identifier.
DELETED = ColumnSchema("_deleted", "checkbox", display_name=":deleted")


@dataclass(frozen=True)
class WriteCounts:
    """How many rows one write created, updated and deleted."""

    created: int = 0
    updated: int = 0
    deleted: int = 0


def id_range(conn: sa.Connection, table_name: str) -> tuple[int | None, int | None]:
    """(min(_id), max(_id)) of a table; both None when it is empty. Cheap: _id is the key."""
    low, high = conn.exec_driver_sql(f"SELECT min(_id), max(_id) FROM {q(table_name)}").one()
    return low, high


def append_rows(
    conn: sa.Connection,
    table_name: str,
    columns: Sequence[ColumnSchema],
    rows: Iterable[Sequence[Any]],
    *,
    now: dt.datetime,
    first_id: int,
    progress: Progress | None = None,
) -> WriteCounts:
    """Insert rows after the existing ones; `first_id` is the id the first new row gets."""
    created = insert_rows(
        conn, table_name, columns, rows, first_id=first_id, now=now, progress=progress
    )
    return WriteCounts(created=created)


def check_key_column(columns: Sequence[ColumnSchema], key: str) -> ColumnSchema:
    """The row-identifier column named `key`; InvalidUpload if it is absent or a geometry."""
    for column in columns:
        if column.field_name == key:
            if column.soda_type in GEOMETRY_TYPES:
                raise InvalidUpload(
                    f"Column '{key}' is a {column.soda_type} and cannot identify rows"
                )
            return column
    raise InvalidUpload(
        f"The row identifier column '{key}' is not in the data",
        code="soda.row.primary-key-nonexistent-or-null",
    )


def check_keys(conn: sa.Connection, table_name: str, key: str, *, first_id: int = 1) -> None:
    """Raise InvalidUpload naming the rows if `key` is missing or repeated in `table_name`.

    Row numbers count the table's rows from 1 at `first_id` (the upload's data rows).
    """
    table, name = q(table_name), q(key)
    null_id = conn.exec_driver_sql(f"SELECT min(_id) FROM {table} WHERE {name} IS NULL").scalar()
    if null_id is not None:
        raise InvalidUpload(
            f"Row {null_id - first_id + 1} has no value in the row identifier column '{key}'",
            code="soda.row.primary-key-nonexistent-or-null",
        )
    duplicate = conn.exec_driver_sql(
        f"SELECT {name}, min(_id) FROM {table} GROUP BY {name} HAVING count(*) > 1 "
        "ORDER BY 2 LIMIT 1"
    ).first()
    if duplicate is None:
        return
    value, first = duplicate
    second = conn.execute(
        sa.text(f"SELECT min(_id) FROM {table} WHERE {name} = :value AND _id > :first"),
        {"value": value, "first": first},
    ).scalar_one()
    raise InvalidUpload(
        f"Row identifier '{key}' value {value!r} appears in rows {first - first_id + 1} and "
        f"{second - first_id + 1}; each row needs its own value",
        data={"value": value, "rows": [first - first_id + 1, second - first_id + 1]},
    )


def upsert_rows(
    conn: sa.Connection,
    table_name: str,
    columns: Sequence[ColumnSchema],
    rows: Iterable[Sequence[Any]],
    *,
    key: str,
    now: dt.datetime,
    first_id: int,
    progress: Progress | None = None,
) -> WriteCounts:
    """Update rows whose `key` value exists, insert the others (ids from `first_id`), and delete
    those flagged by a DELETED column. Only the given columns of updated rows change; their
    `_created_at` is kept and `_updated_at` set to `now`. The table needs a unique index on key.
    """
    check_key_column(columns, key)
    stage = f"{table_name}_stage"
    drop_data_table(conn, stage)
    build_table(stage, columns, conn.dialect.name).create(conn)
    insert_rows(conn, stage, columns, rows, first_id=1, now=now, progress=progress)
    check_keys(conn, stage, key)

    target, k = q(table_name), q(key)
    has_deleted = DELETED in columns
    kept = "NOT coalesce(s._deleted, FALSE)" if has_deleted else "TRUE"
    deleted = 0
    if has_deleted:
        deleted = conn.exec_driver_sql(
            f"DELETE FROM {target} WHERE {k} IN (SELECT {k} FROM {q(stage)} WHERE _deleted)"
        ).rowcount
    data = [p for c in columns if c != DELETED and c.field_name != key for p in c.physical]
    assignments = ", ".join([f"{q(p)} = s.{q(p)}" for p in data] + ["_updated_at = s._updated_at"])
    updated = conn.exec_driver_sql(
        f"UPDATE {target} SET {assignments} FROM {q(stage)} AS s "
        f"WHERE {target}.{k} = s.{k} AND {kept}"
    ).rowcount
    inserted_names = [k] + [q(p) for p in data]
    created = conn.execute(
        sa.text(
            f"INSERT INTO {target} (_id, _created_at, _updated_at, {', '.join(inserted_names)}) "
            f"SELECT :base + row_number() OVER (ORDER BY s._id), s._created_at, s._updated_at, "
            f"{', '.join('s.' + n for n in inserted_names)} FROM {q(stage)} AS s "
            f"WHERE {kept} AND NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{k} = s.{k})"
        ),
        {"base": first_id - 1},
    ).rowcount
    drop_data_table(conn, stage)
    return WriteCounts(created=created, updated=updated, deleted=deleted)


# Values per DELETE statement: well under SQLite's and PostgreSQL's bind-parameter limits.
_DELETE_BATCH = 500


def delete_rows(
    conn: sa.Connection, table_name: str, key: ColumnSchema | None, values: Sequence[Any]
) -> list[int]:
    """Delete the rows whose `key` column holds one of `values` (Python values as readers yield
    them), or whose `_id` is one of them when `key` is None. Returns the deleted rows' `_id`s in
    ascending order; values naming no row are skipped."""
    if key is not None:
        check_key_column([key], key.field_name)
        stored = [to_storage(v, key.soda_type, conn.dialect.name)[0] for v in values]
        name = key.field_name
    else:
        stored = [int(v) for v in values]
        name = "_id"
    names = {"_id", name}
    table = sa.table(table_name, *(sa.column(n) for n in sorted(names)))
    deleted: list[int] = []
    for start in range(0, len(stored), _DELETE_BATCH):
        batch = [v for v in stored[start : start + _DELETE_BATCH] if v is not None]
        if not batch:
            continue
        match = table.c[name].in_(batch)
        ids = conn.execute(sa.select(table.c._id).where(match)).scalars().all()
        if ids:
            conn.execute(sa.delete(table).where(table.c._id.in_(ids)))
            deleted.extend(ids)
    return sorted(deleted)
