"""Scanning a dataset's live rows again, before it becomes public.

A load is scanned as it comes in (privacy.guard). Publishing without new rows — a wider
audience, a move into a sensitive category — asks about the rows as they are stored: they may
predate the guard, or have been scanned under a category where exact locations did not matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from civicport.catalog.records import DatasetRecord
from civicport.ingest.records import ColumnSpec
from civicport.privacy import store
from civicport.privacy.guard import SAMPLE_ROWS
from civicport.privacy.scan import scan_table
from civicport.soql.compiler import compile_query
from civicport.soql.params import SodaParams


def rescan_live_rows(conn: sa.Connection, record: DatasetRecord, category: str | None) -> None:
    """Scan the first SAMPLE_ROWS live rows under `category` and add what is found to the
    dataset's recorded findings (in the caller's transaction)."""
    if not record.columns:
        return
    schema = record.table_schema(conn.dialect.name, summaries=False)
    params = SodaParams(order=":id", limit=str(SAMPLE_ROWS))
    compiled = compile_query(params, schema)
    by_name = {c.field_name: c for c in record.columns}
    specs = [
        ColumnSpec(c.name, by_name[c.name].display_name, c.soda_type)
        for c in compiled.columns
        if c.name in by_name
    ]
    result = conn.exec_driver_sql(compiled.sql, compiled.params)
    shape = [(c.width, c.name in by_name) for c in compiled.columns]
    rows = _logical_rows(result, shape)
    found = scan_table(specs, rows, category=category, sample=SAMPLE_ROWS)
    store.record_findings(conn, record.id, found, merge=True)


def _logical_rows(
    result: sa.CursorResult[Any], shape: list[tuple[int, bool]]
) -> Iterator[tuple[Any, ...]]:
    """The dataset's own columns of each result row (`shape`: each output column's width and
    whether it is one), a point's two SQL columns (lon, lat) joined into one value."""
    for row in result:
        values: list[Any] = []
        index = 0
        for width, wanted in shape:
            part = row[index : index + width]
            if wanted:
                values.append(part[0] if width == 1 else (None if part[0] is None else tuple(part)))
            index += width
        yield tuple(values)
