"""Read a file into a ParsedTable: columns named and typed, rows converted.

    table = read_file(Path("inspections.csv"), type_overrides={"Zip Code": "text"})
    table.columns  # [ColumnSpec("zip_code", "Zip Code", "text"), …]
    for row in table.rows: ...  # tuples in column order, values as datastore.types expects

The file is read twice: a first pass (inside read_file) infers the types and checks every
cell, so a bad value is reported before anything is loaded; `rows` then converts the raw
chunks that pass spilled to a temporary file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicport.datastore.types import SODA_TYPES
from civicport.errors import InvalidUpload
from civicport.ingest.fieldnames import field_name, name_columns, unique_name
from civicport.ingest.infer import ScanResult, cell_error, scan
from civicport.ingest.readers import open_source
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.ingest.values import (
    CONVERTERS,
    LENIENT,
    TRUSTED,
    BadValue,
    location_addresses,
)

# Socrata's other names for our types (/api/views dataTypeName, X-SODA2-Types).
TYPE_ALIASES = {
    "calendar_date": "floating_timestamp",
    "date": "fixed_timestamp",
    "boolean": "checkbox",
    "location": "point",
    "money": "number",
}


@dataclass(frozen=True)
class _Output:
    """One output column: which source column feeds it and how its cells are converted."""

    source: int
    spec: ColumnSpec
    convert: Callable[[Sequence[Any]], list[Any]]


def read_file(
    path: Path,
    *,
    type_overrides: Mapping[str, str] | None = None,
    sheet: str | None = None,
) -> ParsedTable:
    """Open a CSV/TSV, Excel or JSON file, infer column types and return a ParsedTable.

    `type_overrides` maps a column (display name or field name) to a SODA type name, which is
    then checked rather than inferred. `sheet` picks an Excel sheet by name (default: first).
    Raises InvalidUpload with a message naming the row and column of the first bad cell.
    """
    path = Path(path)
    source = open_source(path, sheet=sheet)
    named = name_columns(source.headers)
    chosen = resolve_overrides(type_overrides or {}, named)
    result = scan(source.rows, [f for f, _ in named], chosen)
    outputs = _plan(named, result, chosen)
    return ParsedTable(
        columns=[o.spec for o in outputs],
        rows=_converted_rows(result, outputs),
        total_bytes=path.stat().st_size,
        source_name=path.name,
    )


def resolve_overrides(
    overrides: Mapping[str, str], named: Sequence[tuple[str, str]]
) -> dict[int, str]:
    """Column index → SODA type for each override; InvalidUpload for an unknown column or type.

    A key matches a field name, then a display name (case-insensitively), then the field name
    derived from it ("Inspection Date" and "inspection_date" both name the same column).
    """
    by_field = {f: i for i, (f, _) in enumerate(named)}
    by_display = {d.lower(): i for i, (_, d) in enumerate(named)}
    chosen: dict[int, str] = {}
    for key, type_name in overrides.items():
        soda_type = TYPE_ALIASES.get(type_name.strip().lower(), type_name.strip().lower())
        if soda_type not in SODA_TYPES:
            raise InvalidUpload(
                f"unknown type {type_name!r} for column {key!r}; use one of: "
                + ", ".join(SODA_TYPES)
                + "."
            )
        index = by_field.get(
            key, by_display.get(key.strip().lower(), by_field.get(field_name(key)))
        )
        if index is None:
            raise InvalidUpload(
                f"there is no column {key!r} in the file; its columns are: "
                + ", ".join(f for f, _ in named)
                + "."
            )
        chosen[index] = soda_type
    return chosen


def _plan(
    named: Sequence[tuple[str, str]], result: ScanResult, chosen: Mapping[int, str]
) -> list[_Output]:
    taken = {f for f, _ in named}
    outputs = []
    for index, ((field, display), soda_type) in enumerate(zip(named, result.types, strict=True)):
        mode = LENIENT if index in chosen else TRUSTED
        outputs.append(
            _Output(index, ColumnSpec(field, display, soda_type), _converter(soda_type, mode))
        )
        if soda_type == "point" and result.has_address[index]:
            # A Socrata location keeps its address; a point cannot, so the address lines go
            # into a text column beside it rather than being lost.
            companion = ColumnSpec(
                unique_name(f"{field}_address", taken), f"{display} (address)", "text"
            )
            outputs.append(_Output(index, companion, location_addresses))
    return outputs


def _converter(soda_type: str, mode: str) -> Callable[[Sequence[Any]], list[Any]]:
    convert = CONVERTERS[soda_type]
    return lambda values: convert(values, mode)


def _converted_rows(result: ScanResult, outputs: Sequence[_Output]) -> Iterator[tuple[Any, ...]]:
    try:
        for chunk in result.chunks():
            columns = []
            for output in outputs:
                try:
                    columns.append(output.convert(chunk.columns[output.source]))
                except BadValue as exc:  # the first pass checked every cell; kept for safety
                    raise cell_error(chunk, exc, output.spec.field_name) from None
            yield from zip(*columns, strict=True)
    finally:
        result.spill.close()
