"""Kind "file": a file on a mounted share, copied (streamed) so that a department rewriting it
while we import cannot change it under the importer. A shapefile named by its .shp is zipped
with its sibling files, as the shapefile reader wants it."""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from civicport.ingest.sources import formats
from civicport.ingest.sources.output import Target, new_output, too_large
from civicport.ingest.sources.spec import SourceError, SourceSpec

COPY_CHUNK = 1 << 20
OPTIONS = frozenset({"format"})
# The parts of a shapefile: the first three are required, the others taken when present.
SHAPEFILE_REQUIRED = (".shp", ".shx", ".dbf")
SHAPEFILE_OPTIONAL = (".prj", ".cpg")


def check(spec: SourceSpec, allowed_dirs: Sequence[Path] | None) -> None:
    path = Path(spec.location)
    if not path.is_absolute():
        raise SourceError(
            f"The file path {spec.location!r} must be absolute (start at the root of the "
            "server's file system, such as /mnt/share/permits.csv): the worker that fetches it "
            "may run in another directory."
        )
    check_allowed(path, allowed_dirs)
    if "format" in spec.options:
        formats.format_option(spec.options["format"])


def check_allowed(path: Path, allowed_dirs: Sequence[Path] | None) -> None:
    """Only files under the directories the administrator allows may be read: otherwise a
    source could publish the portal's own database or the server's secrets."""
    if allowed_dirs is None:
        return
    real = Path(os.path.realpath(path))
    if not any(real.is_relative_to(os.path.realpath(d)) for d in allowed_dirs):
        shown = ", ".join(str(d) for d in allowed_dirs) or "(none)"
        raise SourceError(
            f"{path} is outside the folders sources may read from ({shown}); "
            "ask the administrator to allow its folder."
        )


def describe(spec: SourceSpec) -> str:
    return f"file {spec.location}"


def fetch(spec: SourceSpec, target: Target) -> Path:
    path = Path(spec.location)
    _check_readable_file(path, target.max_bytes)
    if "format" in spec.options:
        suffix = formats.format_option(spec.options["format"])
    elif path.suffix.lower() == ".shp":
        return _zip_shapefile(path, target)
    elif path.suffix.lower() in SHAPEFILE_OPTIONAL + SHAPEFILE_REQUIRED:
        raise SourceError(f"this is one part of a shapefile: {_SHAPEFILE_PARTS}")
    else:
        suffix = formats.path_suffix(path.name) or _sniffed(path)
    with _opened(path) as source, new_output(target, path.name, suffix) as output:
        while chunk := source.read(COPY_CHUNK):
            output.write(chunk)
    return output.path


_NOT_ALLOWED = (
    "the server may not read this file: ask for read permission for the account civicport runs as."
)
_SHAPEFILE_PARTS = (
    "a shapefile is several files (.shp, .shx, .dbf and .prj) of one name that sit together; "
    "give the path of the .shp, or of a .zip holding them all."
)


def _check_readable_file(path: Path, max_bytes: int) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SourceError(
            "there is no such file: check the path, and that the share is mounted on the server."
        ) from None
    except PermissionError:
        raise SourceError(_NOT_ALLOWED) from None
    if stat.S_ISDIR(info.st_mode):
        hint = " (zip a File Geodatabase folder and name the .zip)" if path.suffix == ".gdb" else ""
        raise SourceError(f"this is a folder, not a file{hint}.")
    if info.st_size > max_bytes:
        raise too_large(max_bytes)


def _opened(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except PermissionError:
        raise SourceError(_NOT_ALLOWED) from None


def _sniffed(path: Path) -> str:
    with _opened(path) as source:
        return formats.sniffed_suffix(source.read(formats.SNIFF_BYTES))


def _zip_shapefile(shp: Path, target: Target) -> Path:
    parts = _shapefile_parts(shp)
    if sum(p.stat().st_size for p in parts) > target.max_bytes:
        raise too_large(target.max_bytes)
    with (
        new_output(target, shp.name, ".zip") as output,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for part in parts:
            with _opened(part) as source, archive.open(part.name, "w") as member:
                while chunk := source.read(COPY_CHUNK):
                    member.write(chunk)
    return output.path


def _shapefile_parts(shp: Path) -> list[Path]:
    """The .shp and the files beside it of the same name (whatever the case of their suffix)."""
    prefix = shp.stem.lower() + "."
    beside = {p.name.lower(): p for p in shp.parent.iterdir() if p.name.lower().startswith(prefix)}
    found = []
    for suffix in SHAPEFILE_REQUIRED + SHAPEFILE_OPTIONAL:
        part = beside.get(shp.stem.lower() + suffix)
        if part is not None:
            found.append(part)
        elif suffix in SHAPEFILE_REQUIRED:
            raise SourceError(f"there is no {shp.stem}{suffix} beside the .shp: {_SHAPEFILE_PARTS}")
    return found
