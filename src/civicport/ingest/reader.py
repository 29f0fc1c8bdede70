"""Read a file into a ParsedTable: columns named and typed, rows converted.

    table = read_file(Path("inspections.csv"), type_overrides={"Zip Code": "text"})
    table = read_file(Path("parcels.zip"), options=ReadOptions(layer="parcels"))
    table.columns  # [ColumnSpec("zip_code", "Zip Code", "text"), …]
    for row in table.rows: ...  # tuples in column order, values as datastore.types expects

The file is read twice: a first pass (inside read_file) infers the types and checks every
cell, so bad values are reported (or, as a column's type policy says, left empty or kept as
text) before anything is loaded; `rows` then converts the raw chunks that pass spilled to a
temporary file (or, for large tables, worker processes do: `column_batches`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicport.datastore.types import SODA_TYPES
from civicport.errors import InvalidUpload
from civicport.ingest.chunks import Chunk, cell_error
from civicport.ingest.fieldnames import field_name, name_columns, unique_name
from civicport.ingest.infer import ScanResult, scan
from civicport.ingest.readers import Source, close_rows, open_source
from civicport.ingest.records import ColumnFinisher, ColumnSpec, ParsedTable, ReadOptions
from civicport.ingest.type_policy import Settlement, check_policy, settle
from civicport.ingest.values import (
    CONVERTERS,
    LENIENT,
    TRUSTED,
    BadValue,
    convert_or_none,
    location_addresses,
)
from civicport.ingest.workers import convert_in_workers, worker_count

# Below this size (~50,000 rows), starting worker processes costs more than they save.
PARALLEL_MIN_BYTES = 8_000_000

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
    """One output column: which source column feeds it and how its cells are converted.
    Plain data, so that worker processes can be given the plan (see ingest.workers)."""

    source: int
    spec: ColumnSpec
    mode: str  # a conversion mode of values.py
    address_lines: bool = False  # the address text beside a location's point
    nulls_misfits: bool = False  # cells that do not fit the chosen type load empty

    def convert(self, values: Sequence[Any]) -> list[Any]:
        if self.address_lines:
            return location_addresses(values)
        if self.nulls_misfits:
            return convert_or_none(self.spec.soda_type, values)
        return CONVERTERS[self.spec.soda_type](values, self.mode)


def convert_chunk(chunk: Chunk, outputs: Sequence[_Output]) -> list[list[Any]]:
    """A raw chunk's output columns, converted; InvalidUpload names the first bad cell."""
    columns = []
    for output in outputs:
        try:
            columns.append(output.convert(chunk.columns[output.source]))
        except BadValue as exc:  # the first pass checked every cell; kept for safety
            raise cell_error(chunk, exc, output.spec.field_name) from None
    return columns


def read_file(
    path: Path,
    *,
    type_overrides: Mapping[str, str] | None = None,
    options: ReadOptions | None = None,
    parallel: bool | None = None,
) -> ParsedTable:
    """Open a file of any registered format (docs/formats.md), infer column types and return a
    ParsedTable.

    `type_overrides` maps a column (display name or field name) to a SODA type name, which is
    then checked rather than inferred; types the file itself declares (a GIS layer's geometry)
    are checked the same way. `options` picks a workbook's sheet or a GIS file's layer by name
    (default: the first), bounds how large an archive may unpack, gives the types of the
    dataset being loaded into (`dataset_types`, checked like overrides for the columns the file
    has), and sets per column what becomes of cells that do not fit a chosen type
    (`type_policy`: reject, null or text; see ingest.type_policy), which the returned table's
    `warnings` then report.
    `parallel` spreads both passes over worker processes (ingest.workers) and offers the
    rows as `column_batches` too; by default, files of PARALLEL_MIN_BYTES or more do.
    Raises InvalidUpload naming the row and column of the first bad cell in a rejecting
    column, and how many more there are.
    """
    path = Path(path)
    options = options or ReadOptions()
    source = open_source(path, options)
    try:
        named = _named(source.headers, source.names)
        chosen = (
            source.declared
            | resolve_overrides(options.dataset_types, named, missing_ok=True)
            | resolve_overrides(type_overrides or {}, named)
        )
        policies = resolve_policies(options.type_policy, named)
        if parallel is None:
            parallel = path.stat().st_size >= PARALLEL_MIN_BYTES and worker_count() > 1
        workers = worker_count() if parallel else 0
        result = scan(source.rows, [f for f, _ in named], chosen, workers=workers)
    finally:
        close_rows(source.rows)  # the first pass read them all, or failed
    try:
        settled = settle(result.misfits, [f for f, _ in named], result.types, policies)
    except InvalidUpload:
        result.spill.close()
        raise
    outputs = _plan(named, result, chosen, settled, source)
    batches = functools.partial(_batches_in_workers, result, outputs) if parallel else None
    return ParsedTable(
        columns=[o.spec for o in outputs],
        rows=_converted_rows(result, outputs),
        total_bytes=path.stat().st_size,
        source_name=path.name,
        column_batches=batches,
        warnings=settled.warnings,
    )


