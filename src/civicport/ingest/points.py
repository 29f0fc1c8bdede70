"""Point columns built from a latitude and a longitude column.

Many city files keep coordinates as two plain numbers (`lat`, `lng`; Hartford's crash file
even names them `x` and `y`). Maps, `within_circle` and GeoJSON need a point column, so an
import may ask for one; the two number columns stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from civicport.errors import InvalidUpload
from civicport.ingest.fieldnames import field_name, unique_name
from civicport.ingest.records import ColumnSpec, ParsedTable

NUMBER_TYPES = frozenset({"number", "double"})


@dataclass(frozen=True)
class PointSource:
    """Make the point column `name` from the columns `latitude` and `longitude`."""

    name: str
    latitude: str
    longitude: str


def point_field_name(source: PointSource) -> str:
    return field_name(source.name) or "location"


def add_points(table: ParsedTable, sources: Sequence[PointSource]) -> ParsedTable:
    """`table` with one more point column per source, appended after the file's columns.

    A row whose coordinates are missing or outside the globe gets a null point; its numbers are
    kept in their own columns, so nothing is lost.
    """
    if not sources:
        return table
    taken = {c.field_name for c in table.columns}
    pairs = [_coordinate_indexes(table.columns, s) for s in sources]
    added = [
        ColumnSpec(unique_name(point_field_name(s), taken), s.name.strip(), "point")
        for s in sources
    ]
    # Points are added row by row, so the loader must take the rows, not column_batches.
    rows = _with_points(table.rows, pairs)
    return replace(table, columns=[*table.columns, *added], rows=rows, column_batches=None)


def _coordinate_indexes(columns: Sequence[ColumnSpec], source: PointSource) -> tuple[int, int]:
    return _number_column(columns, source.latitude, source), _number_column(
        columns, source.longitude, source
    )


def _number_column(columns: Sequence[ColumnSpec], name: str, source: PointSource) -> int:
    wanted = name.strip().lower()
    for index, column in enumerate(columns):
        if wanted in (column.field_name, column.display_name.lower()):
            if column.soda_type not in NUMBER_TYPES:
                raise InvalidUpload(
                    f"point {source.name!r}: column {name!r} holds {column.soda_type}, not "
                    "numbers; declare it with --type COLUMN=number if it should be"
                )
            return index
    known = ", ".join(c.field_name for c in columns)
    raise InvalidUpload(f"point {source.name!r}: there is no column {name!r} (columns: {known})")


def _with_points(
    rows: Iterator[tuple[Any, ...]], pairs: Sequence[tuple[int, int]]
) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield row + tuple(_point(row[lat], row[lon]) for lat, lon in pairs)


def _point(latitude: Any, longitude: Any) -> tuple[float, float] | None:
    if latitude is None or longitude is None:
        return None
    lat, lon = float(latitude), float(longitude)
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return (lon, lat)
    return None
