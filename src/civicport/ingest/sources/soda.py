"""Kind "soda": a dataset of another portal that speaks SODA (Socrata, or civicport itself),
read page by page from /resource/{id}.csv into one CSV file.

Pages are ordered by the system row id (:id), so no row is skipped or repeated between pages;
a page shorter than the page size is the last one.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from civicport.ingest.sources import formats, http
from civicport.ingest.sources.output import Target, new_output
from civicport.ingest.sources.spec import (
    SourceError,
    SourceSpec,
    check_web_address,
    mask_url,
    page_size_option,
)

if TYPE_CHECKING:
    from _csv import Writer

PAGE_SIZE = 50_000
OPTIONS = frozenset({"page_size"})
_RESOURCE = re.compile(
    r"^(?P<prefix>.*)/resource/(?P<id>[a-z0-9]{4}-[a-z0-9]{4})(?:\.(?:json|csv|geojson))?/?$"
)
_PAGING = ("$limit", "$offset")


@dataclass(frozen=True)
class Resource:
    csv_url: str  # https://host/resource/abcd-1234.csv
    dataset_id: str
    site: str  # https://host
    params: dict[str, str]  # the location's own SoQL parameters ($where, $select, …)


def resource(location: str) -> Resource:
    check_web_address(location)
    parts = urlsplit(location.strip())
    found = _RESOURCE.match(parts.path)
    if found is None:
        raise SourceError(
            f"{mask_url(location)} is not a SODA dataset address; it should look like "
            "https://data.example.gov/resource/abcd-1234.json."
        )
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name in _PAGING:
        if name in params:
            raise SourceError(
                f"Leave {name} out of a soda source's address: civicport pages through the "
                "whole dataset itself (use $where to fetch only some rows)."
            )
    path = f"{found['prefix']}/resource/{found['id']}.csv"
    site = urlunsplit((parts.scheme, parts.netloc, found["prefix"], "", ""))
    return Resource(
        urlunsplit((parts.scheme, parts.netloc, path, "", "")), found["id"], site, params
    )


def check(spec: SourceSpec, allowed_dirs: Sequence[Path] | None) -> None:
    resource(spec.location)
    page_size_option(spec, PAGE_SIZE)


def describe(spec: SourceSpec) -> str:
    found = resource(spec.location)
    return f"SODA dataset {found.dataset_id} on {mask_url(found.site)}"


def fetch(spec: SourceSpec, target: Target) -> Path:
    found = resource(spec.location)
    page_size = page_size_option(spec, PAGE_SIZE)
    with (
        http.client(spec.headers, target) as client,
        new_output(target, found.dataset_id, ".csv") as output,
    ):
        writer = csv.writer(output.text())
        header: list[str] | None = None
        offset, count = 0, page_size
        while count == page_size:  # a shorter page is the last
            params = {"$order": ":id", **found.params, "$limit": page_size, "$offset": offset}
            with http.answer(client, found.csv_url, params=params) as response:
                header, count = _copy_page(response, writer, header)
            offset += count
    return output.path


def _copy_page(
    response: httpx.Response, writer: Writer, header: list[str] | None
) -> tuple[list[str], int]:
    """Copy one page's rows, streamed, and its header if it is the first page (`header` is
    None); return the page's header and how many rows it had."""
    if formats.is_html(response.headers.get("content-type"), b""):
        raise SourceError(http.WEB_PAGE)
    rows = csv.reader(http.text_lines(response))
    try:
        page_header = next(rows, None)
        if page_header is None:
            raise SourceError("the portal answered with nothing, not even the column names.")
        if header is None:
            writer.writerow(page_header)
        elif page_header != header:
            raise SourceError(
                "the dataset's columns changed while it was being read; fetch it again."
            )
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SourceError(f"the portal's CSV could not be read ({exc}).") from None
    return page_header, count
