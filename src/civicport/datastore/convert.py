"""Reader values → stored values for a whole batch of rows at once, column by column.

types.to_storage is the contract for one cell; converting cell by cell costs more than the
database insert itself on a million-row load. Working on columns lets text, doubles and (on
PostgreSQL) numbers and timestamps pass through untouched, and the common conversions run as
tight comprehensions. Every converter here must agree with to_storage (a test checks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from civicport.datastore.tables import ColumnSchema
from civicport.datastore.types import format_fixed, format_floating, to_storage

Column = Sequence[Any]
ColumnConverter = Callable[[Column], list[Column]]
BatchConverter = Callable[[Sequence[Sequence[Any]]], list[Column]]

# Types whose Python value (as readers yield it) is already the stored value.
_PASSTHROUGH = {
    "sqlite": frozenset({"text", "url", "double"}),
    "postgresql": frozenset(
        {"text", "url", "double", "number", "floating_timestamp", "fixed_timestamp"}
    ),
}


def batch_converter(columns: Sequence[ColumnSchema], dialect: str) -> BatchConverter:
    """A function from a batch of reader rows (tuples in `columns` order) to the stored
    columns, one sequence per physical column. Raises ValueError on a row of the wrong length.
    """
    converters = [column_converter(c.soda_type, dialect) for c in columns]
    return lambda rows: _convert(converters, list(zip(*rows, strict=True)))


def convert_columns(
    columns: Sequence[ColumnSchema], dialect: str, values: Sequence[Column]
) -> list[Column]:
    """A batch given as columns of reader values (in `columns` order) → its stored columns,
    one per physical column. A plain function of plain data, so worker processes can run it."""
    return _convert([column_converter(c.soda_type, dialect) for c in columns], values)


def _convert(converters: Sequence[ColumnConverter], values: Sequence[Column]) -> list[Column]:
    stored: list[Column] = []
    for converter, column in zip(converters, values, strict=True):
        stored.extend(converter(column))
    return stored


def column_converter(soda_type: str, dialect: str) -> ColumnConverter:
    """Reader values of one column → its stored physical column(s)."""
    if soda_type in _PASSTHROUGH[dialect]:
        return _passthrough
    if soda_type == "point":
        return _point
    if soda_type == "number":  # SQLite only: Decimals become int or REAL
        return lambda values: [
            [to_storage(v, "number", dialect)[0] if type(v) is Decimal else v for v in values]
        ]
    if soda_type == "floating_timestamp":  # SQLite only
        return lambda values: [[None if v is None else format_floating(v) for v in values]]
    if soda_type == "fixed_timestamp":  # SQLite only
        return lambda values: [[None if v is None else format_fixed(v) for v in values]]
    return lambda values: [[to_storage(v, soda_type, dialect)[0] for v in values]]


def _passthrough(values: Column) -> list[Column]:
    return [values]


def _point(values: Column) -> list[Column]:
    lon = [None if v is None else float(v[0]) for v in values]
    lat = [None if v is None else float(v[1]) for v in values]
    return [lon, lat]
