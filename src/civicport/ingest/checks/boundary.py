"""The city's boundary (a GeoJSON file, the city_boundary setting) and the check that a load's
points fall inside it (outside_boundary).

Points are read from the staged table in batches of BATCH_ROWS, in _id order, and tested
against the boundary with shapely's vectorized intersects_xy (a point on the boundary line
counts as inside): one scan, memory bounded by the batch.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from civicport.datastore.tables import q
from civicport.errors import InvalidUpload
from civicport.ingest.checks.staged import Staged
from civicport.ingest.checks.wording import coordinates, counted

BATCH_ROWS = 50_000


def load_boundary(path: Path | None) -> BaseGeometry | None:
    """The city boundary in `path`: a GeoJSON Feature, FeatureCollection (its features'
    union) or bare geometry, in longitude/latitude. None without a path. Read once per
    version of the file (path and modification time). InvalidUpload if it cannot be used."""
    if path is None:
        return None
    try:
        modified = Path(path).stat().st_mtime_ns
    except OSError as exc:
        raise _unusable(path, exc.strerror or "it cannot be opened") from None
    return _read_boundary(str(path), modified)


@functools.lru_cache(maxsize=4)
def _read_boundary(path: str, modified: int) -> BaseGeometry:
    try:
        data = orjson.loads(Path(path).read_bytes())
        geometry = _geometry(data)
    except OSError as exc:
        raise _unusable(path, exc.strerror or "it cannot be read") from None
    except (orjson.JSONDecodeError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _unusable(path, f"it is not GeoJSON ({exc})") from None
    except shapely.errors.ShapelyError as exc:
        raise _unusable(path, f"its geometry is not valid ({exc})") from None
    if geometry.is_empty or geometry.area == 0:
        raise _unusable(path, "it holds no polygon (a boundary is an area)")
    minx, miny, maxx, maxy = geometry.bounds
    if not (minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90):
        raise _unusable(path, "its coordinates are not longitude and latitude (GeoJSON's own)")
    shapely.prepare(geometry)
    return geometry


def _geometry(data: Any) -> BaseGeometry:
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "FeatureCollection":
        parts = [shape(f["geometry"]) for f in data["features"] if f.get("geometry")]
        if not parts:
            raise ValueError("the collection has no geometries")
        return shapely.union_all(parts)
    if kind == "Feature":
        return shape(data["geometry"])
    return shape(data)


def _unusable(path: str | Path, why: str) -> InvalidUpload:
    return InvalidUpload(
        f"The city boundary file {path} cannot be used: {why}. Correct the file, or unset the "
        "city_boundary setting (CIVICPORT_CITY_BOUNDARY)."
    )


def outside_boundary(staged: Staged, boundary: BaseGeometry) -> list[str]:
    """'Column location has 18 points outside the city boundary, the first at row 9
    (41.2, -73.1)', for each point column."""
    points = [c for c in staged.columns if c.soda_type == "point"]
    if not points:
        return []
    tallies = [_Tally() for _ in points]
    for ids, pairs in _batches(staged, [c.physical for c in points]):
        for tally, (lons, lats) in zip(tallies, pairs, strict=True):
            tally.add(boundary, ids, lons, lats)
    findings = []
    for column, tally in zip(points, tallies, strict=True):
        if tally.first is not None:
            row_id, lon, lat = tally.first
            which = "the first at" if tally.count > 1 else "at"
            findings.append(
                f"Column {column.field_name} has {counted(tally.count, 'point')} outside the "
                f"city boundary, {which} row {staged.row(row_id):,} {coordinates(lon, lat)}"
            )
    return findings


Floats = np.ndarray[Any, np.dtype[np.float64]]


class _Tally:
    """Points of one column found outside: how many, and the first (id, lon, lat)."""

    def __init__(self) -> None:
        self.count = 0
        self.first: tuple[int, float, float] | None = None

    def add(self, boundary: BaseGeometry, ids: Floats, lons: Floats, lats: Floats) -> None:
        present = ~(np.isnan(lons) | np.isnan(lats))
        outside = present & ~shapely.intersects_xy(boundary, lons, lats)
        found = int(outside.sum())
        if found and self.first is None:
            at = int(np.argmax(outside))  # the first True: rows come in _id order
            self.first = (int(ids[at]), float(lons[at]), float(lats[at]))
        self.count += found


def _batches(
    staged: Staged, physical: list[list[str]]
) -> Iterator[tuple[Floats, list[tuple[Floats, Floats]]]]:
    """(ids, [(longitudes, latitudes) per point column]), NaN for none, a batch at a time,
    by keyset on _id so that each batch is a range of the key, on both databases."""
    names = ", ".join(q(name) for pair in physical for name in pair)
    select = f"SELECT _id, {names} FROM {staged.table}"
    # The driver's own cursor: its plain tuples become an array ten times faster than
    # SQLAlchemy's rows do. The bound is an integer from the table itself, written inline so
    # that both drivers (their placeholders differ) take the same text.
    cursor = staged.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        after = staged.first_id - 1
        while True:
            cursor.execute(f"{select} WHERE _id > {int(after)} ORDER BY _id LIMIT {BATCH_ROWS}")
            rows = cursor.fetchall()
            if not rows:
                return
            values = np.array(rows, dtype=np.float64)  # None becomes NaN
            after = rows[-1][0]
            pairs = [(values[:, 1 + 2 * i], values[:, 2 + 2 * i]) for i in range(len(physical))]
            yield values[:, 0], pairs
    finally:
        cursor.close()
