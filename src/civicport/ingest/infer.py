"""Streaming type inference: one pass over a table's raw rows, in chunks, that narrows each
column's candidate SODA types and spills the raw chunks to a temporary file, so the second pass
(conversion) reads them back instead of parsing the source again.

Memory holds one chunk at a time, whatever the file size. Candidates are tried in priority
order (a column of "1"/"0" is a number before it is anything else) and a column keeps a type
only if every cell of every chunk converts strictly (see values.py); otherwise it is text.
Columns whose type a person chose are checked against that type in this pass, so a bad cell
is reported before anything is loaded.
"""

from __future__ import annotations

import marshal
import pickle
import struct
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

from civicport.datastore.types import GEOMETRY_TYPES, SODA_TYPES
from civicport.errors import InvalidUpload
from civicport.ingest.values import CONVERTERS, INFER, LENIENT, BadValue, location_addresses

# Tried in this order; the first that fits every cell wins. Types are (nearly) exclusive, so
# after the first chunk most columns keep a single candidate.
CANDIDATES = (
    "checkbox",
    "number",
    "floating_timestamp",
    "fixed_timestamp",
    *(t for t in SODA_TYPES if t in GEOMETRY_TYPES),
    "url",
)
CHUNK_CELLS = 1 << 18
MAX_CHUNK_ROWS = 8192
_HEADER = struct.Struct("<cQ")  # spill record: format tag, byte length


@dataclass
class Chunk:
    """Consecutive data rows, transposed to columns. `row_numbers` is set only when blank rows
    were dropped from the chunk; otherwise its rows are first_row, first_row + 1, …"""

    first_row: int
    columns: list[Sequence[Any]]
    row_numbers: list[int] | None = None

    def row_number(self, index: int) -> int:
        return self.row_numbers[index] if self.row_numbers else self.first_row + index


@dataclass
class ColumnState:
    """What one column may still be. `chosen` is a type a person set; it is checked, not guessed."""

    chosen: str | None = None
    candidates: list[str] = field(default_factory=lambda: list(CANDIDATES))
    hits: dict[str, int] = field(default_factory=dict)
    filled: int = 0
    has_address: bool = False

    def final_type(self) -> str:
        if self.chosen:
            return self.chosen
        for soda_type in self.candidates:
            hits = self.hits.get(soda_type, 0)
            # A location column may hold some never-geocoded addresses, but most cells must
            # carry coordinates, or a column of multi-line notes would pass as points.
            if hits and (soda_type != "point" or hits * 2 >= self.filled):
                return soda_type
        return "text"


@dataclass
class ScanResult:
    types: list[str]
    has_address: list[bool]
    row_count: int
    spill: IO[bytes]

    def chunks(self) -> Iterator[Chunk]:
        """The spilled chunks, in order."""
        self.spill.seek(0)
        while header := self.spill.read(_HEADER.size):
            tag, size = _HEADER.unpack(header)
            blob = self.spill.read(size)
            yield Chunk(*(marshal.loads(blob) if tag == b"m" else pickle.loads(blob)))


def _spill(chunk: Chunk, spill: IO[bytes]) -> None:
    """Append a chunk: marshal (several times faster) when its cells are plain values, as
    CSV's strings are; pickle when they are not (Excel dates)."""
    record = (chunk.first_row, chunk.columns, chunk.row_numbers)
    try:
        # Version 2 has no object references: with them marshal hashes every string that
        # is still referenced elsewhere (the row lists), which triples its cost.
        tag, blob = b"m", marshal.dumps(record, 2)
    except ValueError:
        tag, blob = b"p", pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
    # Length-prefixed: marshal.load on a file reads in tiny pieces, loads on bytes does not.
    spill.write(_HEADER.pack(tag, len(blob)))
    spill.write(blob)


def cell_error(chunk: Chunk, error: BadValue, column: str) -> InvalidUpload:
    """'row 5,000, column inspection_date: '31/02/2019' is not a date'."""
    text = str(error.value)
    if len(text) > 60:
        text = text[:57] + "…"
    row = chunk.row_number(error.index)
    return InvalidUpload(
        f"row {row:,}, column {column}: {text!r} {error.reason}",
        data={"row": row, "column": column},
    )


