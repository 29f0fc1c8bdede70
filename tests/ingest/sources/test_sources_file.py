"""Kind "file": a file on a mounted share, copied so it cannot change under the importer."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyogrio.raw import write

from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_file
from civicport.ingest.sources import SourceError, SourceSpec, fetch_source

CSV = "permit,fee\nP-1,10.5\nP-2,20\n"


@pytest.fixture
def share(tmp_path: Path) -> Path:
    """A folder standing in for a department's mounted share."""
    path = tmp_path / "share"
    path.mkdir()
    return path


def fetch(path: Path, into: Path, *, max_bytes: int = 1 << 20, **options: str) -> Path:
    return fetch_source(SourceSpec("file", str(path), options=options), into, max_bytes=max_bytes)


def test_the_file_is_copied_not_linked(share: Path, into: Path) -> None:
    original = share / "permits.csv"
    original.write_text(CSV)
    fetched = fetch(original, into)
    assert fetched == into / "permits.csv"
    original.write_text("permit,fee\nrewritten,0\n")  # the department saves a new version
    assert fetched.read_text() == CSV


def test_a_file_without_a_telling_suffix_is_sniffed_or_named(share: Path, into: Path) -> None:
    export = share / "PERMITS.DAT"
    export.write_text(CSV)
    assert fetch(export, into).name == "PERMITS.csv"
    assert fetch(export, into, format="tsv").suffix == ".tsv"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("missing.csv", "there is no such file: check the path, and that the share is mounted"),
        ("folder", "this is a folder, not a file"),
        ("parcels.dbf", "this is one part of a shapefile"),
    ],
)
def test_what_is_not_a_readable_file_is_refused(
    share: Path, into: Path, name: str, words: str
) -> None:
    (share / "folder").mkdir()
    (share / "parcels.dbf").write_bytes(b"\x03")
    with pytest.raises(SourceError) as raised:
        fetch(share / name, into)
    assert raised.value.message.startswith(f"Could not fetch file {share / name}: {words}")
    assert list(into.iterdir()) == []


def test_a_file_over_the_limit_is_refused(share: Path, into: Path) -> None:
    big = share / "big.csv"
    big.write_bytes(b"a\n" * 4096)
    with pytest.raises(SourceError, match="larger than the 4 KB limit"):
        fetch(big, into, max_bytes=4096)
    assert list(into.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_asks_for_permission(share: Path, into: Path) -> None:
    locked = share / "locked.csv"
    locked.write_text(CSV)
    locked.chmod(0)
    with pytest.raises(SourceError, match="may not read this file: ask for read permission"):
        fetch(locked, into)


def _write_shapefile(folder: Path) -> Path:
    shp = folder / "Parks.shp"
    write(
        str(shp),
        shapely.to_wkb(shapely.points([(-72.6, 41.7), (-72.7, 41.8)])),
        [np.array(["Elm Park", "Oak Park"], dtype=object)],
        ["name"],
        geometry_type="Point",
        crs="EPSG:4326",
        driver="ESRI Shapefile",
    )
    return shp


def test_a_shapefile_named_by_its_shp_is_zipped_with_its_parts(
    share: Path, into: Path, engine, stored_rows
) -> None:
    shp = _write_shapefile(share)
    fetched = fetch(shp, into)
    assert fetched == into / "Parks.zip"
    with zipfile.ZipFile(fetched) as archive:
        assert sorted(archive.namelist()) == [
            "Parks.cpg",
            "Parks.dbf",
            "Parks.prj",
            "Parks.shp",
            "Parks.shx",
        ]
    result = import_file(engine, fetched, metadata=DatasetMetadata(title="Parks"), mode="create")
    assert [row["name"] for row in stored_rows(result.dataset_id)] == ["Elm Park", "Oak Park"]


def test_a_shapefile_without_its_dbf_is_refused(share: Path, into: Path) -> None:
    shp = _write_shapefile(share)
    (share / "Parks.dbf").unlink()
    with pytest.raises(SourceError, match=r"there is no Parks\.dbf beside the \.shp"):
        fetch(shp, into)
    assert list(into.iterdir()) == []
