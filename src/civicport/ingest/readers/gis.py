"""GIS layers (GeoJSON, GeoPackage, KML; shapefiles and File Geodatabases come zipped, see
zipped.py) read through GDAL with pyogrio.

A layer becomes a table: its attribute fields, in order, then one geometry column `the_geom`
(Socrata's name for the geometry of an imported shapefile, so queries written against Socrata
keep working). Features are read as Arrow batches (pyogrio.open_arrow, consumed with nanoarrow)
of BATCH_FEATURES at a time, so memory holds one batch whatever the file's size. Each batch's
geometries are reprojected to WGS84 and handed on as GeoJSON (ingest/geometry.py). Attribute
cells keep GDAL's types (int, float, str, date, datetime) and go through the same type
inference as a CSV's; the geometry column's type is declared by the layer.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nanoarrow
import pyogrio
import pyproj
from nanoarrow.iterator import UnregisteredExtensionWarning
from pyogrio.raw import open_arrow

from civicport.errors import InvalidUpload
from civicport.ingest.geometry import (
    UnprojectableGeometry,
    assume_lon_lat,
    geojson_values,
    layer_soda_type,
    to_wgs84,
    value_soda_type,
)
from civicport.ingest.readers import Rows, Source, register
from civicport.ingest.records import ReadOptions

BATCH_FEATURES = 2048
GEOMETRY_HEADER = "the_geom"
GEOJSON_TYPES = frozenset({"FeatureCollection", "Feature"})

# Fields GDAL's LIBKML driver gives every KML layer. The rendering hints are left out; the
# others are kept only when some placemark fills them (Source.optional).
KML_RENDERING_FIELDS = frozenset(
    {"altitudeMode", "tessellate", "extrude", "visibility", "drawOrder", "icon"}
    | {"heading", "tilt", "roll", "model", "scale_x", "scale_y", "scale_z"}
)
KML_OPTIONAL_FIELDS = frozenset(
    {"id", "Name", "description", "snippet", "timestamp", "begin", "end"}
)


@dataclass(frozen=True)
class GisFormat:
    """A GIS format: what to call it, the GDAL drivers that read it (any one will do), and
    whether it tells single from multi-part geometries (see geometry.layer_soda_type)."""

    title: str
    drivers: tuple[str, ...]
    parts_may_vary: bool = False


GEOJSON = GisFormat("GeoJSON", ("GeoJSON",))
GEOPACKAGE = GisFormat("GeoPackage", ("GPKG",))
KML = GisFormat("KML", ("LIBKML", "KML"), parts_may_vary=True)
SHAPEFILE = GisFormat("shapefile", ("ESRI Shapefile",), parts_may_vary=True)
FILE_GEODATABASE = GisFormat("Esri File Geodatabase", ("OpenFileGDB", "FileGDB"))
_BY_EXTENSION = {".geojson": GEOJSON, ".gpkg": GEOPACKAGE, ".kml": KML}


@register("gis", *_BY_EXTENSION, parts=("layer",))
def read_gis(path: Path, options: ReadOptions) -> Source:
    """Open the first layer of a GeoJSON, GeoPackage or KML file, or the one `options.layer`
    names."""
    fmt = _BY_EXTENSION[path.suffix.lower()]
    return open_layer(path, options.layer, label=path.name, fmt=fmt)


def require_driver(fmt: GisFormat, label: str, drivers: dict[str, str] | None = None) -> None:
    """InvalidUpload naming the format when the GDAL inside pyogrio cannot read it.

    `drivers` is pyogrio.list_drivers() (driver name → "r", "rw"…); given in tests."""
    available = pyogrio.list_drivers() if drivers is None else drivers
    if not any("r" in available.get(name, "") for name in fmt.drivers):
        raise InvalidUpload(
            f"{label}: this server cannot read {fmt.title} files, because the GDAL library it "
            f"uses has no {' or '.join(fmt.drivers)} driver. Export the data as GeoJSON or a "
            "zipped shapefile and import that instead."
        )


def open_layer(dataset: Path, layer: str | None, *, label: str, fmt: GisFormat = GEOJSON) -> Source:
    """Open one layer of a GIS dataset (a file, or a .shp or .gdb unpacked from a zip).

    `label` names the dataset in messages, as the person who sent it knows it. Reading starts
    here, so that closing the Source's rows always lets the GDAL dataset go.
    """
    require_driver(fmt, label)
    name = _choose_layer(dataset, layer, label, fmt)
    info = _call(pyogrio.read_info, dataset, label, fmt, layer=name)
    kml = info["driver"] == "LIBKML"
    fields = [str(f) for f in info["fields"] if not (kml and f in KML_RENDERING_FIELDS)]
    geometry_type = info["geometry_type"]  # None for a table without geometries
    transformer = None
    if geometry_type is not None:
        if info["crs"] is None:
            assume_lon_lat(info.get("total_bounds"), label)
        transformer = to_wgs84(info["crs"], label)
    if not fields and geometry_type is None:
        raise InvalidUpload(f"{label}: layer {name!r} has no columns and no geometries.")
    batches = _batches(dataset, name, fields, geometry_type is not None, transformer, label)
    first = next(batches, [])
    declared: dict[int, str] = {}
    if geometry_type is not None:
        try:
            soda_type = layer_soda_type(
                geometry_type, parts_may_vary=fmt.parts_may_vary
            ) or _first_geometry_type(first, label)
        except InvalidUpload:
            batches.close()
            raise
        if soda_type is not None:
            declared[len(fields)] = soda_type
    rows = Rows(itertools.chain(first, itertools.chain.from_iterable(batches)), batches.close)
    optional = {i for i, f in enumerate(fields) if kml and f in KML_OPTIONAL_FIELDS}
    headers = fields + ([GEOMETRY_HEADER] if geometry_type is not None else [])
    return Source(headers=headers, rows=rows, declared=declared, optional=frozenset(optional))


def _choose_layer(dataset: Path, wanted: str | None, label: str, fmt: GisFormat) -> str:
    layers = _call(pyogrio.list_layers, dataset, label, fmt)
    names = [str(row[0]) for row in layers]
    if not names:
        raise InvalidUpload(f"{label} holds no layers: there is nothing to import.")
    if wanted is None:
        return names[0]
    if wanted not in names:
        listed = ", ".join(repr(n) for n in names)
        raise InvalidUpload(f"{label} has no layer named {wanted!r}; its layers are {listed}.")
    return wanted


def _call(function: Any, dataset: Path, label: str, fmt: GisFormat, **kwargs: Any) -> Any:
    """A pyogrio call on the dataset; GDAL's refusal becomes InvalidUpload."""
    try:
        return function(str(dataset), **kwargs)
    except (RuntimeError, OSError) as exc:
        raise InvalidUpload(
            f"{label} is not a readable {fmt.title} ({_reason(exc, dataset)})."
        ) from None


