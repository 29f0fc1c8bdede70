"""Geospatial functions on points (two columns: lon, lat): within_*, distance…"""

from __future__ import annotations

import math
from typing import Any

from civicport.soql import soqltypes as st
from civicport.soql.functions.logic import compare
from civicport.soql.functions.registry import register, sig
from civicport.soql.sqlgen import Emitter
from civicport.soql.typed import TCall, TLiteral

EARTH_RADIUS_M = 6371008.8  # mean radius (IUGG), what haversine distances assume


def _haversine(e: Emitter, lon1: str, lat1: str, lon2: str, lat2: str) -> str:
    def rad(x: str) -> str:
        return e.math("radians", x)

    half_dlat = e.math("sin", f"({rad(lat2)} - {rad(lat1)}) / 2")
    half_dlon = e.math("sin", f"({rad(lon2)} - {rad(lon1)}) / 2")
    inner = (
        f"{half_dlat} * {half_dlat} + "
        f"{e.math('cos', rad(lat1))} * {e.math('cos', rad(lat2))} * {half_dlon} * {half_dlon}"
    )
    root = e.math("sqrt", inner)
    # Capping at 1 keeps rounding from pushing asin out of its domain (PostgreSQL raises).
    # SQLite's min() is null when an argument is; PostgreSQL's least() would skip the null.
    capped = f"CASE WHEN {root} > 1.0 THEN 1.0 ELSE {root} END" if e.pg else f"min(1.0, {root})"
    arc = e.math("asin", capped)
    return f"({e.const(2 * EARTH_RADIUS_M)} * {arc})"


@register("distance_in_meters", sig("point point", st.NUMBER))
def _distance(e: Emitter, call: TCall) -> str:
    (lon1, lat1), (lon2, lat2) = (e.point(a) for a in call.args)
    return _haversine(e, lon1, lat1, lon2, lat2)


@register("within_circle", sig("point T T T", st.CHECKBOX, of=st.NUMERIC))
def _within_circle(e: Emitter, call: TCall) -> str:
    point, lat, lon, radius = call.args
    plon, plat = e.point(point)
    clat, clon, r = e.sql(lat), e.sql(lon), e.sql(radius)
    test = f"({_haversine(e, plon, plat, clon, clat)} <= {r})"
    if all(isinstance(a, TLiteral) and a.value is not None for a in (lat, lon, radius)):
        # A bounding box first: cheap range tests reject most rows before the trigonometry.
        box = _circle_box(float(lat.value), float(lon.value), float(radius.value))  # type: ignore[attr-defined]
        if box is not None:
            south, north, west, east = (e.const(v) for v in box)
            test = (
                f"({plat} BETWEEN {south} AND {north} AND {plon} BETWEEN {west} AND {east} "
                f"AND {test})"
            )
    return test


def _circle_box(lat: float, lon: float, radius: float) -> tuple[float, float, float, float] | None:
    """(south, north, west, east) around a circle, a little generous; None near the poles."""
    spread = math.degrees(max(radius, 0.0) / EARTH_RADIUS_M) * 1.001 + 1e-9
    if abs(lat) + spread >= 89.0 or spread >= 90.0:
        return None
    lon_spread = spread / math.cos(math.radians(abs(lat) + spread))
    if lon_spread >= 180.0:
        return None
    return lat - spread, lat + spread, lon - lon_spread, lon + lon_spread


@register("within_box", sig("point T T T T", st.CHECKBOX, of=st.NUMERIC))
def _within_box(e: Emitter, call: TCall) -> str:
    lon, lat = e.point(call.args[0])
    north, west, south, east = (e.sql(a) for a in call.args[1:])
    return f"({lat} BETWEEN {south} AND {north} AND {lon} BETWEEN {west} AND {east})"


def _point_in_shape(e: Emitter, lon: str, lat: str, shape: Any) -> str:
    """Even-odd ray casting against every ring of a (multi)polygon, after a bounding box test."""
    polygons = list(getattr(shape, "geoms", [shape]))
    crossings: list[str] = []
    for polygon in polygons:
        for ring in (polygon.exterior, *polygon.interiors):
            coords = list(ring.coords)
            for (x1, y1), (x2, y2) in zip(coords, coords[1:], strict=False):
                if y1 == y2:
                    continue  # a horizontal edge never crosses the horizontal ray
                low, high = min(y1, y2), max(y1, y2)
                slope = (x2 - x1) / (y2 - y1)
                crossings.append(
                    f"CASE WHEN {lat} >= {e.const(low)} AND {lat} < {e.const(high)} AND "
                    f"{lon} < {e.const(x1)} + ({lat} - {e.const(y1)}) * {e.const(slope)} "
                    "THEN 1 ELSE 0 END"
                )
    min_x, min_y, max_x, max_y = (e.const(v) for v in shape.bounds)
    total = " + ".join(crossings) or "0"
    odd = f"MOD({total}, 2) = 1" if e.pg else f"(({total}) % 2) = 1"
    return f"({lon} BETWEEN {min_x} AND {max_x} AND {lat} BETWEEN {min_y} AND {max_y} AND {odd})"


@register(
    "within_polygon",
    sig("point polygon", st.CHECKBOX),
    sig("point multipolygon", st.CHECKBOX),
    literal_args=(1,),
)
def _within_polygon(e: Emitter, call: TCall) -> str:
    lon, lat = e.point(call.args[0])
    shape = call.args[1]
    assert isinstance(shape, TLiteral)
    if shape.value is None:
        return e.null(st.CHECKBOX)
    return _point_in_shape(e, lon, lat, shape.value)


@register(
    "intersects",
    sig("point polygon", st.CHECKBOX),
    sig("point multipolygon", st.CHECKBOX),
    sig("point point", st.CHECKBOX),
    literal_args=(1,),
)
def _intersects(e: Emitter, call: TCall) -> str:
    point, other = call.args
    if other.type == st.POINT:
        equal: str = compare("=")(e, call)
        return equal
    return _within_polygon(e, call)


@register("make_point", sig("T T", st.POINT, of=st.NUMERIC))
def _make_point(e: Emitter, call: TCall) -> tuple[str, str]:
    lat, lon = (e.sql(a) for a in call.args)
    return lon, lat
