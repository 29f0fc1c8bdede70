"""Zipped uploads: shapefiles, File Geodatabases, KMZ, and any one importable file zipped.

The archive is unpacked into a temporary folder (archive.py: checked for bombs and unsafe
names first), then what it holds decides the reader:

- a `.gdb` folder: an Esri File Geodatabase; its first layer, or the one named;
- `.shp` files: shapefiles, one layer each, named by file (`parcels.shp` is layer `parcels`);
  the first, or the one named; its `.shx` and `.dbf` must be there, its `.prj` should be;
- otherwise exactly one file of a type that can be imported (a zipped CSV or GeoJSON).

The folder is removed when the rows have been read or closed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from civicport.errors import InvalidUpload
from civicport.ingest.readers import (
    EXTENSIONS,
    Rows,
    Source,
    close_rows,
    gis,
    open_source,
    register,
)
from civicport.ingest.readers.archive import unpack
from civicport.ingest.records import ReadOptions

_SHAPEFILE_PARTS = {".shx": "its index", ".dbf": "its attribute table"}
_NOT_NESTED = frozenset({"zip", "kmz"})  # an archive inside an archive is not opened
_LISTED = 10


@register("zip", ".zip", parts=("sheet", "layer"))
def read_zip(path: Path, options: ReadOptions) -> Source:
    """Open what a zip holds (see the module docstring)."""
    return _unpacked(path, options, _open_contents)


@register("kmz", ".kmz", parts=("layer",))
def read_kmz(path: Path, options: ReadOptions) -> Source:
    """Open a KMZ (zipped KML, as Google Earth saves it): its doc.kml, or its one .kml."""
    return _unpacked(path, options, _open_kml)


Opener = Callable[[Path, str, ReadOptions], Source]


def _unpacked(path: Path, options: ReadOptions, opener: Opener) -> Source:
    folder = unpack(path, options.max_unpacked_bytes)
    try:
        source = opener(Path(folder.name), path.name, options)
    except BaseException:
        folder.cleanup()
        raise
    inner = source.rows

    def release() -> None:
        try:
            close_rows(inner)
        finally:
            folder.cleanup()

    return dataclasses.replace(source, rows=Rows(inner, release))


def _open_contents(root: Path, label: str, options: ReadOptions) -> Source:
    geodatabases = sorted(p for p in root.rglob("*") if p.is_dir() and p.suffix.lower() == ".gdb")
    if len(geodatabases) > 1:
        raise InvalidUpload(
            f"{label} holds several File Geodatabases ({_names(geodatabases, root)}); zip one "
            "at a time."
        )
    if geodatabases:
        gdb = geodatabases[0]
        _no_sheet(label, options)
        return gis.open_layer(
            gdb, options.layer, label=f"{label} ({gdb.name})", fmt=gis.FILE_GEODATABASE
        )
    files = sorted(p for p in root.rglob("*") if p.is_file())
    shapefiles = [p for p in files if p.suffix.lower() == ".shp"]
    if shapefiles:
        _no_sheet(label, options)
        return _open_shapefile(shapefiles, label, options.layer)
    importable = [p for p in files if EXTENSIONS.get(p.suffix.lower()) not in (None, *_NOT_NESTED)]
    if len(importable) == 1:
        return open_source(importable[0], options)
    if importable:
        raise InvalidUpload(
            f"{label} holds several files that could be imported ({_names(importable, root)}); "
            "zip one at a time."
        )
    raise InvalidUpload(
        f"{label} holds no shapefile (.shp), File Geodatabase (.gdb folder) or other file "
        f"that can be imported; it holds: {_names(files, root) or 'nothing'}."
    )


def _no_sheet(label: str, options: ReadOptions) -> None:
    if options.sheet is not None:
        raise InvalidUpload(
            f"{label} holds GIS layers, not sheets; leave out the sheet name {options.sheet!r}."
        )


def _open_shapefile(shapefiles: list[Path], label: str, layer: str | None) -> Source:
    by_name = {p.stem: p for p in reversed(shapefiles)}  # the first of a repeated name wins
    if layer is None:
        shp = shapefiles[0]
    elif layer in by_name:
        shp = by_name[layer]
    else:
        listed = ", ".join(repr(p.stem) for p in shapefiles)
        raise InvalidUpload(f"{label} has no layer named {layer!r}; its layers are {listed}.")
    siblings = {p.name.lower() for p in shp.parent.iterdir()}
    for suffix, holds in _SHAPEFILE_PARTS.items():
        if f"{shp.stem.lower()}{suffix}" not in siblings:
            raise InvalidUpload(
                f"{label}: the shapefile {shp.stem!r} has no {suffix} file ({holds}). A "
                "shapefile is several files with the same name: .shp, .shx, .dbf, and .prj for "
                "its coordinate system. Zip them all together and import the zip again."
            )
    return gis.open_layer(shp, None, label=f"{label} ({shp.name})", fmt=gis.SHAPEFILE)


def _open_kml(root: Path, label: str, options: ReadOptions) -> Source:
    documents = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".kml")
    main = [p for p in documents if p.relative_to(root) == Path("doc.kml")] or documents
    if not main:
        raise InvalidUpload(f"{label} holds no .kml document; it is not a KMZ file.")
    return gis.open_layer(main[0], options.layer, label=label, fmt=gis.KML)


def _names(paths: list[Path], root: Path) -> str:
    names = [str(p.relative_to(root)) for p in paths[:_LISTED]]
    more = len(paths) - _LISTED
    return ", ".join(names) + (f" and {more:,} more" if more > 0 else "")
