"""The rows a dataset's writes superseded, and how any kept version is read back from them.

Beside each data table (its current rows) lies a history table of the same columns plus
`_valid_to`: before a write changes or deletes a row, the row as it was is copied there,
stamped with the instant of the write. A row was part of the version made at instant T when

    it is current and its `_updated_at` <= T, or
    it is in the history and its `_updated_at` <= T < its `_valid_to`.

So storage grows with what changed, not with the number of versions (SQL:2011's
system-versioned tables), and the rows of any version, or the rows that differ between two,
are one query. Version instants are unique per dataset and stamped on the rows they wrote
(catalog.versions makes sure of both).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from civicport.datastore.tables import ColumnSchema, build_table, history_table_name, q
from civicport.datastore.types import format_fixed

SYSTEM_NAMES = ("_id", "_created_at", "_updated_at")


def create_history_table(
    conn: sa.Connection, data_table: str, columns: Sequence[ColumnSchema]
) -> str:
    """Create the (empty) history table of `data_table`, unless it exists; return its name.

    Data tables made before versions existed get theirs on their first write."""
    name = history_table_name(data_table)
    build_table(name, columns, conn.dialect.name, history=True).create(conn, checkfirst=True)
    return name


def stamp(moment: dt.datetime, dialect: str) -> Any:
    """An instant as `_updated_at` and `_valid_to` store it, for a bound parameter."""
    return moment if dialect == "postgresql" else format_fixed(moment)


def stamp_literal(moment: dt.datetime, dialect: str) -> str:
    """An instant as a SQL literal, for SQL text that cannot carry parameters (a query's FROM
    built once and compiled into many). Made from a datetime, never from user text."""
    text = format_fixed(moment)
    return f"TIMESTAMPTZ '{text}'" if dialect == "postgresql" else f"'{text}'"


def data_names(columns: Sequence[ColumnSchema]) -> list[str]:
    """The physical columns holding the data (not the system columns)."""
    return [p for c in columns for p in c.physical]


def archive(
    conn: sa.Connection,
    data_table: str,
    columns: Sequence[ColumnSchema],
    *,
    where: str,
    at: dt.datetime,
    join: str = "",
    params: dict[str, Any] | None = None,
) -> int:
    """Copy the rows of `data_table` matching `where` (SQL on its columns, aliased `t`, and on
    those of an optional `join` clause) into its history, superseded at `at`, before the caller
    changes or deletes them. Returns how many."""
    names = ", ".join(q(n) for n in (*SYSTEM_NAMES, *data_names(columns)))
    selected = ", ".join(f"t.{q(n)}" for n in (*SYSTEM_NAMES, *data_names(columns)))
    result = conn.execute(
        sa.text(
            f"INSERT INTO {q(history_table_name(data_table))} ({names}, _valid_to) "
            f"SELECT {selected}, :valid_to FROM {q(data_table)} AS t {join} WHERE {where}"
        ),
        {"valid_to": stamp(at, conn.dialect.name), **(params or {})},
    )
    return result.rowcount


def rows_at_sql(
    data_table: str, columns: Sequence[ColumnSchema], at: dt.datetime, dialect: str
) -> str:
    """A SELECT of the rows as they were at instant `at` (system columns and data columns),
    usable as a subquery in FROM."""
    names = ", ".join(q(n) for n in (*SYSTEM_NAMES, *data_names(columns)))
    t = stamp_literal(at, dialect)
    return (
        f"SELECT {names} FROM {q(data_table)} WHERE _updated_at <= {t} "
        f"UNION ALL SELECT {names} FROM {q(history_table_name(data_table))} "
        f"WHERE _updated_at <= {t} AND _valid_to > {t}"
    )


def touched_ids_sql(data_table: str, after: dt.datetime, until: dt.datetime, dialect: str) -> str:
    """A SELECT of the `_id`s of the rows written or superseded in (after, until]: the only
    rows that can differ between the versions made at those two instants."""
    a, b = stamp_literal(after, dialect), stamp_literal(until, dialect)
    history = q(history_table_name(data_table))
    return (
        f"SELECT _id FROM {q(data_table)} WHERE _updated_at > {a} AND _updated_at <= {b} "
        f"UNION SELECT _id FROM {history} WHERE _valid_to > {a} AND _valid_to <= {b} "
        f"UNION SELECT _id FROM {history} WHERE _updated_at > {a} AND _updated_at <= {b}"
    )


def differs(left: str, right: str, names: Sequence[str], dialect: str) -> str:
    """SQL true when any of the columns `names` differ between aliases `left` and `right`,
    NULLs compared as values."""
    operator = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    if not names:
        return "FALSE"
    return " OR ".join(f"{left}.{q(n)} {operator} {right}.{q(n)}" for n in names)


def highest_id(conn: sa.Connection, data_table: str) -> int:
    """The highest `_id` the table or its history ever held (0 when both are empty)."""
    high = conn.exec_driver_sql(f"SELECT max(_id) FROM {q(data_table)}").scalar() or 0
    history = history_table_name(data_table)
    if sa.inspect(conn).has_table(history):
        high = max(high, conn.exec_driver_sql(f"SELECT max(_id) FROM {q(history)}").scalar() or 0)
    return int(high)


def prune_history(conn: sa.Connection, data_table: str, before: dt.datetime) -> int:
    """Delete the history rows superseded at or before `before`: no version made at or after
    that instant can contain them. Returns how many."""
    history = history_table_name(data_table)
    if not sa.inspect(conn).has_table(history):
        return 0
    return conn.execute(
        sa.text(f"DELETE FROM {q(history)} WHERE _valid_to <= :before"),
        {"before": stamp(before, conn.dialect.name)},
    ).rowcount
