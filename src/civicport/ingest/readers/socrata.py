"""Socrata exports: a `rows.json` (its view metadata and its rows in one file), or a CSV
described by the dataset's `/api/views/{id}.json`. Either way the columns keep Socrata's field
names, display names, descriptions and types (ingest.socrata reads the view).

A rows.json is read as a stream, so a large export is never held in memory; readers/json.py
hands it here when a .json file turns out to be one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from civicport.errors import InvalidUpload
from civicport.ingest.fieldnames import field_name
from civicport.ingest.readers import Source
from civicport.ingest.socrata import SocrataColumn, SocrataView, cell, data_rows, load_view


def open_rows_json(path: Path) -> Source:
    """A rows.json export as a Source: the view's own columns (system columns skipped), each
    cell picked from its place in the data row."""
    view = load_view(path)
    headers = [c.name for c in view.columns]
    return described_by(Source(headers, _picked(path, view.columns)), view)


def _picked(path: Path, columns: list[SocrataColumn]) -> Iterator[list[Any]]:
    width = max(c.index for c in columns) + 1
    for position, row in enumerate(data_rows(path), start=1):
        if len(row) < width:
            raise InvalidUpload(
                f"{path.name}: data row {position:,} has {len(row)} values but its view lists "
                f"{width} columns."
            )
        yield [cell(c, row[c.index]) for c in columns]


def described_by(source: Source, view: SocrataView) -> Source:
    """Give a Source's columns the view's field names, display names, descriptions and types.

    A header matches a column by display name (Socrata's CSV export) or by field name; columns
    the view does not know keep names derived from their header. InvalidUpload when no header
    matches, which means the view is another dataset's.
    """
    by_name = {c.name.strip().lower(): c for c in view.columns}
    by_field = {c.field_name: c for c in view.columns}
    for index, header in enumerate(source.headers):
        text = str(header or "").strip()
        column = by_name.get(text.lower()) or by_field.get(text) or by_field.get(field_name(text))
        if column is None:
            continue
        source.names[index] = (column.field_name, column.name)
        if column.description:
            source.descriptions[index] = column.description
        source.declared.setdefault(index, column.soda_type)
    if not source.names:
        raise InvalidUpload(
            "none of the file's columns is in the Socrata view ("
            + ", ".join(c.name for c in view.columns[:10])
            + "); is the view that of another dataset?"
        )
    return source
