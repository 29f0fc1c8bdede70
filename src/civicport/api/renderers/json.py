"""SODA JSON rows: ``[`` row (``\\n,`` row)* ``]\\n``; null keys omitted; values per soda.md §5."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import orjson

from civicport.api.renderers.cells import JSON_ENCODERS, Cell, OutputColumnLike, plan
from civicport.api.renderers.framing import frame

Row = Sequence[Any]
RowObject = dict[str, Any]


def object_builder(
    cells: Sequence[Cell], *, keep_nulls: bool = False
) -> Callable[[Row], RowObject]:
    """A function turning one SQL row into the row object (null keys dropped unless kept)."""
    spec = [(c.name, c.index, c.width, c.encode, c.value) for c in cells]

    def build(row: Row) -> RowObject:
        out: RowObject = {}
        for name, index, width, encode, value_of in spec:
            value = row[index] if width == 1 else value_of(row)
            if value is not None:
                out[name] = value if encode is None else encode(value)
            elif keep_nulls:
                out[name] = None
        return out

    return build


def render_json(
    columns: Sequence[OutputColumnLike], batches: Iterable[Sequence[Row]]
) -> Iterator[bytes]:
    """The body of ``/resource/{id}.json``, chunk by chunk."""
    build = object_builder(plan(columns, JSON_ENCODERS))
    dumps = orjson.dumps
    encoded = ([dumps(build(row)) for row in batch] for batch in batches)
    return frame(encoded, open_=b"[", sep=b"\n,", close=b"]\n")


def render_json_object(columns: Sequence[OutputColumnLike], row: Row) -> bytes:
    """One row as a bare object and a newline (``/resource/{id}/{row_id}.json``)."""
    return orjson.dumps(object_builder(plan(columns, JSON_ENCODERS))(row)) + b"\n"
