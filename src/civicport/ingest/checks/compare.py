"""Checks of the staged rows against the version they would replace: the row count falls
(row_drop), a column that had values is empty (empty_column), the columns changed
(schema_drift)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from civicport.datastore.tables import ColumnSchema, q
from civicport.ingest.checks.staged import Previous, Staged
from civicport.ingest.checks.wording import counted, names, percent


def row_drop(row_count: int, previous: Previous, limit: float) -> list[str]:
    """'The new data has 412 rows, 87% fewer than the 3,170 of the current version (the
    limit is a 50% drop)'."""
    if previous.row_count <= 0 or row_count >= previous.row_count:
        return []
    share = (previous.row_count - row_count) / previous.row_count
    if share <= limit:
        return []
    return [
        f"The new data has {counted(row_count, 'row')}, {percent(share, limit)} fewer than the "
        f"{previous.row_count:,} of the current version (the limit is a {percent(limit)} drop)"
    ]


def empty_columns(staged: Staged, previous: Previous) -> list[str]:
    """'Column inspection_date is empty in every row; it had values before'.

    One scan of the staged rows counts every shared column's values; only a column found
    empty there costs a look at the previous version's rows.
    """
    before = {c.field_name: c for c in previous.columns}
    shared = [c for c in staged.columns if c.field_name in before]
    if not shared:
        return []
    counts = _value_counts(staged.conn, staged.table_name, shared)
    now_empty = [c for c, n in zip(shared, counts, strict=True) if not n]
    if not now_empty:
        return []
    was_filled = _value_counts(
        staged.conn, previous.table_name, [before[c.field_name] for c in now_empty]
    )
    emptied = [c.field_name for c, n in zip(now_empty, was_filled, strict=True) if n]
    if not emptied:
        return []
    if len(emptied) == 1:
        return [f"Column {emptied[0]} is empty in every row; it had values before"]
    return [f"Columns {names(emptied)} are empty in every row; they had values before"]


def _value_counts(
    conn: sa.Connection, table_name: str, columns: Sequence[ColumnSchema]
) -> list[int]:
    """How many rows of a table have a value in each column (a point: its longitude)."""
    counts = ", ".join(f"count({q(c.physical[0])})" for c in columns)
    row = conn.exec_driver_sql(f"SELECT {counts} FROM {q(table_name)}").one()
    return [int(n) for n in row]


def schema_drift(columns: Sequence[ColumnSchema], previous: Previous, *, whole: bool) -> list[str]:
    """'Columns added: x, y; removed: z; retyped: amount (number → text)'. A load of some rows
    (append, upsert) need not carry every column: it reports added columns only."""
    before = {c.field_name: c.soda_type for c in previous.columns}
    after = {c.field_name: c.soda_type for c in columns}
    added = [f for f in after if f not in before]
    removed = [f for f in before if f not in after] if whole else []
    retyped = [f for f in after if whole and f in before and after[f] != before[f]]
    parts = []
    if added:
        parts.append(f"added: {names(added)}")
    if removed:
        parts.append(f"removed: {names(removed)}")
    if retyped:
        parts.append("retyped: " + names([f"{f} ({before[f]} → {after[f]})" for f in retyped]))
    if not parts:
        return []
    noun = "Column" if len(added) + len(removed) + len(retyped) == 1 else "Columns"
    return [f"{noun} {'; '.join(parts)}"]
