"""Geometries of GIS files → what the datastore stores: GeoJSON in WGS84 longitude/latitude.

A GIS file keeps its geometries as WKB in its layer's own coordinate system (State Plane feet,
UTM metres, …). The portal, like SODA, keeps every geometry in WGS84 (EPSG:4326) with x the
longitude and y the latitude, so each batch of a layer is reprojected with pyproj as it is
read, then handed on as GeoJSON objects: the form values.py converts and datastore.types stores
(two numbers for a point, compact GeoJSON text for the other types).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pyproj
import shapely
from numpy.typing import NDArray

from civicport.errors import InvalidUpload

WGS84 = pyproj.CRS.from_epsg(4326)

# OGR's geometry type names (without " Z", " M") → SODA types.
_SODA_TYPES = {
    "Point": "point",
    "MultiPoint": "multipoint",
    "LineString": "line",
    "MultiLineString": "multiline",
    "Polygon": "polygon",
    "MultiPolygon": "multipolygon",
}
_MULTI = {"line": "multiline", "polygon": "multipolygon"}


class UnprojectableGeometry(ValueError):
    """A geometry whose coordinates have no longitude/latitude (outside its projection)."""

    def __init__(self, index: int) -> None:
        super().__init__(f"geometry {index} cannot be reprojected")
        self.index = index


def layer_soda_type(geometry_type: str | None, *, parts_may_vary: bool) -> str | None:
    """The SODA type for a layer whose geometries are all `geometry_type` (OGR's name, such as
    "Polygon" or "MultiLineString Z"); None when the name does not say (Unknown, Geometry).

    `parts_may_vary` is set for formats that do not tell one part from several (a shapefile's
    "Polygon" layer may hold multipolygons; KML mixes them freely): their lines and polygons
    are stored as the multi type, which takes single ones too.

    >>> layer_soda_type("Polygon", parts_may_vary=True)
    'multipolygon'
    """
    if geometry_type is None:
        return None
    soda_type = _SODA_TYPES.get(geometry_type.split(" ")[0])
    if soda_type is None:
        return None
    return _MULTI.get(soda_type, soda_type) if parts_may_vary else soda_type


def value_soda_type(value: dict[str, Any]) -> str | None:
    """The SODA type a layer of unknown type gets from its first geometry: points stay points,
    lines and polygons take their multi type (a later multi-part one then fits too)."""
    soda_type = _SODA_TYPES.get(str(value.get("type")))
    return None if soda_type is None else _MULTI.get(soda_type, soda_type)


def to_wgs84(crs: str | None, label: str) -> pyproj.Transformer | None:
    """A transformer from the layer's `crs` (as GDAL names it) to WGS84 longitude/latitude,
    or None when the layer is already in WGS84 (or states no CRS: see assume_lon_lat)."""
    if crs is None:
        return None
    try:
        source = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        raise InvalidUpload(
            f"{label}: its coordinate system is not one this server knows ({crs[:80]}); "
            "export the layer in WGS84 (EPSG:4326) and import it again."
        ) from None
    if source.equals(WGS84, ignore_axis_order=True):
        return None
    # always_xy: GDAL hands coordinates over as x, y (easting, northing / longitude, latitude)
    # whatever order the CRS's definition lists its axes in.
    return pyproj.Transformer.from_crs(source, WGS84, always_xy=True)


def assume_lon_lat(bounds: Sequence[float] | None, label: str) -> None:
    """A layer with no CRS (a shapefile without its .prj) is read as longitude/latitude only
    when its extent fits the globe; otherwise its numbers are feet or metres of some unknown
    projection, and guessing would put the data in the wrong place."""
    if bounds is None or not all(np.isfinite(bounds)):
        return
    min_x, min_y, max_x, max_y = bounds
    if -180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90:
        return
    raise InvalidUpload(
        f"{label} does not say which coordinate system it uses (for a shapefile, the .prj file "
        "is missing) and its coordinates are not longitude and latitude; add the .prj file "
        "to the zip, or export the layer in WGS84 (EPSG:4326)."
    )


def geojson_values(
    wkb: Sequence[bytes | None], transformer: pyproj.Transformer | None
) -> list[dict[str, Any] | None]:
    """WKB geometries → 2-D GeoJSON objects in WGS84; None for a missing or empty geometry.

    Heights (z) are dropped: the portal's geometries are flat, as SODA's are.
    Raises UnprojectableGeometry for a geometry that has no longitude/latitude.
    """
    geometries = shapely.force_2d(shapely.from_wkb(np.asarray(wkb, dtype=object)))
    geometries[shapely.is_empty(geometries)] = None
    if transformer is not None:
        geometries = shapely.transform(geometries, functools.partial(_reproject, transformer))
        present = ~shapely.is_missing(geometries)
        finite = np.isfinite(shapely.bounds(geometries)).all(axis=1)
        broken = np.flatnonzero(present & ~finite)
        if broken.size:
            raise UnprojectableGeometry(int(broken[0]))
    return [None if text is None else orjson.loads(text) for text in shapely.to_geojson(geometries)]


def _reproject(transformer: pyproj.Transformer, coordinates: NDArray[np.float64]) -> Any:
    """An (n, 2) array of x, y → the same points as longitude, latitude."""
    longitudes, latitudes = transformer.transform(coordinates[:, 0], coordinates[:, 1])
    return np.column_stack((longitudes, latitudes))
