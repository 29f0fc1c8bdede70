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

from civicport.datastore.history import archive, data_names, differs
from civicport.datastore.load import Progress, drop_data_table, insert_rows
from civicport.datastore.tables import ColumnSchema, build_table, q, stage_table_name
from civicport.datastore.types import GEOMETRY_TYPES, to_storage
from civicport.errors import InvalidUpload

# Include this column (value true) in an upsert's columns to delete the row with that identifier.
DELETED = ColumnSchema("_deleted", "checkbox", display_name=":deleted")


@dataclass(frozen=True)
class WriteCounts:
    """How many rows one write created, updated and deleted; `unchanged`: rows it named by
    identifier whose values were already those (the Producer API counts them as updated)."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0


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


def stage_rows(
    conn: sa.Connection,
    table_name: str,
    columns: Sequence[ColumnSchema],
    rows: Iterable[Sequence[Any]],
    *,
    now: dt.datetime,
    key: str | None = None,
    progress: Progress | None = None,
) -> str:
    """Load incoming rows into a scratch table beside `table_name` (`_id` = the row's number in
    the upload), where they are checked before anything changes; returns its name. With `key`
    the identifiers are checked too (InvalidUpload naming the rows). Drop it with
    load.drop_data_table once applied."""
    stage = stage_table_name(table_name)
    drop_data_table(conn, stage)
    build_table(stage, columns, conn.dialect.name).create(conn)
    insert_rows(conn, stage, columns, rows, first_id=1, now=now, progress=progress)
    if key:
        check_key_column(columns, key)
        key_stage(conn, stage, key)
    return stage


def key_stage(conn: sa.Connection, stage: str, key: str) -> None:
    """Refuse staged rows without an identifier or with a repeated one (InvalidUpload naming
    the rows), and index the stage by it: applying matches every current row against it."""
    check_keys(conn, stage, key)
    conn.exec_driver_sql(f"CREATE INDEX {q(stage + '_key')} ON {q(stage)} ({q(key)})")


def apply_append(
    conn: sa.Connection,
    table_name: str,
    stage: str,
    columns: Sequence[ColumnSchema],
    *,
    first_id: int,
) -> WriteCounts:
    """Insert every staged row after the existing ones, ids from `first_id` in upload order."""
    names = ["_created_at", "_updated_at", *(p for c in columns for p in c.physical)]
    listed = ", ".join(q(n) for n in names)
    created = conn.execute(
        sa.text(
            f"INSERT INTO {q(table_name)} (_id, {listed}) "
            f"SELECT _id + :shift, {listed} FROM {q(stage)}"
        ),
        {"shift": first_id - 1},
    ).rowcount
    return WriteCounts(created=created)


def apply_upsert(
    conn: sa.Connection,
    table_name: str,
    stage: str,
    columns: Sequence[ColumnSchema],
    *,
    key: str,
    now: dt.datetime,
    first_id: int,
    table_columns: Sequence[ColumnSchema],
    remove_missing: bool = False,
) -> WriteCounts:
    """Apply staged rows by their `key` value (`_id` keeps the staged ids: a rollback): update
    the rows that exist and differ, insert the others (ids from `first_id`), delete those
    flagged by a DELETED column and, with `remove_missing` (a replace), every row the stage
    lacks. Only the staged columns of updated
    rows change; `_created_at` is kept and `_updated_at` set to `now`, so unchanged rows keep
    theirs. Rows are copied, whole (`table_columns`: all of the table's), to the history table
    before they change (datastore.history). The table needs a unique index on key."""
    dialect = conn.dialect.name
    target, k = q(table_name), q(key)
    has_deleted = DELETED in columns
    kept = "NOT coalesce(s._deleted, FALSE)" if has_deleted else "TRUE"
    data = [p for c in columns if c != DELETED and c.field_name != key for p in c.physical]
    stored = table_columns
    changed = differs("t", "s", data, dialect)
    if remove_missing:
        gone = f"NOT EXISTS (SELECT 1 FROM {q(stage)} s WHERE s.{k} = t.{k} AND {kept})"
    elif has_deleted:
        gone = f"{k} IN (SELECT {k} FROM {q(stage)} WHERE _deleted)"
    else:
        gone = ""
    deleted = 0
    if gone:
        archive(conn, table_name, stored, where=gone, at=now)
        deleted = conn.exec_driver_sql(f"DELETE FROM {target} AS t WHERE {gone}").rowcount
    join = f"JOIN {q(stage)} AS s ON s.{k} = t.{k}"
    archive(conn, table_name, stored, join=join, where=f"{kept} AND ({changed})", at=now)
    assignments = ", ".join([f"{q(p)} = s.{q(p)}" for p in data] + ["_updated_at = s._updated_at"])
    updated = conn.exec_driver_sql(
        f"UPDATE {target} AS t SET {assignments} FROM {q(stage)} AS s "
        f"WHERE t.{k} = s.{k} AND {kept} AND ({changed})"
    ).rowcount
    inserted_names = ([] if key == "_id" else [k]) + [q(p) for p in data]
    new_id = "s._id" if key == "_id" else ":base + row_number() OVER (ORDER BY s._id)"
    created = conn.execute(
        sa.text(
            f"INSERT INTO {target} (_id, _created_at, _updated_at, {', '.join(inserted_names)}) "
            f"SELECT {new_id}, s._created_at, s._updated_at, "
            f"{', '.join('s.' + n for n in inserted_names)} FROM {q(stage)} AS s "
            f"WHERE {kept} AND NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{k} = s.{k})"
        ),
        {"base": first_id - 1},
    ).rowcount
    named = conn.exec_driver_sql(f"SELECT count(*) FROM {q(stage)} AS s WHERE {kept}").scalar()
    unchanged = int(named or 0) - created - updated
    return WriteCounts(created=created, updated=updated, deleted=deleted, unchanged=unchanged)


def upsert_rows(
    conn: sa.Connection,
    table_name: str,
    columns: Sequence[ColumnSchema],
    rows: Iterable[Sequence[Any]],
    *,
    key: str,
    now: dt.datetime,
    first_id: int,
    table_columns: Sequence[ColumnSchema],
    progress: Progress | None = None,
) -> WriteCounts:
    """stage_rows then apply_upsert: the Producer API's write of rows matched on `key`."""
    check_key_column(columns, key)
    stage = stage_rows(conn, table_name, columns, rows, now=now, key=key, progress=progress)
    counts = apply_upsert(
        conn, table_name, stage, columns,
        key=key, now=now, first_id=first_id, table_columns=table_columns,
    )  # fmt: skip
    drop_data_table(conn, stage)
    return counts


def apply_replace_by_content(
    conn: sa.Connection,
    table_name: str,
    stage: str,
    columns: Sequence[ColumnSchema],
    *,
    now: dt.datetime,
    first_id: int,
) -> WriteCounts:
    """Make the table's rows exactly the staged ones when no column identifies rows: each
    staged row equal (in every column) to a current one keeps that row, its `:id` and its
    timestamps; current rows left unpaired go to the history and are deleted, staged ones left
    unpaired are inserted with ids from `first_id`. Equal rows repeated are paired in `:id`
    order. There is no "changed" without an identifier: a row that differs is removed + added."""
    dialect = conn.dialect.name
    names = data_names(columns)
    scratch = {part: q(f"{table_name}_{part}") for part in ("now", "new", "pairs")}
    for side, source in (("now", table_name), ("new", stage)):
        digest = _row_digest("x", names, dialect)
        conn.exec_driver_sql(
            f"CREATE TABLE {scratch[side]} AS SELECT _id, {digest} AS digest, "
            f"row_number() OVER (PARTITION BY {digest} ORDER BY _id) AS nth "
            f"FROM {q(source)} AS x"
        )
    conn.exec_driver_sql(
        f"CREATE INDEX {q(table_name + '_new_ix')} ON {scratch['new']} (digest, nth)"
    )
    conn.exec_driver_sql(
        f"CREATE TABLE {scratch['pairs']} AS SELECT a._id AS old_id, b._id AS new_id "
        f"FROM {scratch['now']} a JOIN {scratch['new']} b ON b.digest = a.digest AND b.nth = a.nth "
        f"JOIN {q(table_name)} t ON t._id = a._id JOIN {q(stage)} s ON s._id = b._id "
        f"WHERE NOT ({differs('t', 's', names, dialect)})"
    )
    conn.exec_driver_sql(
        f"CREATE UNIQUE INDEX {q(table_name + '_pairs_old')} ON {scratch['pairs']} (old_id)"
    )
    conn.exec_driver_sql(
        f"CREATE UNIQUE INDEX {q(table_name + '_pairs_new')} ON {scratch['pairs']} (new_id)"
    )
    unpaired = f"NOT EXISTS (SELECT 1 FROM {scratch['pairs']} p WHERE p.old_id = t._id)"
    archive(conn, table_name, columns, where=unpaired, at=now)
    deleted = conn.exec_driver_sql(f"DELETE FROM {q(table_name)} AS t WHERE {unpaired}").rowcount
    listed = ", ".join(q(n) for n in ("_created_at", "_updated_at", *names))
    created = conn.execute(
        sa.text(
            f"INSERT INTO {q(table_name)} (_id, {listed}) "
            f"SELECT :base + row_number() OVER (ORDER BY s._id), "
            f"{', '.join('s.' + n for n in listed.split(', '))} FROM {q(stage)} AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {scratch['pairs']} p WHERE p.new_id = s._id)"
        ),
        {"base": first_id - 1},
    ).rowcount
    for name in scratch.values():
        conn.exec_driver_sql(f"DROP TABLE {name}")
    return WriteCounts(created=created, deleted=deleted)


def _row_digest(alias: str, names: Sequence[str], dialect: str) -> str:
    """SQL for a hash of a row's data columns (equal rows, equal hashes)."""
    values = ", ".join(f"{alias}.{q(n)}" for n in names)
    if dialect == "postgresql":
        return f"md5(ROW({values})::text)"
    return f"cp_row_hash({values})"


# Values per DELETE statement: well under SQLite's and PostgreSQL's bind-parameter limits.
_DELETE_BATCH = 500


def delete_rows(
    conn: sa.Connection,
    table_name: str,
    columns: Sequence[ColumnSchema],
    key: ColumnSchema | None,
    values: Sequence[Any],
    *,
    now: dt.datetime,
) -> list[int]:
    """Delete the rows whose `key` column holds one of `values` (Python values as readers yield
    them), or whose `_id` is one of them when `key` is None, copying them to the history first.
    Returns the deleted rows' `_id`s in ascending order; values naming no row are skipped."""
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
            listed = ", ".join(str(int(i)) for i in ids)
            archive(conn, table_name, columns, where=f"t._id IN ({listed})", at=now)
            conn.execute(sa.delete(table).where(table.c._id.in_(ids)))
            deleted.extend(ids)
    return sorted(deleted)