def resolve_overrides(
    overrides: Mapping[str, str], named: Sequence[tuple[str, str]], *, missing_ok: bool = False
) -> dict[int, str]:
    """Column index → SODA type for each override; InvalidUpload for an unknown type, and
    for an unknown column unless `missing_ok` (then it is skipped).

    A key matches a field name, then a display name (case-insensitively), then the field name
    derived from it ("Inspection Date" and "inspection_date" both name the same column).
    """
    find = _column_finder(named)
    chosen: dict[int, str] = {}
    for key, type_name in overrides.items():
        soda_type = TYPE_ALIASES.get(type_name.strip().lower(), type_name.strip().lower())
        if soda_type not in SODA_TYPES:
            raise InvalidUpload(
                f"unknown type {type_name!r} for column {key!r}; use one of: "
                + ", ".join(SODA_TYPES)
                + "."
            )
        index = find(key)
        if index is None and missing_ok:
            continue
        if index is None:
            raise InvalidUpload(
                f"there is no column {key!r} in the file; its columns are: "
                + ", ".join(f for f, _ in named)
                + "."
            )
        chosen[index] = soda_type
    return chosen


def resolve_policies(
    policies: Mapping[str, str], named: Sequence[tuple[str, str]]
) -> dict[int, str]:
    """Column index → type policy, keys matched as resolve_overrides matches them; keys that
    name no column of the file are skipped. InvalidUpload for an unknown policy."""
    find = _column_finder(named)
    resolved = {}
    for key, policy in policies.items():
        check_policy(key, policy)
        index = find(key)
        if index is not None:
            resolved[index] = policy
    return resolved


def _column_finder(named: Sequence[tuple[str, str]]) -> Callable[[str], int | None]:
    """A lookup of a column's index by field name, display name or the field name derived
    from a display name."""
    by_field = {f: i for i, (f, _) in enumerate(named)}
    by_display = {d.lower(): i for i, (_, d) in enumerate(named)}

    def find(key: str) -> int | None:
        return by_field.get(key, by_display.get(key.strip().lower(), by_field.get(field_name(key))))

    return find


def _named(headers: Sequence[str], stated: Mapping[int, tuple[str, str]]) -> list[tuple[str, str]]:
    """(field name, display name) per column: as the file states them (a Socrata view), else
    derived from the header without taking a stated field name."""
    derived = name_columns(headers, reserved={field for field, _ in stated.values()})
    return [stated.get(index, named) for index, named in enumerate(derived)]


def _plan(
    named: Sequence[tuple[str, str]],
    result: ScanResult,
    chosen: Mapping[int, str],
    settled: Settlement,
    source: Source,
) -> list[_Output]:
    taken = {f for f, _ in named}
    outputs = []
    for index, ((field, display), soda_type) in enumerate(zip(named, result.types, strict=True)):
        if index in source.optional and not result.filled[index]:
            continue
        if index in settled.as_text:
            soda_type = "text"
        mode = LENIENT if index in chosen and soda_type != "text" else TRUSTED
        spec = ColumnSpec(field, display, soda_type, source.descriptions.get(index, ""))
        outputs.append(_Output(index, spec, mode, nulls_misfits=index in settled.nulled))
        if soda_type == "point" and result.has_address[index]:
            # A Socrata location keeps its address; a point cannot, so the address lines go
            # into a text column beside it rather than being lost.
            companion = ColumnSpec(
                unique_name(f"{field}_address", taken), f"{display} (address)", "text"
            )
            outputs.append(_Output(index, companion, TRUSTED, address_lines=True))
    return outputs


def _batches_in_workers(
    result: ScanResult, outputs: Sequence[_Output], finish: ColumnFinisher
) -> Iterator[list[list[Any]]]:
    try:
        convert = functools.partial(convert_chunk, outputs=outputs)
        chunks = result.encoded_chunks()
        yield from convert_in_workers(chunks, convert, finish, workers=worker_count())
    finally:
        result.spill.close()


def _converted_rows(result: ScanResult, outputs: Sequence[_Output]) -> Iterator[tuple[Any, ...]]:
    try:
        for chunk in result.chunks():
            yield from zip(*convert_chunk(chunk, outputs), strict=True)
    finally:
        result.spill.close()
