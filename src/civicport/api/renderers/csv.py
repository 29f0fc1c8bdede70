"""SODA CSV: a header of names, every non-null cell double-quoted, null as nothing, ``\\n`` ends.

Exports write millions of cells, so a batch is encoded column by column (one tight loop per
column, its encoder chosen once) and the lines are joined by C-level `str.join`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from civicport.api.renderers.cells import CSV_ENCODERS, Cell, Encoder, OutputColumnLike, plan
from civicport.api.renderers.framing import frame

BOM = "\ufeff".encode()
# Types whose encoded text never holds a double quote, so quoting needs no escaping.
QUOTE_FREE_TYPES = frozenset(
    {"number", "double", "checkbox", "floating_timestamp", "fixed_timestamp", "row_identifier",
     "point"}
)  # fmt: skip

Row = Sequence[Any]


def quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def render_csv(
    columns: Sequence[OutputColumnLike],
    batches: Iterable[Sequence[Row]],
    *,
    header: Sequence[str] | None = None,
    encoders: dict[str, Encoder | None] = CSV_ENCODERS,
    bom: bool = False,
) -> Iterator[bytes]:
    """The CSV body chunk by chunk; `header` defaults to the column names (field names)."""
    cells = plan(columns, encoders)
    names = header if header is not None else [c.name for c in cells]
    head = (",".join(quote(n) for n in names) + "\n").encode()
    lines = ([_batch_text(cells, batch).encode()] for batch in batches if batch)
    return frame(lines, open_=BOM + head if bom else head, sep=b"", close=b"")


def _batch_text(cells: Sequence[Cell], batch: Sequence[Row]) -> str:
    """The lines of one batch, each ending in a newline."""
    sql_columns = list(zip(*batch, strict=True))
    encoded = [_column_cells(cell, sql_columns) for cell in cells]
    return "\n".join(map(",".join, zip(*encoded, strict=True))) + "\n"


def _column_cells(cell: Cell, sql_columns: list[tuple[Any, ...]]) -> list[str]:
    if cell.width == 1:
        values: Sequence[Any] = sql_columns[cell.index]
    else:  # a point: (lon, lat) pairs, null unless both are set
        lon, lat = sql_columns[cell.index], sql_columns[cell.index + 1]
        values = [None if x is None or y is None else (x, y) for x, y in zip(lon, lat, strict=True)]
    encode = cell.encode or str
    if cell.soda_type in QUOTE_FREE_TYPES:
        return ["" if v is None else '"' + encode(v) + '"' for v in values]
    return ["" if v is None else '"' + encode(v).replace('"', '""') + '"' for v in values]
