"""Running a page's SoQL: the same compiler and SQL as /resource, with cells as text to show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from civicport.api.errors import unworkable_message
from civicport.api.renderers.cells import CSV_ENCODERS, Encoder, plan
from civicport.catalog.records import DatasetRecord
from civicport.config import Settings
from civicport.errors import InvalidQuery
from civicport.soql.compiler import OutputColumn, compile_query
from civicport.soql.params import SodaParams


def _point_text(value: tuple[float, float]) -> str:
    return f"{value[1]:.6f}, {value[0]:.6f}"


def _timestamp_text(encode: Encoder) -> Encoder:
    """A timestamp as people read it: no empty milliseconds, no time at all at midnight."""

    def text(value: Any) -> str:
        shown = str(encode(value)).replace(".000", "")
        return shown.removesuffix("T00:00:00").replace("T", " ")

    return text


DISPLAY_ENCODERS: dict[str, Encoder | None] = {
    **CSV_ENCODERS,
    "point": _point_text,
    "floating_timestamp": _timestamp_text(CSV_ENCODERS["floating_timestamp"] or str),
    "fixed_timestamp": _timestamp_text(CSV_ENCODERS["fixed_timestamp"] or str),
}


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[OutputColumn, ...]
    rows: list[list[str]]  # each cell as text to show; '' for null
    raw: list[list[Any]]  # each cell as the database returned it (None for null)


def run_query(
    conn: sa.Connection,
    record: DatasetRecord,
    items: Sequence[tuple[str, str]],
    settings: Settings,
) -> QueryResult:
    """Rows for SODA parameters `items` over a dataset the caller may see. A query the
    database refuses to run (a value out of range, say) is an InvalidQuery, as on /resource."""
    schema = record.table_schema(conn.dialect.name, summaries=settings.query_summaries)
    compiled = compile_query(SodaParams.from_query_items(items), schema)
    try:
        fetched = conn.exec_driver_sql(compiled.sql, compiled.params).fetchall()
    except (sa.exc.DataError, OverflowError) as exc:
        raise InvalidQuery(unworkable_message(exc)) from exc
    cells = plan(compiled.columns, DISPLAY_ENCODERS)
    raw = [[cell.value(row) for cell in cells] for row in fetched]
    shown = [
        [
            "" if value is None else (cell.encode(value) if cell.encode else str(value))
            for cell, value in zip(cells, values, strict=True)
        ]
        for values in raw
    ]
    return QueryResult(compiled.columns, shown, raw)
