"""What a reader hands to the loader: a schema and a stream of typed rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ColumnSpec:
    """One column of an incoming table, after field-name derivation and type inference."""

    field_name: str
    display_name: str
    soda_type: str
    description: str = ""


@dataclass
class ParsedTable:
    """A table being read. `rows` yields tuples in `columns` order, values already converted
    to the Python types datastore.types.to_storage expects; it is consumed once.

    `source_rows` counts data rows read so far (for progress bars); `total_bytes` and
    `bytes_read` let a caller show progress through the file when the row count is unknown.
    """

    columns: list[ColumnSpec]
    rows: Iterator[tuple[Any, ...]]
    total_bytes: int | None = None
    source_name: str = ""
