"""Data sources: fetch a dataset's data from where a department keeps it into a local file that
the importer reads (civicport.catalog.service.import_file).

    spec = SourceSpec("url", "https://data.example.gov/permits.csv")
    check_source(spec)                   # when the source is set up: no network, no disk
    path = fetch_source(spec, into=tmp_dir, max_bytes=500 << 20)   # permits.csv in tmp_dir
    describe_source(spec)                # 'URL https://data.example.gov/permits.csv'

Each kind lives in its own module (http: url, files: file, database: sql, soda, ckan, arcgis)
with the same four parts: its options, check, describe and fetch. docs/sources.md tells people
what each kind takes and what its errors mean.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from civicport.ingest.sources import arcgis, ckan, database, files, http, soda
from civicport.ingest.sources.output import Target
from civicport.ingest.sources.spec import (
    SOURCE_KINDS,
    SourceError,
    SourceSpec,
    check_headers,
    check_kind,
    check_options,
    mask_url,
)

__all__ = [
    "SOURCE_KINDS",
    "SourceError",
    "SourceSpec",
    "check_source",
    "describe_source",
    "fetch_source",
]


class _Kind(Protocol):
    """What each kind's module provides."""

    OPTIONS: frozenset[str]

    def check(self, spec: SourceSpec, allowed_dirs: Sequence[Path] | None) -> None: ...
    def describe(self, spec: SourceSpec) -> str: ...
    def fetch(self, spec: SourceSpec, target: Target) -> Path: ...


_KINDS: dict[str, _Kind] = {
    "url": http,
    "file": files,
    "sql": database,
    "soda": soda,
    "ckan": ckan,
    "arcgis": arcgis,
}


def check_source(spec: SourceSpec, *, allowed_dirs: Sequence[Path] | None = None) -> None:
    """Raise SourceError, in plain words, for a spec that can never work: an unknown kind or
    option, a URL that is not http(s), sql without a query or with one that writes, a relative
    file path, header names or values with newlines…

    `allowed_dirs`, when given, are the only folders file sources (and SQLite databases) may
    be read from.
    """
    check_kind(spec)
    kind = _KINDS[spec.kind]
    check_options(spec, kind.OPTIONS)
    check_headers(spec.headers)
    kind.check(spec, allowed_dirs)


def fetch_source(
    spec: SourceSpec,
    into: Path,
    *,
    max_bytes: int,
    timeout: float = 60.0,
    progress: Callable[[int], None] | None = None,
    allowed_dirs: Sequence[Path] | None = None,
    private_networks: bool = True,
) -> Path:
    """Fetch the source's data into a new file inside the directory `into` and return its
    path; the file's suffix tells the reader its format. `private_networks=False` refuses web
    addresses inside the server's own networks (loopback, private ranges, link-local).

    Streams: memory does not grow with the data. `progress(bytes_so_far)` is called now and
    then with the size of the file written so far. More than `max_bytes` of data, or a server
    silent for `timeout` seconds, fails. Raises SourceError with a message a person can act on
    (naming the source, never its password); a failed fetch leaves no file behind.
    """
    check_source(spec, allowed_dirs=allowed_dirs)
    target = Target(Path(into), max_bytes, timeout, progress, private_networks)
    try:
        return _KINDS[spec.kind].fetch(spec, target)
    except SourceError as exc:
        raise SourceError(f"Could not fetch {describe_source(spec)}: {exc.message}") from None


def describe_source(spec: SourceSpec) -> str:
    """One line for people: 'URL https://…/permits.csv', 'SQL query on postgresql://city@db/…'.
    Passwords, credential-like query parameters and header values are never shown."""
    try:
        return _KINDS[spec.kind].describe(spec)
    except (KeyError, SourceError):
        return f"{spec.kind} source {mask_url(spec.location)}"
