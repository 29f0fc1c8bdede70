"""Kind "ckan": a resource of a CKAN portal. `resource_show` says where its file is and what
format the portal thinks it has; the file is then downloaded like a "url" source."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit, urlunsplit

from civicport.ingest.sources import formats, http
from civicport.ingest.sources.output import Target
from civicport.ingest.sources.spec import SourceError, SourceSpec, check_web_address, mask_url

OPTIONS = frozenset({"format"})
RESOURCE_SHOW_MAX_BYTES = 1 << 20  # one resource's metadata
_PAGE = re.compile(r"^(?P<site>.*?)/dataset/[^/]+/resource/(?P<id>[^/]+)/?$")
_ACTION = re.compile(r"^(?P<site>.*?)/api/(?:3/)?action/resource_show/?$")


@dataclass(frozen=True)
class Resource:
    site: str  # https://host (with the path CKAN is mounted under, if any)
    resource_id: str


def resource(location: str) -> Resource:
    check_web_address(location)
    parts = urlsplit(location.strip())
    page, action = _PAGE.match(parts.path), _ACTION.match(parts.path)
    resource_id = None
    if page is not None:
        prefix, resource_id = page["site"], page["id"]
    elif action is not None:
        prefix, resource_id = action["site"], parse_qs(parts.query).get("id", [None])[0]
    if not resource_id:
        raise SourceError(
            f"{mask_url(location)} is not a CKAN resource address; it should look like "
            "https://data.example.gov/dataset/NAME/resource/ID or "
            "https://data.example.gov/api/3/action/resource_show?id=ID."
        )
    return Resource(urlunsplit((parts.scheme, parts.netloc, prefix, "", "")), resource_id)


def check(spec: SourceSpec, allowed_dirs: Sequence[Path] | None) -> None:
    resource(spec.location)
    if "format" in spec.options:
        formats.format_option(spec.options["format"])


def describe(spec: SourceSpec) -> str:
    found = resource(spec.location)
    return f"CKAN resource {found.resource_id} on {mask_url(found.site)}"


def fetch(spec: SourceSpec, target: Target) -> Path:
    found = resource(spec.location)
    described = _resource_show(found, spec.headers, target)
    url = urljoin(found.site + "/", str(described.get("url") or ""))
    if not described.get("url") or urlsplit(url).scheme not in ("http", "https"):
        raise SourceError("the resource has no file or link to download.")
    forced = formats.format_option(spec.options["format"]) if "format" in spec.options else None
    stated = described.get("format")
    hint = formats.named_suffix(stated) if isinstance(stated, str) and stated.strip() else None
    # The API key is the portal's: it goes with the file only if the portal itself serves it.
    same_site = urlsplit(url).netloc == urlsplit(found.site).netloc
    return http.download(
        target, url, headers=spec.headers if same_site else {}, forced=forced, hint=hint
    )


def _resource_show(found: Resource, headers: Any, target: Target) -> dict[str, Any]:
    action = f"{found.site}/api/3/action/resource_show"
    with (
        http.client(headers, target) as client,
        http.answer(client, action, params={"id": found.resource_id}, check=False) as response,
    ):
        try:
            body = http.read_json(response, RESOURCE_SHOW_MAX_BYTES)
        except SourceError:
            http.check_status(response)  # a plain HTTP failure says more than "not JSON"
            raise
    if isinstance(body, dict) and body.get("success") is True:
        result = body.get("result")
        if isinstance(result, dict):
            return result
    raise SourceError(_refusal(body, found))


def _refusal(body: Any, found: Resource) -> str:
    """What CKAN's error answer means for the person who set up the source."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "the portal did not answer like a CKAN portal; check the address."
    kind, message = error.get("__type", ""), error.get("message", "")
    if kind == "Not Found Error":
        return f"the portal has no resource {found.resource_id}; it said: {message}"
    if kind == "Authorization Error":
        return (
            "the resource is private: give this source the portal's API token in an "
            f"Authorization header (it said: {message})."
        )
    return f"the portal refused: {kind} {message}".rstrip() + "."
