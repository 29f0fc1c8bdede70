"""check_load: every check of a load, run on its staged rows before they become current."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry

from civicport.datastore.tables import ColumnSchema
from civicport.ingest.checks.boundary import outside_boundary
from civicport.ingest.checks.compare import empty_columns, row_drop, schema_drift
from civicport.ingest.checks.report import CheckReport
from civicport.ingest.checks.rows import duplicate_ids, future_dates
from civicport.ingest.checks.rules import LoadRules
from civicport.ingest.checks.staged import Previous, Staged


def check_load(
    conn: sa.Connection,
    *,
    staged_table: str,
    columns: Sequence[ColumnSchema],
    row_count: int,
    previous: Previous | None,
    key: str | None,
    rules: LoadRules,
    boundary: BaseGeometry | None,
    now: dt.datetime,
    whole: bool,
) -> CheckReport:
    """Run every check that `rules` does not turn off on the rows of `staged_table` (built
    by datastore.tables.build_table for `columns`, holding `row_count` rows).

    `whole`: the staged rows are the whole new version (a replace), compared with `previous`
    for row_drop, empty_column and schema_drift; otherwise (append, upsert) they are only the
    incoming rows: row_drop and empty_column are skipped and schema_drift reports added
    columns only. `key` is the row-identifier column, if any; `boundary` the city's (points
    are not checked without one); `now` the moment after which dates are in the future.

    With duplicate_ids set to warn, the repeated rows are deleted from the staged table
    (the first of each value kept) and counted in the report's dropped_rows.
    """
    staged = Staged.open(conn, staged_table, columns)
    warnings: list[str] = []
    blocking: list[str] = []

    def run(rule: str, check: Callable[[], list[str]]) -> None:
        action = rules.action(rule)
        if action != "off":
            (blocking if action == "block" else warnings).extend(check())

    dropped = 0
    if key and rules.duplicate_ids != "off" and key in {c.field_name for c in staged.columns}:
        # First: set to warn, it takes rows out, and the other checks see what is left.
        repeats, dropped = duplicate_ids(staged, key, remove=rules.duplicate_ids == "warn")
        run("duplicate_ids", lambda: repeats)
    rows = row_count - dropped
    if previous is not None and whole:
        run("row_drop", lambda: row_drop(rows, previous, rules.max_row_drop))
        if rows:  # no rows at all is row_drop's finding, not every column's
            run("empty_column", lambda: empty_columns(staged, previous))
    if previous is not None:
        run("schema_drift", lambda: schema_drift(staged.columns, previous, whole=whole))
    run("future_dates", lambda: future_dates(staged, now))
    if boundary is not None:
        run("outside_boundary", lambda: outside_boundary(staged, boundary))
    return CheckReport(tuple(warnings), tuple(blocking), dropped)
