"""Summary tables: a dataset's rows pre-counted by its category-like columns.

Dashboards, charts and goals ask the same kind of question over and over: requests per
neighborhood, average days to close per request type among the closed ones. From the rows,
each answer walks the whole table. A summary table holds one row per combination of values
of the dataset's low-cardinality columns (its *dimensions*: short text codes and checkboxes)
with the number of rows and, for each numeric column (a *measure*), the count, sum, minimum
and maximum of its values. A grouped query that filters and groups on dimensions only and
aggregates with count/sum/avg/min/max has the same answer computed from the summary
(soql/summary.py decides and rewrites).

The summary is written in the same transaction as the rows it describes, like an index, so it
is never stale and never a cache: there is no moment at which it disagrees with the rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import sqlalchemy as sa

from civicport.datastore.tables import ColumnSchema, q

DIMENSION_TYPES = frozenset({"text", "checkbox"})
MEASURE_TYPES = frozenset({"number", "double"})
# A column is a dimension when the first SAMPLE_ROWS rows hold at most this many values...
SAMPLE_ROWS = 10_000
MAX_DIMENSION_VALUES = 100
# ...and the summary is kept only while it is this much smaller than the table: a summary
# nearly as large as its table saves nothing.
MAX_GROUPS = 50_000
MIN_ROWS_PER_GROUP = 4

# Summary column names contain ':', which no field name does (see ingest.fieldnames).
ROW_COUNT = ":n"
MEASURE_PARTS = ("count", "sum", "min", "max")


def summary_table_name(data_table: str) -> str:
    return f"{data_table}_summary"


def measure_column(part: str, field_name: str) -> str:
    """The summary column holding one aggregate of a measure: ':sum:days_to_close'."""
    return f":{part}:{field_name}"


def measures(columns: Sequence[ColumnSchema]) -> list[str]:
    return [c.field_name for c in columns if c.soda_type in MEASURE_TYPES]


def choose_dimensions(
    conn: sa.Connection, table_name: str, columns: Sequence[ColumnSchema], row_count: int
) -> list[str]:
    """The columns worth summarizing by, fewest values first; empty when none qualify.

    Values are counted in a sample of the first rows; the built summary's real size is
    checked afterwards (see write_summary), so a poor guess costs time, never correctness.
    """
    sampled = []
    for column in columns:
        if column.soda_type not in DIMENSION_TYPES:
            continue
        name = q(column.field_name)
        # In row order: without ORDER BY, SQLite reads the column's own (smaller) index, and
        # its first rows all hold the same value.
        values = conn.exec_driver_sql(
            f"SELECT count(DISTINCT {name}) FROM "
            f"(SELECT {name} FROM {q(table_name)} ORDER BY _id LIMIT {SAMPLE_ROWS}) s"
        ).scalar_one()
        if 1 <= values <= MAX_DIMENSION_VALUES:
            sampled.append((values, column.field_name))
    budget = min(MAX_GROUPS, row_count / MIN_ROWS_PER_GROUP)
    chosen: list[str] = []
    groups = 1.0
    for values, field_name in sorted(sampled):
        # +1: a column that had no nulls in the sample may still have some.
        if groups * (values + 1) > budget:
            break
        groups *= values + 1
        chosen.append(field_name)
    return chosen


def write_summary(
    conn: sa.Connection,
    table_name: str,
    columns: Sequence[ColumnSchema],
    dimensions: Sequence[str],
    row_count: int,
) -> bool:
    """Create the summary of a table's rows, or recompute it after they changed in place.
    Returns False (and leaves no summary table) when it is not worth having.

    An existing summary has its rows replaced rather than the table, so readers of the
    previous version keep reading it undisturbed until the commit.
    """
    if not dimensions:
        return False
    summary = q(summary_table_name(table_name))
    select = _summary_select(table_name, columns, dimensions)
    if sa.inspect(conn).has_table(summary_table_name(table_name)):
        conn.exec_driver_sql(f"DELETE FROM {summary}")
        conn.exec_driver_sql(f"INSERT INTO {summary} {select}")
    else:
        conn.exec_driver_sql(f"CREATE TABLE {summary} AS {select}")
    return _keep_if_small(conn, table_name, row_count)


def _summary_select(
    table_name: str, columns: Sequence[ColumnSchema], dimensions: Sequence[str]
) -> str:
    keys = ", ".join(q(d) for d in dimensions)
    aggregates = [f"count(*) AS {q(ROW_COUNT)}"]
    for field_name in measures(columns):
        for part in MEASURE_PARTS:
            aggregates.append(f"{part}({q(field_name)}) AS {q(measure_column(part, field_name))}")
    return f"SELECT {keys}, {', '.join(aggregates)} FROM {q(table_name)} GROUP BY {keys}"


def _keep_if_small(conn: sa.Connection, table_name: str, row_count: int) -> bool:
    summary = q(summary_table_name(table_name))
    groups = conn.exec_driver_sql(f"SELECT count(*) FROM {summary}").scalar_one()
    if groups > min(MAX_GROUPS, math.ceil(row_count / MIN_ROWS_PER_GROUP)):
        conn.exec_driver_sql(f"DROP TABLE {summary}")
        return False
    return True
