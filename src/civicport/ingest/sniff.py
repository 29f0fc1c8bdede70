"""What kind of bytes a file holds: binary or text, which encoding, which delimiter."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from civicport.errors import InvalidUpload

SAMPLE_BYTES = 1 << 16
DELIMITERS = (",", "\t", ";", "|")

# Magic numbers of files people upload by mistake, and what to call them in the message.
_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a zip archive (an .xlsx or zipped file?)",
    b"\xd0\xcf\x11\xe0": "a legacy Office document (an .xls workbook?)",
    b"\x1f\x8b": "a gzip archive",
}
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def read_sample(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    with path.open("rb") as f:
        return f.read(size)


def check_text(sample: bytes, name: str) -> None:
    """Raise InvalidUpload if the sample is empty or is not text."""
    if not sample.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise InvalidUpload(f"{name} is empty: there are no column names and no rows.")
    for magic, kind in _SIGNATURES.items():
        if sample.startswith(magic):
            raise InvalidUpload(f"{name} is not a text table: it looks like {kind}.")
    if b"\x00" in sample and not sample.startswith(_UTF16_BOMS):
        raise InvalidUpload(f"{name} is not a text table: it contains binary data.")


def detect_encoding(sample: bytes) -> str:
    """The encoding of a text sample: a BOM wins, then UTF-8 if the bytes decode as UTF-8,
    else charset-normalizer's guess among the single-byte encodings spreadsheets write."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith(_UTF16_BOMS):
        return "utf-16"
    try:
        # A sample may end inside a multi-byte character: decode incrementally, not final.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return fallback_encoding(sample)


def fallback_encoding(data: bytes) -> str:
    """The encoding of bytes that are not UTF-8. Windows-1252 (what Excel writes in the US and
    Western Europe, a superset of Latin-1's letters) when it reads them as Western text;
    otherwise charset-normalizer's guess; Latin-1, which decodes any byte, as the last resort."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(_western(ch) for ch in set(text) if ord(ch) > 127):
        return "cp1252"
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        return best.encoding
    return "cp1252" if text is not None else "latin-1"


def _western(ch: str) -> bool:
    """A character Western-European text plausibly holds: accented letters and typographic
    punctuation ("Café", “quotes”, –, €), not box drawing or stray symbols."""
    return ch.isalpha() and ord(ch) < 0x250 or ch in "‘’‚“”„–—…€•°±²³µ·¼½¾×÷¿¡«»§©®™"


def detect_delimiter(text: str, default: str = ",") -> str:
    """The delimiter that splits the sample's rows into the same number of fields as its
    header, preferring more fields; `default` if none splits the header at all."""
    lines = text.splitlines(keepends=True)
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last line short
    sample = "".join(lines[:200])
    best, best_score = default, (0.0, 1)
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistency = sum(len(r) == width for r in rows) / len(rows)
        if (consistency, width) > best_score:
            best, best_score = delimiter, (consistency, width)
    return best
