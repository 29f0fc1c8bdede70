"""Streaming type inference: one pass over a table's raw rows, in chunks, that narrows each
column's candidate SODA types and spills the raw chunks to a temporary file, so the second pass
(conversion) reads them back instead of parsing the source again.

Memory holds one chunk at a time, whatever the file size. Candidates are tried in priority
order (a column of "1"/"0" is a number before it is anything else) and a column keeps a type
only if every cell of every chunk converts strictly (see values.py); otherwise it is text.
Columns whose type a person chose are checked against that type in this pass: the cells that
do not fit are counted (type_policy.Misfits), so that a load is refused, or its bad cells left
empty, before anything is loaded.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any

from civicport.datastore.types import GEOMETRY_TYPES, SODA_TYPES
from civicport.errors import InvalidUpload
from civicport.ingest.chunks import Chunk, decode_chunk, encode_chunk
from civicport.ingest.type_policy import Misfits, find_misfits
from civicport.ingest.values import CONVERTERS, INFER, BadValue, location_addresses
from civicport.ingest.workers import map_in_workers

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
_HEADER = struct.Struct("<Q")  # spill record: byte length of the encoded chunk


@dataclass
class ColumnState:
    """What one column may still be. `chosen` is a type a person set; it is checked, not guessed."""

    name: str
    chosen: str | None = None
    candidates: list[str] = field(default_factory=lambda: list(CANDIDATES))
    hits: dict[str, int] = field(default_factory=dict)
    filled: int = 0
    has_address: bool = False
    misfits: Misfits | None = None  # cells that do not fit the chosen type

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

    def plan(self) -> ColumnPlan:
        return ColumnPlan(self.name, self.chosen, tuple(self.candidates), self.has_address)

    def merge(self, seen: Observation) -> None:
        """Narrow the column by what one chunk showed (chunks are merged in file order)."""
        self.filled += seen.filled
        self.has_address = self.has_address or seen.has_address
        self.misfits = self.misfits.then(seen.misfits) if self.misfits else seen.misfits
        if seen.fits is None:
            return
        fitting = dict(zip(seen.fits, seen.hits, strict=True))
        self.candidates = [t for t in self.candidates if t in fitting]
        for soda_type in self.candidates:
            self.hits[soda_type] = self.hits.get(soda_type, 0) + fitting[soda_type]


@dataclass(frozen=True)
class ColumnPlan:
    """What to check one column's cells for in a chunk: a snapshot of its ColumnState, plain
    data so that a worker process can do the checking (ingest.workers)."""

    name: str
    chosen: str | None
    candidates: tuple[str, ...]
    has_address: bool


@dataclass(frozen=True)
class Observation:
    """What one chunk showed of one column. `fits` (with `hits`, the non-null values of each)
    are the candidate types every cell fits, or None when the chunk did not narrow them;
    `misfits` are the cells that do not fit a chosen type."""

    filled: int = 0
    fits: tuple[str, ...] | None = None
    hits: tuple[int, ...] = ()
    has_address: bool = False
    misfits: Misfits | None = None


@dataclass
class ScanResult:
    types: list[str]
    has_address: list[bool]
    row_count: int
    spill: IO[bytes]
    # Per column, non-empty cells seen until its type was settled: 0 only for an empty column.
    filled: list[int] = field(default_factory=list)
    # Per column, the cells that do not fit its chosen type (None: all fit, or not chosen).
    misfits: list[Misfits | None] = field(default_factory=list)

    def chunks(self) -> Iterator[Chunk]:
        """The spilled chunks, in order."""
        return map(decode_chunk, self.encoded_chunks())

    def encoded_chunks(self) -> Iterator[bytes]:
        """The spilled chunks as encode_chunk wrote them, for decoding in another process."""
        self.spill.seek(0)
        while header := self.spill.read(_HEADER.size):
            (size,) = _HEADER.unpack(header)
            yield self.spill.read(size)


def _spill(blob: bytes, spill: IO[bytes]) -> None:
    # Length-prefixed: marshal.load on a file reads in tiny pieces, loads on bytes does not.
    spill.write(_HEADER.pack(len(blob)))
    spill.write(blob)


def scan(
    rows: Iterator[list[Any]],
    names: Sequence[str],
    chosen: Mapping[int, str],
    *,
    workers: int = 0,
) -> ScanResult:
    """Read every row once: check chosen types (counting the cells that do not fit), narrow
    the others, spill the raw chunks.

    `names` are the columns' field names (for messages); `chosen` maps a column index to the
    SODA type a person set for it. With `workers` the cells are checked in that many
    worker processes while this one reads the file.
    """
    states = [ColumnState(name, chosen.get(i)) for i, name in enumerate(names)]
    # Closed by whoever consumes ScanResult.chunks (or below, on failure): it outlives this call.
    spill = tempfile.TemporaryFile(prefix="civicport-ingest-")  # noqa: SIM115
    row_count = 0
    try:
        chunks = _chunks(rows, len(names))
        if workers:
            observed = _observe_in_workers(chunks, states, spill, workers)
        else:
            observed = (_observe_here(chunk, states, spill) for chunk in chunks)
        for size, observations in observed:
            for state, seen in zip(states, observations, strict=True):
                state.merge(seen)
            row_count += size
    except BaseException:
        spill.close()
        raise
    return ScanResult(
        types=[s.final_type() for s in states],
        has_address=[s.has_address for s in states],
        row_count=row_count,
        spill=spill,
        filled=[s.filled for s in states],
        misfits=[s.misfits for s in states],
    )


def observe_chunk(plans: Sequence[ColumnPlan], chunk: Chunk) -> list[Observation]:
    """What `chunk` shows of each column, the cells that do not fit a chosen type included."""
    return [
        _observe(plan, column, chunk) for plan, column in zip(plans, chunk.columns, strict=True)
    ]


def _observe_here(
    chunk: Chunk, states: Sequence[ColumnState], spill: IO[bytes]
) -> tuple[int, list[Observation]]:
    observations = observe_chunk([s.plan() for s in states], chunk)
    _spill(encode_chunk(chunk), spill)
    return chunk.size, observations


def _observe_in_workers(
    chunks: Iterator[Chunk], states: Sequence[ColumnState], spill: IO[bytes], workers: int
) -> Iterator[tuple[int, list[Observation]]]:
    def submissions() -> Iterator[tuple[list[ColumnPlan], bytes, int]]:
        for chunk in chunks:
            blob = encode_chunk(chunk)
            _spill(blob, spill)
            # Plans are taken as each chunk is sent: a little stale while earlier chunks are
            # still being checked, which only means checking a type that is already out.
            yield [s.plan() for s in states], blob, chunk.size

    return map_in_workers(_observe_encoded, submissions(), workers=workers)


def _observe_encoded(item: tuple[list[ColumnPlan], bytes, int]) -> tuple[int, list[Observation]]:
    plans, blob, size = item
    return size, observe_chunk(plans, decode_chunk(blob))


def _observe(plan: ColumnPlan, column: Sequence[Any], chunk: Chunk) -> Observation:
    if not plan.candidates and not plan.chosen:
        return Observation()  # settled as text
    filled = len(column) - column.count("") - column.count(None)
    if not filled:
        return Observation()
    if plan.chosen:
        return Observation(
            filled,
            has_address=plan.chosen == "point" and _has_address(plan, column),
            misfits=find_misfits(chunk, column, plan.chosen),
        )
    fits, hits = [], []
    for soda_type in plan.candidates:
        try:
            converted = CONVERTERS[soda_type](column, INFER)
        except BadValue:
            continue
        fits.append(soda_type)
        hits.append(len(converted) - converted.count(None))
    has_address = "point" in fits and _has_address(plan, column)
    return Observation(filled, tuple(fits), tuple(hits), has_address)


def _has_address(plan: ColumnPlan, column: Sequence[Any]) -> bool:
    """Whether a location column carries address text worth keeping."""
    if plan.has_address:
        return True
    return any(type(v) is str and "\n" in v for v in column) and any(location_addresses(column))


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
