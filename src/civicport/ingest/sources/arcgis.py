"""Kind "arcgis": a layer of an ArcGIS Feature Service (or Map Service), queried as GeoJSON in
WGS84 page by page (resultOffset / resultRecordCount while the server says
exceededTransferLimit) and written as one GeoJSON FeatureCollection.

Only one page is held in memory at a time; the server's maxRecordCount bounds its size.
ArcGIS reports errors as HTTP 200 with {"error": {...}}; they become SourceErrors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import orjson

from civicport.ingest.sources import http
from civicport.ingest.sources.output import Output, Target, new_output
from civicport.ingest.sources.spec import (
    SourceError,
    SourceSpec,
    check_web_address,
    mask_url,
    page_size_option,
)

PAGE_SIZE = 2000  # features asked for per request; a server sends at most its maxRecordCount
OPTIONS = frozenset({"page_size"})
_LAYER = re.compile(
    r"^(?P<layer>.*/(?P<service>[^/]+)/(?:FeatureServer|MapServer)/(?P<number>\d+))(?:/query)?/?$",
    re.I,
)
# What this source asks for; the location's own parameters (where, token) are kept.
_QUERY = {"outFields": "*", "f": "geojson", "outSR": "4326", "returnGeometry": "true"}
_PAGING = ("resultOffset", "resultRecordCount", "f")


@dataclass(frozen=True)
class Layer:
    query_url: str  # …/FeatureServer/0/query
    name: str  # "Parcels-0", for the file name
    params: dict[str, str]


def layer(location: str) -> Layer:
    check_web_address(location)
    parts = urlsplit(location.strip())
    found = _LAYER.match(parts.path)
    if found is None:
        raise SourceError(
            f"{mask_url(location)} is not an ArcGIS layer address; it should end with the "
            "layer's number, like https://gis.example.gov/arcgis/rest/services/Parcels/"
            "FeatureServer/0."
        )
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name in _PAGING:
        params.pop(name, None)
    query_url = urlunsplit((parts.scheme, parts.netloc, found["layer"] + "/query", "", ""))
    return Layer(query_url, f"{found['service']}-{found['number']}", params)


def check(spec: SourceSpec, allowed_dirs: Sequence[Path] | None) -> None:
    layer(spec.location)
    page_size_option(spec, PAGE_SIZE)


def describe(spec: SourceSpec) -> str:
    return f"ArcGIS layer {mask_url(spec.location)}"


def fetch(spec: SourceSpec, target: Target) -> Path:
    found = layer(spec.location)
    page_size = page_size_option(spec, PAGE_SIZE)
    with (
        http.client(spec.headers, target) as client,
        new_output(target, found.name, ".geojson") as output,
    ):
        output.write(b'{"type":"FeatureCollection","features":[')
        offset, more = 0, True
        while more:
            params = {"where": "1=1", **found.params, **_QUERY}
            params |= {"resultOffset": str(offset), "resultRecordCount": str(page_size)}
            with http.answer(client, found.query_url, params=params) as response:
                page = http.read_json(response, target.max_bytes)
            features, more = _features(page)
            _write_features(output, features, first=offset == 0)
            offset += len(features)
            if more and not features:
                raise SourceError("the server said more features remain but sent none.")
        output.write(b"]}")
    return output.path


def _features(page: Any) -> tuple[list[Any], bool]:
    """A page's features, and whether the server has more (exceededTransferLimit, which
    ArcGIS puts at the top or under "properties")."""
    if isinstance(page, dict) and isinstance(page.get("error"), dict):
        raise SourceError(_refusal(page["error"]))
    geojson = isinstance(page, dict) and page.get("type") == "FeatureCollection"
    features = page.get("features") if geojson else None
    if not isinstance(features, list):
        raise SourceError(
            "the server did not answer with GeoJSON features; the layer must be on ArcGIS "
            "Server 10.4 or later (or ArcGIS Online) and allow queries."
        )
    properties = page.get("properties")
    more = page.get("exceededTransferLimit") or (
        isinstance(properties, dict) and properties.get("exceededTransferLimit")
    )
    return features, bool(more)


def _write_features(output: Output, features: list[Any], *, first: bool) -> None:
    for index, feature in enumerate(features):
        if index or not first:
            output.write(b",")
        output.write(orjson.dumps(feature))


def _refusal(error: dict[str, Any]) -> str:
    code, message = error.get("code"), error.get("message") or "no reason given"
    details = [d for d in error.get("details") or [] if isinstance(d, str) and d]
    said = f"the ArcGIS server refused the query ({code}: {message}"
    said += f" — {' '.join(details)})" if details else ")"
    if code in (498, 499):
        return f"{said}: the layer needs a valid token; add it to the address (token=…)."
    return f"{said}."
