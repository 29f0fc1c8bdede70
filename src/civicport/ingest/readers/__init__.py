"""File readers, registered by format. A reader opens a file and returns a Source: the header
row and an iterator of raw rows (lists of cells, possibly ragged); inference and conversion are
shared by every format (see infer.py and values.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicport.errors import InvalidUpload


@dataclass
class Source:
    """An opened table: column headers as written in the file and the data rows after them."""

    headers: list[str]
    rows: Iterator[list[Any]]


Reader = Callable[..., Source]  # reader(path, *, sheet=None) -> Source

READERS: dict[str, Reader] = {}
EXTENSIONS: dict[str, str] = {}


def register(format_name: str, *extensions: str) -> Callable[[Reader], Reader]:
    """Register a reader for a format and the file extensions (with dot) that mean it."""

    def decorate(reader: Reader) -> Reader:
        READERS[format_name] = reader
        for ext in extensions:
            EXTENSIONS[ext] = format_name
        return reader

    return decorate


def format_of(path: Path) -> str:
    """The registered format for a file's extension, or InvalidUpload naming those supported."""
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        supported = ", ".join(sorted(EXTENSIONS))
        raise InvalidUpload(
            f"{path.name}: files of type {path.suffix or '(no extension)'!r} cannot be imported; "
            f"supported types are {supported}."
        )
    return fmt


def open_source(path: Path, *, sheet: str | None = None) -> Source:
    """Open a file with the reader its extension names."""
    return READERS[format_of(path)](path, sheet=sheet)


# Core readers register themselves on import.
from civicport.ingest.readers import csv, excel, json  # noqa: E402, F401
