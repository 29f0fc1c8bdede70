"""Kind "ckan" against a loopback server standing in for another portal's CKAN API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sources_loopback import answering, serving
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from civicport.ingest.sources import SourceError, SourceSpec, fetch_source

CSV = b"permit,fee\nP-1,10.5\nP-2,20\n"
TOKEN = "tok-123"


class FileHost:
    """Serves the CSV at any path and remembers the Authorization headers it was sent."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []

    async def answer(self, request: Request) -> Response:
        self.authorizations.append(request.headers.get("authorization"))
        return Response(CSV, media_type="application/octet-stream")


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[tuple[str, FileHost]]:
    """Another server (a file store) the portal's resources may point to."""
    host = FileHost()
    with serving(Starlette(routes=[Route("/{path:path}", host.answer)])) as base:
        yield base, host


def _ckan(other_site: str) -> Starlette:
    def resources(base: str) -> dict[str, dict[str, Any]]:
        return {
            "r-csv": {"url": f"{base}/datastore/dump/r-csv", "format": "CSV"},
            "r-relative": {"url": "/files/permits.csv", "format": ""},
            "r-elsewhere": {"url": f"{other_site}/export/9", "format": "csv"},
            "r-empty": {"url": "", "format": "CSV"},
        }

    async def resource_show(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        rid = request.query_params.get("id", "")
        if rid == "r-private" and request.headers.get("authorization") != TOKEN:
            error = {"__type": "Authorization Error", "message": "Access denied"}
            return JSONResponse({"success": False, "error": error}, status_code=403)
        found = resources(base).get(rid) or (
            {"url": f"{base}/datastore/dump/r-private", "format": "CSV"}
            if rid == "r-private"
            else None
        )
        if found is None:
            error = {"__type": "Not Found Error", "message": "Not found: Resource was not found."}
            return JSONResponse({"success": False, "error": error}, status_code=404)
        return JSONResponse({"success": True, "result": {"id": rid, **found}})

    return Starlette(
        routes=[
            Route("/api/3/action/resource_show", resource_show),
            Route("/datastore/dump/{rid}", answering(CSV, "application/octet-stream")),
            Route("/files/permits.csv", answering(CSV, "text/plain")),
        ]
    )


@pytest.fixture(scope="module")
def portal(elsewhere: tuple[str, FileHost]) -> Iterator[str]:
    with serving(_ckan(elsewhere[0])) as base:
        yield base


def fetch(location: str, into: Path, **headers: str) -> Path:
    return fetch_source(SourceSpec("ckan", location, headers=headers), into, max_bytes=1 << 20)


def test_a_resource_page_address_leads_to_its_file(portal: str, into: Path) -> None:
    fetched = fetch(f"{portal}/dataset/permits/resource/r-csv", into)
    # The dump's address has no suffix: the resource's format says CSV.
    assert fetched == into / "r-csv.csv"
    assert fetched.read_bytes() == CSV


def test_a_resource_show_address_and_a_relative_file_link(portal: str, into: Path) -> None:
    fetched = fetch(f"{portal}/api/3/action/resource_show?id=r-relative", into)
    assert fetched == into / "permits.csv"


def test_the_api_token_goes_to_the_portal_but_not_elsewhere(
    portal: str, elsewhere: tuple[str, FileHost], into: Path
) -> None:
    with pytest.raises(SourceError, match="the resource is private: give this source"):
        fetch(f"{portal}/dataset/p/resource/r-private", into)
    assert fetch(f"{portal}/dataset/p/resource/r-private", into, Authorization=TOKEN).exists()
    _, host = elsewhere
    host.authorizations.clear()
    fetch(f"{portal}/dataset/p/resource/r-elsewhere", into, Authorization=TOKEN)
    assert host.authorizations == [None]


@pytest.mark.parametrize(
    ("rid", "words"),
    [
        (
            "r-missing",
            "the portal has no resource r-missing; it said: Not found: Resource was not found.",
        ),
        ("r-empty", "the resource has no file or link to download."),
    ],
)
def test_resources_that_cannot_be_fetched(portal: str, into: Path, rid: str, words: str) -> None:
    with pytest.raises(SourceError) as raised:
        fetch(f"{portal}/dataset/permits/resource/{rid}", into)
    assert raised.value.message == f"Could not fetch CKAN resource {rid} on {portal}: {words}"
    assert list(into.iterdir()) == []


def test_a_site_that_is_not_ckan(elsewhere: tuple[str, FileHost], into: Path) -> None:
    base, _ = elsewhere
    with pytest.raises(SourceError, match="not JSON"):
        fetch(f"{base}/dataset/permits/resource/r-1", into)
