"""Kind "url" against a real HTTP server on loopback: formats, limits and every failure."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sources_loopback import MB, answering, serving
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_file
from civicport.ingest.sources import SourceError, SourceSpec, fetch_source

CSV = b"permit,issued,fee\nP-1,2024-01-02,10.5\nP-2,2024-02-03,20\n"
GEOJSON = (
    b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Elm"},'
    b'"geometry":{"type":"Point","coordinates":[-72.6,41.7]}}]}'
)


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["permit", "fee"])
    sheet.append(["P-1", 10])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


XLSX = _xlsx()


async def _endless() -> AsyncIterator[bytes]:
    for _ in range(4096):  # 64 KB every 5 ms: 256 MB over 20 seconds, if it were all read
        yield b"x" * 64 * 1024
        await asyncio.sleep(0.005)


async def _slow(request: Request) -> Response:
    await asyncio.sleep(1)
    return Response(CSV, media_type="text/csv")


async def _keyed(request: Request) -> Response:
    if request.headers.get("x-api-key") != "s3cret":
        return Response("no", status_code=401)
    return Response(CSV, media_type="text/csv")


async def _streamed(request: Request) -> Response:
    return StreamingResponse(_endless(), media_type="text/csv")


ROUTES = [
    Route("/permits.csv", answering(CSV, "text/csv")),
    Route("/export", answering(CSV, "text/csv; charset=utf-8")),
    Route(
        "/download",
        answering(
            CSV,
            "application/octet-stream",
            **{"content-disposition": 'attachment; filename="fy24 permits.csv"'},
        ),
    ),
    Route("/trees", answering(GEOJSON, "application/geo+json")),
    Route("/blob-xlsx", answering(XLSX, "application/octet-stream")),
    Route("/blob-csv", answering(CSV, "application/octet-stream")),
    Route("/page", answering("<p>Sign in</p>", "text/html")),
    Route("/sneaky", answering("\n  <!DOCTYPE html><html><body>Oops</body></html>", "text/plain")),
    Route("/empty", answering(b"", "text/csv")),
    Route("/big", answering(b"y" * (2 * MB), "text/csv")),
    Route("/big-stream", _streamed),
    Route("/slow", _slow),
    Route("/moved", answering(b"", status=302, location="/permits.csv")),
    Route("/keyed.csv", _keyed),
    Route("/broken", answering("x", status=500)),
    Route("/forbidden", answering("x", status=403)),
    Route("/gone", answering("x", status=404)),
]


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serving(Starlette(routes=ROUTES)) as base:
        yield base


def fetch(
    url: str,
    into: Path,
    *,
    headers: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
    **limits: Any,
) -> Path:
    spec = SourceSpec("url", url, headers=headers or {}, options=options or {})
    return fetch_source(spec, into, max_bytes=MB, **limits)


@pytest.mark.parametrize(
    ("path", "name", "body"),
    [
        ("/permits.csv", "permits.csv", CSV),  # the address's suffix
        ("/export?id=3", "export.csv", CSV),  # the Content-Type
        ("/download", "fy24-permits.csv", CSV),  # the server's file name
        ("/trees", "trees.geojson", GEOJSON),  # application/geo+json
        ("/blob-xlsx", "blob-xlsx.xlsx", XLSX),  # the first bytes: a zip of Office XML
        ("/blob-csv", "blob-csv.csv", CSV),  # the first bytes: text
        ("/moved", "permits.csv", CSV),  # redirects are followed
    ],
)
def test_the_file_gets_the_suffix_its_format_needs(
    site: str, into: Path, path: str, name: str, body: bytes
) -> None:
    fetched = fetch(site + path, into)
    assert fetched == into / name
    assert fetched.read_bytes() == body


def test_the_format_option_beats_everything(site: str, into: Path) -> None:
    fetched = fetch(site + "/blob-csv", into, options={"format": "tsv"})
    assert fetched.suffix == ".tsv"


def test_two_fetches_into_one_folder_do_not_overwrite(site: str, into: Path) -> None:
    first, second = fetch(site + "/permits.csv", into), fetch(site + "/permits.csv", into)
    assert (first.name, second.name) == ("permits.csv", "permits-2.csv")


def test_progress_is_reported_in_bytes(site: str, into: Path) -> None:
    seen: list[int] = []
    fetch(site + "/permits.csv", into, progress=seen.append)
    assert seen[-1] == len(CSV)


def test_headers_are_sent(site: str, into: Path) -> None:
    with pytest.raises(SourceError, match="answered 401 Unauthorized: .*API key header"):
        fetch(site + "/keyed.csv", into)
    fetched = fetch(site + "/keyed.csv", into, headers={"X-Api-Key": "s3cret"})
    assert fetched.read_bytes() == CSV


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/broken", "answered 500 Internal Server Error: the server failed"),
        ("/forbidden", "answered 403 Forbidden: it wants credentials"),
        ("/gone", "answered 404 Not Found: there is nothing at this address"),
        ("/page", "returned a web page, not data: check the address"),
        ("/sneaky", "returned a web page, not data"),
        ("/empty", "answered with nothing: the file is empty"),
    ],
)
def test_answers_that_are_not_data_fail_plainly(
    site: str, into: Path, path: str, words: str
) -> None:
    with pytest.raises(SourceError) as raised:
        fetch(site + path, into)
    assert raised.value.message.startswith(f"Could not fetch URL {site}{path}: ")
    assert words in raised.value.message
    assert list(into.iterdir()) == []


def test_a_declared_size_over_max_bytes_is_refused_before_reading(site: str, into: Path) -> None:
    with pytest.raises(SourceError, match="larger than the 1 MB limit"):
        fetch(site + "/big", into)
    assert list(into.iterdir()) == []


def test_an_undeclared_size_is_counted_and_the_download_stops_early(site: str, into: Path) -> None:
    started = time.monotonic()
    with pytest.raises(SourceError, match="larger than the 1 MB limit"):
        fetch(site + "/big-stream", into)
    assert time.monotonic() - started < 5  # reading it all would take 20 seconds
    assert list(into.iterdir()) == []


def test_a_silent_server_times_out(site: str, into: Path) -> None:
    with pytest.raises(SourceError, match=r"did not answer within 0\.3 seconds"):
        fetch(site + "/slow", into, timeout=0.3)
    assert list(into.iterdir()) == []


def test_a_closed_port_is_a_refused_connection(into: Path, closed_port: int) -> None:
    with pytest.raises(SourceError, match=f"127.0.0.1:{closed_port} refused the connection"):
        fetch(f"http://127.0.0.1:{closed_port}/permits.csv", into)


def test_a_host_that_does_not_exist_is_named(into: Path) -> None:
    # .invalid is reserved: it never resolves (RFC 2606).
    with pytest.raises(SourceError, match="could not find the server no-such-host.invalid"):
        fetch("http://no-such-host.invalid/permits.csv", into, timeout=5)


def test_the_fetched_file_imports(site: str, into: Path, engine, stored_rows) -> None:
    fetched = fetch(site + "/download", into)
    result = import_file(engine, fetched, metadata=DatasetMetadata(title="Permits"), mode="create")
    rows = stored_rows(result.dataset_id)
    assert [(r["permit"], float(r["fee"])) for r in rows] == [("P-1", 10.5), ("P-2", 20.0)]


@pytest.mark.parametrize("path", ["/permits.csv", "/moved"])
def test_addresses_inside_the_servers_network_are_refused_unless_allowed(
    site: str, into: Path, path: str
) -> None:
    with pytest.raises(SourceError, match=r"inside the server's own network \(127\.0\.0\.1\)"):
        fetch(site + path, into, private_networks=False)
    assert list(into.iterdir()) == []
    assert fetch(site + path, into, private_networks=True).read_bytes() == CSV
