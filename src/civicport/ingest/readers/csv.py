"""CSV and TSV: encoding and delimiter sniffed, quoted multi-line cells, CRLF or LF."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from civicport.errors import InvalidUpload
from civicport.ingest import sniff
from civicport.ingest.readers import Source, register
from civicport.ingest.records import ReadOptions

_BLOCK = 1 << 20
_MAX_CELL = 16 << 20


@register("csv", ".csv", ".txt")
def read_csv(path: Path, options: ReadOptions) -> Source:
    """Open a delimited text file; the delimiter is detected."""
    return _read_delimited(path, None)


@register("tsv", ".tsv", ".tab")
def read_tsv(path: Path, options: ReadOptions) -> Source:
    """Open a tab-separated file."""
    return _read_delimited(path, "\t")


def _read_delimited(path: Path, delimiter: str | None) -> Source:
    """Open a delimited text file with `delimiter`, or the one its first bytes show."""
    # Allow long text cells (the default limit is 128 KiB); an unclosed quote still stops here.
    csv.field_size_limit(_MAX_CELL)
    sample = sniff.read_sample(path)
    sniff.check_text(sample, path.name)
    encoding = _whole_file_encoding(path, sniff.detect_encoding(sample))
    text = sample.decode(encoding, errors="ignore")
    delimiter = delimiter or sniff.detect_delimiter(text)
    rows = _records(path, encoding, delimiter)
    headers = next(rows, None)
    if headers is None:
        raise InvalidUpload(f"{path.name} is empty: there are no column names and no rows.")
    return Source(headers=headers, rows=rows)


def _whole_file_encoding(path: Path, encoding: str) -> str:
    """`encoding` if the whole file decodes with it, else the fallback for the bytes that did not.

    The sample decides the encoding, but a Windows-1252 "é" may first appear on row 90,000 of
    an otherwise ASCII file; decoding everything once costs a fraction of a second.
    """
    if encoding != "utf-8":
        return encoding
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return sniff.fallback_encoding(block[max(0, exc.start - 4096) : exc.end + 4096])
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return encoding


def _records(path: Path, encoding: str, delimiter: str) -> Iterator[list[Any]]:
    """Records, leading blank lines skipped; a csv error becomes InvalidUpload."""
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        try:
            for record in reader:
                if record:
                    yield record
                    break
            yield from reader
        except csv.Error as exc:
            line = _record_start(path, encoding, delimiter)
            raise InvalidUpload(_csv_message(path, line, str(exc))) from None


def _record_start(path: Path, encoding: str, delimiter: str) -> int:
    """The line where the first bad record starts (read again: errors are rare, and tracking
    every record's first line would slow the common case)."""
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        line = 1
        try:
            for _ in reader:
                line = reader.line_num + 1
        except csv.Error:
            pass
    return line


def _csv_message(path: Path, line: int, reason: str) -> str:
    if "end of data" in reason or "field larger" in reason:
        return (
            f"{path.name}, line {line:,}: a quoted value starting on this line is never closed "
            '(a " without its closing "), so the rest of the file would be one cell.'
        )
    return f"{path.name}, line {line:,}: the CSV is malformed ({reason})."
