"""Streaming writers that turn query rows into SODA's JSON, CSV and GeoJSON bodies.

Each renderer takes the output columns of a compiled query and an iterator of row batches (SQL
rows, as the driver returns them) and yields byte chunks of roughly CHUNK_BYTES, so a response of
any size is written in constant memory.
"""

from __future__ import annotations

from civicport.api.renderers.csv import render_csv
from civicport.api.renderers.geojson import render_geojson, render_geojson_feature
from civicport.api.renderers.json import render_json, render_json_object

CONTENT_TYPES = {
    "json": "application/json;charset=utf-8",
    "csv": "text/csv; charset=UTF-8",
    "geojson": "application/vnd.geo+json;charset=utf-8",
}

__all__ = [
    "CONTENT_TYPES",
    "render_csv",
    "render_geojson",
    "render_geojson_feature",
    "render_json",
    "render_json_object",
]
