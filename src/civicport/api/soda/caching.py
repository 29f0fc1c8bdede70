"""Conditional GETs: ETag and Last-Modified for row answers, and the 304 decision (RFC 9110).

The ETag names one answer: the dataset, the version of its rows, the format and the query
(parameters sorted, so their order does not matter). A new data version changes every ETag.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from email.utils import format_datetime, parsedate_to_datetime

from starlette.responses import Response


def etag_for(dataset_id: str, data_version: int, fmt: str, items: Iterable[tuple[str, str]]) -> str:
    """A strong ETag (quoted) for this query's answer at this data version."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{dataset_id}\0{data_version}\0{fmt}".encode())
    for key, value in sorted(items):
        digest.update(f"\0{key}\0{value}".encode())
    return f'"{digest.hexdigest()}"'


def http_date(moment: dt.datetime) -> str:
    """'Wed, 21 Oct 2015 07:28:00 GMT'."""
    return format_datetime(moment.astimezone(dt.UTC).replace(microsecond=0), usegmt=True)


def is_not_modified(request_headers: Mapping[str, str], etag: str, modified: dt.datetime) -> bool:
    """True when the client's copy is current: If-None-Match wins over If-Modified-Since."""
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None:
        return _etag_matches(if_none_match, etag)
    if_modified_since = request_headers.get("if-modified-since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    return modified.replace(microsecond=0) <= since


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    # Weak comparison: a proxy that gzipped the answer may have weakened or suffixed the tag.
    wanted = etag.strip('"')
    for candidate in header.split(","):
        tag = candidate.strip().removeprefix("W/").strip('"')
        if tag == wanted or tag.removesuffix("--gzip") == wanted:
            return True
    return False


def not_modified(headers: Mapping[str, str]) -> Response:
    return Response(status_code=304, headers=dict(headers))
