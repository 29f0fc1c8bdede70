"""What a caller asks of a reader (ReadOptions), and what a reader hands to the loader: a
schema and a stream of typed rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civicport.config import Settings

# An archive may unpack to at most this many bytes unless the caller passes its own
# `max_upload_bytes` setting: the setting's own default, so the two cannot drift apart.
DEFAULT_MAX_UNPACKED = int(Settings.model_fields["max_upload_bytes"].default)


@dataclass(frozen=True)
class ReadOptions:
    """Which part of a file to read, how large an archive may unpack, and what to do with
    values that do not fit a column's chosen type (see ingest.type_policy)."""

    sheet: str | None = None  # a workbook's sheet, by name (default: the first)
    layer: str | None = None  # a GIS file's layer, by name (default: the first)
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED
    # A Socrata view (/api/views/{id}.json) naming, typing and describing a CSV's columns.
    socrata_view: Path | None = None
    # The types of the dataset a file is loaded into (field name → SODA type): each column of
    # the file that has one is read as that type, checked as a chosen type is. Unlike
    # read_file's type_overrides, names the file lacks are skipped (a replace may drop a
    # column, an upsert may carry a few), and type_overrides win over these.
    dataset_types: Mapping[str, str] = field(default_factory=dict)
    # Column (field or display name) → "reject" (the default), "null" or "text": what becomes
    # of cells that do not fit a chosen type. Names the file lacks are skipped.
    type_policy: Mapping[str, str] = field(default_factory=dict)


# A batch's columns (lists of reader values, one per column) → its stored columns.
ColumnFinisher = Callable[[list[list[Any]]], list[list[Any]]]


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

    `total_bytes` lets a caller show the size of what is being loaded. `warnings` say what
    was done to values that did not fit their column's type (ReadOptions.type_policy).

    `column_batches`, when set, is a faster way to the same rows for the loader: called with
    a picklable function `finish` that turns a batch's columns into their stored form, it
    yields each batch's stored columns, converted and finished in worker processes
    (ingest.workers). Only one of `rows` and `column_batches` may be consumed.
    """

    columns: list[ColumnSpec]
    rows: Iterator[tuple[Any, ...]]
    total_bytes: int | None = None
    source_name: str = ""
    column_batches: Callable[[ColumnFinisher], Iterator[list[list[Any]]]] | None = None
    warnings: list[str] = field(default_factory=list)
