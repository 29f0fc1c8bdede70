"""The physical table of a dataset's rows: system columns plus one or two per SODA column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from civicport.datastore.types import physical_columns, sql_types

# System columns, as SoQL names them and as they are stored.
SYSTEM_COLUMNS = {":id": "_id", ":created_at": "_created_at", ":updated_at": "_updated_at"}
SYSTEM_TYPES = {
    ":id": "row_identifier",
    ":created_at": "fixed_timestamp",
    ":updated_at": "fixed_timestamp",
}


@dataclass(frozen=True)
class ColumnSchema:
    """One column of a dataset as the datastore and the SoQL compiler see it."""

    field_name: str
    soda_type: str
    display_name: str = ""
    description: str = ""

    @property
    def physical(self) -> list[str]:
        return physical_columns(self.field_name, self.soda_type)


@dataclass(frozen=True)
class SummarySchema:
    """A dataset's summary table (see datastore.summary): what it groups by and aggregates."""

    table_name: str
    dimensions: tuple[str, ...]  # field names, stored under their own physical names
    measures: tuple[str, ...]  # field names of the numeric columns it aggregates


@dataclass(frozen=True)
class TableSchema:
    """What a query needs to know of a dataset: where its rows are and what columns they have."""

    table_name: str
    columns: tuple[ColumnSchema, ...]
    dialect: str
    # See datasets.ids_dense: lets `$order=:id&$offset=N` become an id seek.
    ids_dense: bool = False
    min_row_id: int = 1
    fts_table: str | None = None
    summary: SummarySchema | None = None
    # A SELECT standing for the table (an earlier version's rows, datastore.history), built by
    # the portal, never from user text; queries then read it instead of `table_name`.
    source_sql: str | None = None

    def column(self, field_name: str) -> ColumnSchema | None:
        for column in self.columns:
            if column.field_name == field_name:
                return column
        return None


def q(name: str) -> str:
    """A SQL identifier, double-quoted (both dialects); schema names only, never user text."""
    return '"' + name.replace('"', '""') + '"'


def data_table_name(dataset_id: str, generation: int) -> str:
    """'d_abcd_1234_g3': the table of a dataset's rows, one generation per replace."""
    return f"d_{dataset_id.replace('-', '_')}_g{generation}"


def stage_table_name(data_table: str) -> str:
    """The scratch table where rows bound for `data_table` are loaded and checked first."""
    return data_table + "_stage"


def history_table_name(data_table: str) -> str:
    """The table of the rows a data table's writes superseded (datastore.history)."""
    return data_table + "_h"


def build_table(
    name: str,
    columns: Sequence[ColumnSchema],
    dialect: str,
    metadata: sa.MetaData | None = None,
    *,
    history: bool = False,
) -> sa.Table:
    """The data table `name` (or, with `history`, a history table: the same columns plus
    `_valid_to`, the instant the row was superseded; an `_id` there repeats once per change)."""
    pg = dialect == "postgresql"
    ts = sa.DateTime(timezone=True) if pg else sa.Text()
    # INTEGER PRIMARY KEY makes _id SQLite's rowid: the row order and the fastest seek.
    id_type = sa.BigInteger() if pg else sa.Integer()
    table_columns: list[sa.Column[Any]] = [
        sa.Column("_id", id_type, primary_key=not history, autoincrement=False, index=history),
        sa.Column("_created_at", ts, nullable=False),
        sa.Column("_updated_at", ts, nullable=False),
    ]
    if history:
        table_columns.append(sa.Column("_valid_to", ts, nullable=False, index=True))
    for column in columns:
        for name_, type_ in zip(column.physical, sql_types(column.soda_type, dialect), strict=True):
            table_columns.append(sa.Column(name_, type_))
    return sa.Table(name, metadata or sa.MetaData(), *table_columns)
