"""File readers, registered by format. A reader opens a file and returns a Source: the header
row and an iterator of raw rows (lists of cells, possibly ragged); inference and conversion are
shared by every format (see infer.py and values.py).

docs/formats.md describes, for the people who upload files, what each format reader reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civicport.errors import InvalidUpload
from civicport.ingest.records import ReadOptions


@dataclass
class Source:
    """An opened table: column headers as written in the file and the data rows after them.

    `declared` maps a column index to the SODA type the file itself states (a GIS layer's
    geometry type): it is checked like a type a person chose, not guessed. `optional` holds
    columns a format always has whether or not a file uses them (KML's timestamp, begin,
    end): they are left out when every row leaves them empty.

    `names` maps a column index to the (field name, display name) the file states (a Socrata
    view's), used as they are instead of being derived from the header; `descriptions` maps a
    column index to its description.
    """

    headers: list[str]
    rows: Iterator[list[Any]]
    declared: dict[int, str] = field(default_factory=dict)
    optional: frozenset[int] = frozenset()
    names: dict[int, tuple[str, str]] = field(default_factory=dict)
    descriptions: dict[int, str] = field(default_factory=dict)


class Rows(Iterator[list[Any]]):
    """Rows of a reader that holds something open (a GDAL dataset, an unpacked archive):
    `release` runs once, when the rows are read to the end or closed (close_rows)."""

    def __init__(self, rows: Iterable[list[Any]], release: Callable[[], None]) -> None:
        self._rows = iter(rows)
        self._release: Callable[[], None] | None = release

    def __next__(self) -> list[Any]:
        try:
            return next(self._rows)
        except StopIteration:
            self.close()
            raise

    def close(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


def close_rows(rows: Iterator[list[Any]]) -> None:
    """Stop reading a Source early: its file, GDAL dataset or unpacked folder is let go now."""
    close = getattr(rows, "close", None)
    if close is not None:
        close()


Reader = Callable[[Path, ReadOptions], Source]

READERS: dict[str, Reader] = {}
EXTENSIONS: dict[str, str] = {}
# Which ReadOptions parts ("sheet", "layer") a format has.
PARTS: dict[str, frozenset[str]] = {}

# Files people pick by mistake that are one piece of something importable.
_SHAPEFILE_HINT = (
    "a shapefile is several files (.shp, .shx, .dbf and .prj): zip them together and import "
    "the .zip"
)
_GEODATABASE_HINT = "a File Geodatabase is a folder: zip the whole .gdb folder and import the .zip"
_HINTS = {
    **dict.fromkeys((".shp", ".shx", ".dbf", ".prj", ".cpg"), _SHAPEFILE_HINT),
    **dict.fromkeys((".gdb", ".gdbtable", ".gdbtablx", ".gdbindexes"), _GEODATABASE_HINT),
}


def register(
    format_name: str, *extensions: str, parts: Iterable[str] = ()
) -> Callable[[Reader], Reader]:
    """Register a reader for a format, the file extensions (with dot) that mean it, and the
    parts of a file (sheet, layer) a person may choose between."""

    def decorate(reader: Reader) -> Reader:
        READERS[format_name] = reader
        PARTS[format_name] = frozenset(parts)
        for ext in extensions:
            EXTENSIONS[ext] = format_name
        return reader

    return decorate


def format_of(path: Path) -> str:
    """The registered format for a file's extension, or InvalidUpload naming those supported."""
    suffix = path.suffix.lower()
    fmt = EXTENSIONS.get(suffix)
    if fmt is None:
        if suffix in _HINTS:
            raise InvalidUpload(f"{path.name} cannot be imported by itself: {_HINTS[suffix]}.")
        supported = ", ".join(sorted(EXTENSIONS))
        raise InvalidUpload(
            f"{path.name}: files of type {path.suffix or '(no extension)'!r} cannot be imported; "
            f"supported types are {supported}."
        )
    return fmt


def open_source(path: Path, options: ReadOptions | None = None) -> Source:
    """Open a file with the reader its extension names.

    InvalidUpload when the options name a part the format does not have (a sheet of a CSV).
    """
    options = options or ReadOptions()
    fmt = format_of(path)
    for part, value in (("sheet", options.sheet), ("layer", options.layer)):
        if value is not None and part not in PARTS[fmt]:
            raise InvalidUpload(
                f"{path.name} has no {part}s to choose from; leave out the {part} name {value!r}."
            )
    source = READERS[fmt](path, options)
    if options.socrata_view is not None:
        source = described_by(source, load_view(options.socrata_view))
    return source


# Core readers register themselves on import.
from civicport.ingest.readers import csv, excel, gis, json, zipped  # noqa: E402, F401
from civicport.ingest.readers.socrata import described_by  # noqa: E402
from civicport.ingest.socrata import load_view  # noqa: E402
