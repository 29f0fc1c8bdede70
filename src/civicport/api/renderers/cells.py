"""How one output column's SQL value(s) become a JSON value or a CSV cell (soda.md §5).

Values arrive as each dialect stores them (datastore.types): SQLite hands back text timestamps
and 0/1 checkboxes, PostgreSQL datetimes, Decimals and booleans. A point arrives as two SQL
values (lon, lat). A plan is built once per query; per row only the small functions run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from civicport.datastore.rowids import format_row_id
from civicport.datastore.types import (
    GEOMETRY_TYPES,
    format_fixed,
    format_floating,
    format_number,
)

Encoder = Callable[[Any], Any]


class OutputColumnLike(Protocol):
    """What a renderer needs of a compiled query's output column (read only, so frozen
    dataclasses such as soql.compiler.OutputColumn fit)."""

    @property
    def name(self) -> str: ...

    @property
    def soda_type(self) -> str: ...

    @property
    def width(self) -> int: ...


@dataclass(frozen=True)
class Cell:
    """Where one output column sits in a SQL row and how to encode it (None: as is)."""

    name: str
    index: int
    width: int
    soda_type: str
    encode: Encoder | None

    def value(self, row: Sequence[Any]) -> Any:
        """The raw value (a (lon, lat) pair for a point); None when null."""
        if self.width == 1:
            return row[self.index]
        lon, lat = row[self.index], row[self.index + 1]
        return None if lon is None or lat is None else (lon, lat)


def plan(columns: Sequence[OutputColumnLike], encoders: dict[str, Encoder | None]) -> list[Cell]:
    """One Cell per output column, with the encoder its type maps to in `encoders`."""
    cells = []
    index = 0
    for column in columns:
        encode = encoders.get(column.soda_type, _text)
        cells.append(Cell(column.name, index, column.width, column.soda_type, encode))
        index += column.width
    return cells


def _text(value: Any) -> str:
    return value if type(value) is str else str(value)


def _number(value: Any) -> str:
    # The common cases first (exports run this millions of times); format_number decides the rest.
    kind = type(value)
    if kind is float:
        text = repr(value)
        if "e" not in text and "n" not in text:  # not an exponent, nan or inf
            return text[:-2] if text.endswith(".0") else text
    elif kind is int:
        return str(value)
    elif kind is str:
        return value
    return format_number(value)


def _double_json(value: Any) -> Any:
    if type(value) is float and (value != value or value in (float("inf"), float("-inf"))):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    return float(value) if not isinstance(value, str) else value


def _floating(value: Any) -> str:
    return format_floating(value) if isinstance(value, dt.datetime) else value


def _fixed(value: Any) -> str:
    return format_fixed(value) if isinstance(value, dt.datetime) else value


def _checkbox(value: Any) -> bool:
    return bool(value)


def _checkbox_text(value: Any) -> str:
    return "true" if value else "false"


def _row_id(value: Any) -> str:
    return format_row_id(value) if isinstance(value, int) else str(value)


def _point_json(value: tuple[float, float]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [value[0], value[1]]}


def _point_wkt(value: tuple[float, float]) -> str:
    return f"POINT ({value[0]!r} {value[1]!r})"


def _geometry_json(value: Any) -> Any:
    # Stored as compact GeoJSON text: splice it in without parsing it.
    return orjson.Fragment(value) if isinstance(value, str | bytes) else value


def _geometry_wkt(value: Any) -> str:
    # Imported here: shapely is only needed when a non-point geometry is written as CSV.
    import shapely.geometry

    return shapely.geometry.shape(orjson.loads(value)).wkt


def _url_json(value: Any) -> dict[str, str]:
    return {"url": value}


JSON_ENCODERS: dict[str, Encoder | None] = {
    "text": None,
    "number": _number,
    "double": _double_json,
    "checkbox": _checkbox,
    "floating_timestamp": _floating,
    "fixed_timestamp": _fixed,
    "point": _point_json,
    "url": _url_json,
    "row_identifier": _row_id,
    **dict.fromkeys(GEOMETRY_TYPES - {"point"}, _geometry_json),
}

CSV_ENCODERS: dict[str, Encoder | None] = {
    "text": str,
    "number": _number,
    "double": _number,
    "checkbox": _checkbox_text,
    "floating_timestamp": _floating,
    "fixed_timestamp": _fixed,
    "point": _point_wkt,
    "url": str,
    "row_identifier": _row_id,
    **dict.fromkeys(GEOMETRY_TYPES - {"point"}, _geometry_wkt),
}


def _export_timestamp(value: Any) -> str:
    """'01/31/2019 08:05:00 PM', as Socrata's rows.csv export prints dates (soda.md §8.5)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(value.rstrip("Z"))
    elif value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%m/%d/%Y %I:%M:%S %p")


EXPORT_CSV_ENCODERS: dict[str, Encoder | None] = {
    **CSV_ENCODERS,
    "floating_timestamp": _export_timestamp,
    "fixed_timestamp": _export_timestamp,
}
