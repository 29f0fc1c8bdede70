"""A chunk of rows as both passes of a load handle it, and its encoding for spill files and
worker processes."""

from __future__ import annotations

import marshal
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from civicport.errors import InvalidUpload
from civicport.ingest.values import BadValue


@dataclass
class Chunk:
    """Consecutive data rows, transposed to columns. `row_numbers` is set only when blank rows
    were dropped from the chunk; otherwise its rows are first_row, first_row + 1, …"""

    first_row: int
    columns: list[Sequence[Any]]
    row_numbers: list[int] | None = None

    @property
    def size(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def row_number(self, index: int) -> int:
        return self.row_numbers[index] if self.row_numbers else self.first_row + index


def encode(value: Any) -> bytes:
    """Plain values (str, int, float, None, lists and tuples of them) as marshal data, which
    is several times faster than pickle; anything else (datetimes, Decimals) as pickle."""
    try:
        # Version 2 has no object references: with them marshal hashes every string that
        # is still referenced elsewhere (the row lists), which triples its cost.
        return b"m" + marshal.dumps(value, 2)
    except ValueError:
        return b"p" + pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def decode(blob: bytes) -> Any:
    body = memoryview(blob)[1:]
    return marshal.loads(body) if blob[:1] == b"m" else pickle.loads(body)


def encode_chunk(chunk: Chunk) -> bytes:
    return encode((chunk.first_row, chunk.columns, chunk.row_numbers))


def decode_chunk(blob: bytes) -> Chunk:
    return Chunk(*decode(blob))


def quoted_cell(value: Any) -> str:
    """A cell as a message shows it: quoted, and shortened if long ("'31/02/2019'")."""
    text = str(value)
    if len(text) > 60:
        text = text[:57] + "…"
    return repr(text)


def cell_error(chunk: Chunk, error: BadValue, column: str) -> InvalidUpload:
    """'row 5,000, column inspection_date: '31/02/2019' is not a date'."""
    row = chunk.row_number(error.index)
    return InvalidUpload(
        f"row {row:,}, column {column}: {quoted_cell(error.value)} {error.reason}",
        data={"row": row, "column": column},
    )
