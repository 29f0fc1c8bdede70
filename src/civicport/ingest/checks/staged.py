"""The tables a load's checks compare: the staged rows, and the version they would replace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from civicport.datastore.tables import ColumnSchema, q
from civicport.datastore.writes import DELETED


@dataclass(frozen=True)
class Previous:
    """The dataset's current version: its table, columns and row count."""

    table_name: str
    columns: Sequence[ColumnSchema]
    row_count: int


@dataclass(frozen=True)
class Staged:
    """Rows written to a staging table (datastore.tables.build_table), not yet current.

    Rows are numbered for messages as the publisher counts them: the staged ids are the
    upload's order, so row = _id - first_id + 1.
    """

    conn: sa.Connection
    table_name: str
    columns: Sequence[ColumnSchema]
    first_id: int

    @classmethod
    def open(cls, conn: sa.Connection, table_name: str, columns: Sequence[ColumnSchema]) -> Staged:
        first = conn.exec_driver_sql(f"SELECT min(_id) FROM {q(table_name)}").scalar()
        data_columns = [c for c in columns if c.field_name != DELETED.field_name]
        return cls(conn, table_name, data_columns, 1 if first is None else int(first))

    @property
    def table(self) -> str:
        """The table's name, quoted for SQL."""
        return q(self.table_name)

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    def row(self, row_id: int) -> int:
        """The data row number (from 1) of a staged _id."""
        return int(row_id) - self.first_id + 1

    def query(self, sql: str, **params: Any) -> sa.CursorResult[Any]:
        return self.conn.execute(sa.text(sql), params)