def _reason(exc: BaseException, dataset: Path) -> str:
    """GDAL's message without the server's folder names (a zip is unpacked in /tmp)."""
    return str(exc).replace(f"{dataset.parent}/", "").strip() or type(exc).__name__


def _batches(
    dataset: Path,
    layer: str,
    fields: list[str],
    with_geometry: bool,
    transformer: pyproj.Transformer | None,
    label: str,
) -> Generator[list[list[Any]], None, None]:
    """The layer's features, BATCH_FEATURES at a time, as rows: fields, then the geometry."""
    done = 0
    try:
        with open_arrow(
            str(dataset),
            layer=layer,
            columns=fields,
            read_geometry=with_geometry,
            batch_size=BATCH_FEATURES,
        ) as (meta, stream):
            geometry_name = meta["geometry_name"] or "wkb_geometry"
            for batch in nanoarrow.ArrayStream(stream):
                values = _columns(batch)
                cells = [values[f] for f in fields]
                if with_geometry:
                    cells.append(_geometries(values[geometry_name], transformer, done, label))
                rows = [list(row) for row in zip(*cells, strict=True)]
                done += len(rows)
                yield rows
    except (RuntimeError, OSError) as exc:
        raise InvalidUpload(
            f"{label}: reading stopped after {done:,} features ({_reason(exc, dataset)})."
        ) from None


def _columns(batch: Any) -> dict[str, list[Any]]:
    """An Arrow record batch → {column name: Python values}."""
    with warnings.catch_warnings():
        # The geometry column is WKB tagged as geoarrow.wkb, which nanoarrow reads as bytes.
        warnings.simplefilter("ignore", UnregisteredExtensionWarning)
        return {
            batch.schema.field(i).name: batch.child(i).to_pylist() for i in range(batch.n_children)
        }


def _geometries(
    wkb: Sequence[bytes | None], transformer: pyproj.Transformer | None, done: int, label: str
) -> list[dict[str, Any] | None]:
    try:
        return geojson_values(wkb, transformer)
    except UnprojectableGeometry as exc:
        raise InvalidUpload(
            f"{label}, feature {done + exc.index + 1:,}: its coordinates fall outside what its "
            "coordinate system can turn into longitude and latitude; check the layer's "
            "coordinate system (a shapefile's .prj file)."
        ) from None


def _first_geometry_type(rows: list[list[Any]], label: str) -> str | None:
    """For a layer of unknown geometry type: the type of its first geometry (see
    geometry.value_soda_type); None if the first batch has none."""
    for row in rows:
        value = row[-1]
        if value is None:
            continue
        soda_type = value_soda_type(value)
        if soda_type is None:
            raise InvalidUpload(
                f"{label}: its features hold {value.get('type')} geometries, which cannot be "
                "stored; split them into points, lines and polygons first."
            )
        return soda_type
    return None