def scan(
    rows: Iterator[list[Any]],
    names: Sequence[str],
    chosen: Mapping[int, str],
) -> ScanResult:
    """Read every row once: check chosen types, narrow the others, spill the raw chunks.

    `names` are the columns' field names (for messages); `chosen` maps a column index to the
    SODA type a person set for it.
    """
    states = [ColumnState(chosen=chosen.get(i)) for i in range(len(names))]
    # Closed by whoever consumes ScanResult.chunks (or below, on failure): it outlives this call.
    spill = tempfile.TemporaryFile(prefix="civicport-ingest-")  # noqa: SIM115
    row_count = 0
    try:
        for chunk in _chunks(rows, len(names)):
            for state, column, name in zip(states, chunk.columns, names, strict=True):
                _observe(state, column, chunk, name)
            _spill(chunk, spill)
            row_count += len(chunk.columns[0]) if chunk.columns else 0
    except BaseException:
        spill.close()
        raise
    return ScanResult(
        types=[s.final_type() for s in states],
        has_address=[s.has_address for s in states],
        row_count=row_count,
        spill=spill,
    )


def _observe(state: ColumnState, column: Sequence[Any], chunk: Chunk, name: str) -> None:
    if not state.candidates and not state.chosen:
        return  # settled as text
    filled = len(column) - column.count("") - column.count(None)
    if not filled:
        return
    state.filled += filled
    if state.chosen:
        try:
            CONVERTERS[state.chosen](column, LENIENT)
        except BadValue as exc:
            raise cell_error(chunk, exc, name) from None
        if state.chosen == "point":
            _note_addresses(state, column)
        return
    kept = []
    for soda_type in state.candidates:
        try:
            converted = CONVERTERS[soda_type](column, INFER)
        except BadValue:
            continue
        kept.append(soda_type)
        state.hits[soda_type] = (
            state.hits.get(soda_type, 0) + len(converted) - converted.count(None)
        )
        if soda_type == "point":
            _note_addresses(state, column)
    state.candidates = kept


def _note_addresses(state: ColumnState, column: Sequence[Any]) -> None:
    """Remember whether a location column carries address text worth keeping."""
    if not state.has_address and any(type(v) is str and "\n" in v for v in column):
        state.has_address = any(location_addresses(column))


def _chunks(rows: Iterator[list[Any]], width: int) -> Iterator[Chunk]:
    size = max(64, min(MAX_CHUNK_ROWS, CHUNK_CELLS // max(width, 1)))
    next_row = 1
    while batch := list(islice(rows, size)):
        first = next_row
        next_row += len(batch)
        row_numbers = None
        # Fast checks first: most chunks have no ragged and no blank rows.
        if set(map(len, batch)) != {width} or not all(map(any, batch)):
            batch, row_numbers = _tidy(batch, first, width)
            if not batch:
                continue
        columns: list[Sequence[Any]] = list(zip(*batch, strict=True))
        yield Chunk(first_row=first, columns=columns, row_numbers=row_numbers)


def _tidy(batch: list[list[Any]], first: int, width: int) -> tuple[list[list[Any]], list[int]]:
    """Drop blank rows, pad short rows with empty cells, refuse rows with extra values.

    Short rows are padded (a spreadsheet drops trailing empty cells when saving CSV); a row
    with more values than there are columns means a delimiter or quote is wrong, and guessing
    which value belongs where would corrupt data, so it is an error (trailing empty cells
    beyond the header, from a trailing delimiter, are allowed).
    """
    kept, numbers = [], []
    for offset, row in enumerate(batch):
        if all(v is None or v == "" for v in row):
            continue
        number = first + offset
        if len(row) > width:
            if any(v not in ("", None) for v in row[width:]):
                raise InvalidUpload(
                    f"row {number:,} has {len(row)} values but the header has {width} "
                    "columns; check the delimiter and quotes on that row.",
                    data={"row": number},
                )
            row = row[:width]
        elif len(row) < width:
            row = list(row) + [""] * (width - len(row))
        kept.append(row)
        numbers.append(number)
    return kept, numbers
