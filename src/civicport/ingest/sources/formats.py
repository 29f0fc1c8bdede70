"""Which file suffix fetched data gets, so the reader (ingest.readers) knows its format: from a
format a person named, the address, what the server said about it, or its first bytes."""

from __future__ import annotations

from pathlib import PurePosixPath

from civicport.ingest.sources.spec import SourceError

# Other names people (and CKAN's `format` field) give formats, beside the suffixes themselves.
_ALIASES = {
    "excel": ".xlsx",
    "shapefile": ".zip",
    "shp": ".zip",
    "zipped shapefile": ".zip",
    "esri shapefile": ".zip",
    "geodatabase": ".zip",
    "gdb": ".zip",
    "file geodatabase": ".zip",
    "geopackage": ".gpkg",
}

_CONTENT_TYPES = {
    "text/csv": ".csv",
    "application/csv": ".csv",
    "text/comma-separated-values": ".csv",
    "text/tab-separated-values": ".tsv",
    "application/json": ".json",
    "application/geo+json": ".geojson",
    "application/vnd.geo+json": ".geojson",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
    "application/vnd.google-earth.kml+xml": ".kml",
    "application/vnd.google-earth.kmz": ".kmz",
    "application/geopackage+sqlite3": ".gpkg",
}

SNIFF_BYTES = 4096


def known_suffixes() -> dict[str, str]:
    """Suffix → reader format, as the readers registered them."""
    # Imported here: the readers pull in the GIS and Excel libraries.
    from civicport.ingest.readers import EXTENSIONS

    return EXTENSIONS


def named_suffix(name: str) -> str | None:
    """The suffix for a format as people name it ('csv', '.xlsx', 'Shapefile'), or None."""
    key = name.strip().lower()
    suffix = key if key.startswith(".") else f".{key}"
    if suffix in known_suffixes():
        return suffix
    return _ALIASES.get(key)


def format_option(value: object) -> str:
    """The suffix the `format` option asks for; SourceError naming the choices if unknown."""
    suffix = named_suffix(value) if isinstance(value, str) else None
    if suffix is None:
        choices = ", ".join(s.lstrip(".") for s in sorted(known_suffixes()))
        raise SourceError(
            f"The format {value!r} is not one civicport reads; use one of: {choices}."
        )
    return suffix


def path_suffix(path: str) -> str | None:
    """The suffix of a URL path or file name if the readers know it ('.php' is not data)."""
    suffix = PurePosixPath(path).suffix.lower()
    return suffix if suffix in known_suffixes() else None


def content_type_suffix(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return _CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())


def is_html(content_type: str | None, start: bytes) -> bool:
    """A web page rather than data: what a login page or a wrong address returns."""
    if content_type and content_type.split(";")[0].strip().lower() in (
        "text/html",
        "application/xhtml+xml",
    ):
        return True
    head = start.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].lower()
    return head.startswith((b"<!doctype html", b"<html"))


def sniffed_suffix(start: bytes) -> str:
    """The format the first bytes show; text that is nothing else is taken for CSV (the CSV
    reader then says plainly if it is not a table)."""
    if start.startswith(b"PK\x03\x04"):
        return _zip_suffix(start)
    if start.startswith(b"\xd0\xcf\x11\xe0"):
        return ".xls"
    if start.startswith(b"SQLite format 3\x00"):
        return ".gpkg"
    text = start.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"{", b"[")):
        return ".json"
    if text.startswith(b"<") and b"<kml" in start:
        return ".kml"
    return ".csv"


def _zip_suffix(start: bytes) -> str:
    # The first member's name follows the 30-byte local header: Office and KMZ files show
    # themselves there.
    if b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet" in start:
        return ".ods"
    if b"[Content_Types].xml" in start or b"xl/" in start:
        return ".xlsx"
    if b"doc.kml" in start:
        return ".kmz"
    return ".zip"
