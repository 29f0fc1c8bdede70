"""SODA GeoJSON: a FeatureCollection whose geometry is the first geometry column (soda.md §2.2)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import orjson

from civicport.api.renderers.cells import JSON_ENCODERS, Cell, OutputColumnLike, plan
from civicport.api.renderers.framing import frame
from civicport.api.renderers.json import object_builder
from civicport.datastore.types import GEOMETRY_TYPES

Row = Sequence[Any]

CRS = b'"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}}'


def _feature_builder(columns: Sequence[OutputColumnLike]) -> Callable[[Row], dict[str, Any]]:
    cells = plan(columns, JSON_ENCODERS)
    geometry: Cell | None = next((c for c in cells if c.soda_type in GEOMETRY_TYPES), None)
    properties = object_builder([c for c in cells if c is not geometry], keep_nulls=True)
    encode_geometry = geometry.encode if geometry else None

    def feature(row: Row) -> dict[str, Any]:
        shape = geometry.value(row) if geometry else None
        if shape is not None and encode_geometry is not None:
            shape = encode_geometry(shape)
        return {"type": "Feature", "geometry": shape, "properties": properties(row)}

    return feature


def render_geojson(
    columns: Sequence[OutputColumnLike], batches: Iterable[Sequence[Row]]
) -> Iterator[bytes]:
    """The body of ``/resource/{id}.geojson``, chunk by chunk."""
    feature = _feature_builder(columns)
    dumps = orjson.dumps
    encoded = ([dumps(feature(row)) for row in batch] for batch in batches)
    return frame(
        encoded,
        open_=b'{"type":"FeatureCollection","features":[',
        sep=b",\n",
        close=b"]," + CRS + b"}\n",
    )


def render_geojson_feature(columns: Sequence[OutputColumnLike], row: Row) -> bytes:
    """One row as a Feature carrying its own crs."""
    body = orjson.dumps(_feature_builder(columns)(row))
    return body[:-1] + b"," + CRS + b"}\n"
