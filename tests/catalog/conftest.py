"""Value fixtures for catalog tests: small parsed tables and ways to look at what got stored."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from civicport.catalog.store import get_dataset
from civicport.ingest.records import ColumnSpec, ParsedTable


def make_table(columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]) -> ParsedTable:
    """A ParsedTable with `columns` given as (field_name, soda_type) pairs."""
    specs = [ColumnSpec(name, name.replace("_", " ").title(), kind) for name, kind in columns]
    return ParsedTable(columns=specs, rows=(tuple(r) for r in rows))


@pytest.fixture
def table() -> Callable[..., ParsedTable]:
    """make_table: build a ParsedTable from (field_name, soda_type) pairs and row tuples."""
    return make_table


@pytest.fixture
def rows_of(engine: sa.Engine) -> Callable[[str], list[dict[str, Any]]]:
    """A dataset's current rows as stored, in `_id` order."""

    def read(dataset_id: str) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            data_table = get_dataset(conn, dataset_id).data_table
            result = conn.exec_driver_sql(f'SELECT * FROM "{data_table}" ORDER BY _id')
            return [dict(row._mapping) for row in result]

    return read


@pytest.fixture
def data_tables(engine: sa.Engine) -> Callable[[], set[str]]:
    """Names of every per-dataset table (d_*) in the database."""

    def names() -> set[str]:
        return {n for n in sa.inspect(engine).get_table_names() if n.startswith("d_")}

    return names
