"""GIS files read through pyogrio: real shapefiles and GeoJSON from shared/data, and GeoPackage,
File Geodatabase, KML and KMZ files written here with GDAL. Geometries come out in WGS84 as
GeoJSON objects (points as (lon, lat)), typed by the layer's geometry type."""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely
from pyogrio.raw import write

from civicport.errors import InvalidUpload
from civicport.ingest.reader import read_file
from civicport.ingest.readers import close_rows, open_source
from civicport.ingest.readers.gis import (
    BATCH_FEATURES,
    FILE_GEODATABASE,
    KML_RENDERING_FIELDS,
    require_driver,
)
from civicport.ingest.records import ReadOptions

HOLC_BOUNDS = (-72.782, 41.721, -72.582, 41.811)  # shared/data/README.md, a little wider
CT_STATE_PLANE_FEET = "EPSG:2234"
# Hartford City Hall and the Old State House, and where they are in Connecticut State Plane.
LANDMARKS = {"City Hall": (-72.6751, 41.7637), "Old State House": (-72.6733, 41.7664)}


def _state_plane(lon: float, lat: float) -> tuple[float, float]:
    to_feet = pyproj.Transformer.from_crs("EPSG:4326", CT_STATE_PLANE_FEET, always_xy=True)
    return to_feet.transform(lon, lat)


def _within(coordinates, bounds) -> bool:
    xs, ys = np.asarray(shapely.get_coordinates(shapely.from_geojson(json.dumps(coordinates)))).T
    min_x, min_y, max_x, max_y = bounds
    return bool((xs >= min_x).all() and (xs <= max_x).all() and (ys >= min_y).all())


def _feature(number: int, geometry_type: str | None = None, coordinates=None) -> dict:
    geometry = geometry_type and {"type": geometry_type, "coordinates": coordinates}
    return {"type": "Feature", "properties": {"n": number}, "geometry": geometry}


def _collection(write, name: str, features: list[dict]) -> Path:
    return write(name, json.dumps({"type": "FeatureCollection", "features": features}))


def _zip(path: Path, files: dict[str, Path | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            if isinstance(content, Path):
                archive.write(content, name)
            else:
                archive.writestr(name, content)
    return path


def _write_points(path: Path, driver: str, *, layer: str = "landmarks", crs=CT_STATE_PLANE_FEET):
    """LANDMARKS as a point layer in `crs` (State Plane feet, or WGS84 longitude/latitude)."""
    to_crs = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    geometry = shapely.to_wkb(shapely.points([to_crs.transform(*p) for p in LANDMARKS.values()]))
    names = np.array(list(LANDMARKS), dtype=object)
    opened = np.array(["1915-01-01", "1796-06-01"], dtype="datetime64[D]")
    write(str(path), geometry, [names, opened], ["name", "opened"], layer=layer, driver=driver,
          crs=crs, geometry_type="Point")  # fmt: skip


@pytest.fixture
def unzip_dir(tmp_path, monkeypatch) -> Path:
    """Where archives are unpacked during the test (tempfile's own setting), to check that
    nothing is left behind."""
    folder = tmp_path / "unpacked"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# --- real files ------------------------------------------------------------------------------


def test_zipped_shapefile_reads_like_its_geojson(real, load, unzip_dir):
    types, rows = load(real("gis/hartford_holc_1937_shapefile.zip"))
    geo_types, geo_rows = load(real("gis/hartford_holc_1937_polygons.geojson"))

    assert types == {"name": "text", "town": "text", "grade": "text", "the_geom": "multipolygon"}
    assert geo_types == {**types, "the_geom": "polygon"}  # a shapefile cannot tell them apart
    assert len(rows) == len(geo_rows) == 46
    assert [r[:3] for r in rows] == [r[:3] for r in geo_rows]
    for shape, polygon in zip((r[3] for r in rows), (r[3] for r in geo_rows), strict=True):
        assert (shape["type"], polygon["type"]) == ("MultiPolygon", "Polygon")
        assert shape["coordinates"] == [polygon["coordinates"]]
        assert _within(shape, HOLC_BOUNDS)
    assert {r[2] for r in rows} == {"A", "B", "C", "D"}
    assert list(unzip_dir.iterdir()) == []  # the unpacked shapefile is gone


def test_messy_mac_zip_in_nad83_is_read_in_wgs84(real, load):
    types, rows = load(real("gis/us_states_shapefile.zip"))

    assert types["the_geom"] == "multipolygon"
    assert {"name", "censusarea"} <= set(types)
    assert len(rows) == 52  # the __MACOSX/._us-states.shp copy was not read as a second layer
    by_name = {r[2]: r[-1] for r in rows}
    assert _within(by_name["Connecticut"], (-73.8, 40.9, -71.7, 42.1))
    assert _within(by_name["Alaska"], (-180, 51, 180, 72))


def test_points_with_mixed_2d_and_3d_coordinates(real, load):
    path = real("gis/hartford_holc_1937_label_points.geojson")
    features = json.loads(path.read_text())["features"]

    types, rows = load(path)

    assert types["the_geom"] == "point"
    assert [r[-1] for r in rows] == [tuple(f["geometry"]["coordinates"][:2]) for f in features]
    assert any(len(f["geometry"]["coordinates"]) == 3 for f in features)


# --- formats written here --------------------------------------------------------------------


def test_geopackage_layer_by_name_reprojected_from_state_plane(tmp_path, load):
    path = tmp_path / "city.gpkg"
    origin = shapely.to_wkb(shapely.points([0], [0]))
    labels = [np.array(["x"], dtype=object)]
    write(str(path), origin, labels, ["label"], layer="first", driver="GPKG", crs="EPSG:4326",
          geometry_type="Point")  # fmt: skip
    _write_points(path, "GPKG")

    types, rows = load(path, options=ReadOptions(layer="landmarks"))

    assert types == {"name": "text", "opened": "floating_timestamp", "the_geom": "point"}
    assert [r[0] for r in rows] == list(LANDMARKS)
    for row, (lon, lat) in zip(rows, LANDMARKS.values(), strict=True):
        assert row[2] == pytest.approx((lon, lat), abs=1e-7)
    assert load(path)[1] == [("x", (0.0, 0.0))]  # without a name: the first layer
    with pytest.raises(InvalidUpload, match="no layer named 'parks'; its layers are 'first', "):
        read_file(path, options=ReadOptions(layer="parks"))


# GDAL notes that a File Geodatabase keeps a date as a date-time; what is read back is the same.
@pytest.mark.filterwarnings("ignore:Field opened of type Date:RuntimeWarning")
def test_zipped_file_geodatabase(tmp_path, load):
    gdb = tmp_path / "city.gdb"
    _write_points(gdb, "OpenFileGDB")
    road = shapely.to_wkb(shapely.linestrings([_state_plane(*p) for p in LANDMARKS.values()]))
    streets = [np.array(["Main St"], dtype=object)]
    write(str(gdb), np.array([road]), streets, ["street"], layer="roads", driver="OpenFileGDB",
          crs=CT_STATE_PLANE_FEET, geometry_type="LineString")  # fmt: skip
    archive = _zip(tmp_path / "city.zip", {f"city.gdb/{p.name}": p for p in gdb.iterdir()})

    types, rows = load(archive, options=ReadOptions(layer="roads"))

    assert types == {"street": "text", "the_geom": "multiline"}
    (street, line) = rows[0]
    assert street == "Main St"
    assert np.allclose(line["coordinates"][0], list(LANDMARKS.values()), atol=1e-7)
    assert [r[0] for r in load(archive)[1]] == list(LANDMARKS)


def test_a_missing_gdal_driver_names_the_format():
    with pytest.raises(InvalidUpload, match="city.zip: this server cannot read Esri File Geo"):
        require_driver(FILE_GEODATABASE, "city.zip", drivers={"GeoJSON": "rw"})
    require_driver(FILE_GEODATABASE, "city.zip", drivers={"OpenFileGDB": "r"})


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>Parks</name>
<Folder><name>Parks</name>
<Placemark><name>Bushnell Park</name><ExtendedData><Data name="acres"><value>37</value></Data>
</ExtendedData><Point><coordinates>-72.6851,41.7637,0</coordinates></Point></Placemark>
<Placemark><name>Elizabeth Park</name><ExtendedData><Data name="acres"><value>102</value></Data>
</ExtendedData><Point><coordinates>-72.7185,41.7773</coordinates></Point></Placemark>
</Folder>
<Folder><name>Trails</name><Placemark><name>Riverwalk</name>
<LineString><coordinates>-72.67,41.76 -72.66,41.77</coordinates></LineString></Placemark>
</Folder></Document></kml>"""


def test_kml_layers_without_the_drivers_styling_fields(write, load):
    path = write("parks.kml", KML)

    types, rows = load(path)

    assert types == {"name": "text", "acres": "number", "the_geom": "point"}
    assert not {t.lower() for t in types} & {f.lower() for f in KML_RENDERING_FIELDS}
    assert rows == [
        ("Bushnell Park", 37, (-72.6851, 41.7637)),
        ("Elizabeth Park", 102, (-72.7185, 41.7773)),
    ]
    types, rows = load(path, options=ReadOptions(layer="Trails"))
    assert types == {"name": "text", "the_geom": "multiline"}
    line = [[-72.67, 41.76], [-72.66, 41.77]]
    assert rows == [("Riverwalk", {"type": "MultiLineString", "coordinates": [line]})]


def test_kmz_reads_its_doc_kml(tmp_path, load):
    archive = _zip(tmp_path / "parks.kmz", {"doc.kml": KML.encode(), "files/icon.png": b"\x89PNG"})

    types, rows = load(archive)

    assert types["the_geom"] == "point"
    assert [r[0] for r in rows] == ["Bushnell Park", "Elizabeth Park"]


def test_mixed_polygons_and_multipolygons_are_multipolygons(write, load):
    ring = [[-72.7, 41.7], [-72.6, 41.7], [-72.6, 41.8], [-72.7, 41.7]]
    path = _collection(
        write,
        "areas.geojson",
        [_feature(1, "Polygon", [ring]), _feature(2, "MultiPolygon", [[ring]]), _feature(3)],
    )

    types, rows = load(path)

    assert types == {"n": "number", "the_geom": "multipolygon"}
    multi = {"type": "MultiPolygon", "coordinates": [[ring]]}
    assert rows == [(1, multi), (2, multi), (3, None)]


def test_geojson_saved_as_json_is_read_as_geojson(write, load, real):
    text = real("gis/hartford_neighborhoods_2015.geojson").read_text()

    types, rows = load(write("neighborhoods.json", text))

    assert types == {"id": "number", "name": "text", "uppercase": "text", "the_geom": "polygon"}
    assert len(rows) == 17


def test_many_features_are_read_batch_by_batch_in_order(write, load):
    count = BATCH_FEATURES * 2 + 7
    features = [_feature(i, "Point", [-72 - i / 1e5, 41.0]) for i in range(count)]
    path = _collection(write, "many.geojson", features)

    types, rows = load(path)

    assert len(rows) == count
    assert [r[0] for r in rows] == list(range(count))
    assert rows[-1][1] == pytest.approx((-72 - (count - 1) / 1e5, 41.0))


def test_shapefile_without_prj(tmp_path, load):
    def zipped_without_prj(name: str, crs: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        _write_points(folder / "landmarks.shp", "ESRI Shapefile", crs=crs)
        (folder / "landmarks.prj").unlink()
        return _zip(tmp_path / f"{name}.zip", {p.name: p for p in folder.iterdir()})

    with pytest.raises(InvalidUpload, match=r"does not say which coordinate system.*\.prj"):
        read_file(zipped_without_prj("feet", CT_STATE_PLANE_FEET))
    # Longitude/latitude numbers without a .prj are read as WGS84.
    types, rows = load(zipped_without_prj("lonlat", "EPSG:4326"))
    assert types["the_geom"] == "point"
    assert np.allclose([r[-1] for r in rows], list(LANDMARKS.values()))


def test_zip_with_one_csv_inside(tmp_path, load, unzip_dir):
    files = {"export/data.csv": b"a,b\n1,x\n2,y\n", "__MACOSX/export/._data.csv": b"junk"}
    archive = _zip(tmp_path / "data.zip", files)

    assert load(archive) == ({"a": "number", "b": "text"}, [(1, "x"), (2, "y")])
    assert list(unzip_dir.iterdir()) == []


def test_closing_rows_early_removes_the_unpacked_folder(real, unzip_dir):
    source = open_source(real("gis/hartford_holc_1937_shapefile.zip"))
    assert next(source.rows)[0] == "A1"
    assert len(list(unzip_dir.iterdir())) == 1

    close_rows(source.rows)

    assert list(unzip_dir.iterdir()) == []


# --- bad input -------------------------------------------------------------------------------


@pytest.fixture
def holc_parts(real, tmp_path) -> dict[str, Path]:
    folder = tmp_path / "holc"
    with zipfile.ZipFile(real("gis/hartford_holc_1937_shapefile.zip")) as archive:
        archive.extractall(folder)
    return {p.name: p for p in folder.iterdir()}


@pytest.mark.parametrize(
    ("missing", "says"), [(".dbf", "its attribute table"), (".shx", "its index")]
)
def test_shapefile_missing_a_part(holc_parts, tmp_path, unzip_dir, missing, says):
    kept = {name: p for name, p in holc_parts.items() if not name.endswith(missing)}
    archive = _zip(tmp_path / "holc.zip", kept)

    with pytest.raises(InvalidUpload) as error:
        read_file(archive)

    assert f"the shapefile 'holc-hartford-1937-wgs84' has no {missing} file ({says})" in str(
        error.value
    )
    assert "Zip them all together" in str(error.value)
    assert list(unzip_dir.iterdir()) == []


def test_zip_bomb_is_refused_before_unpacking(tmp_path, unzip_dir):
    archive = _zip(tmp_path / "bomb.zip", {"a.csv": b"a\n" + b"0" * 20_000_000})

    with pytest.raises(InvalidUpload, match=r"a.csv would unpack 1,0\d\d times larger .* zip bomb"):
        read_file(archive)
    assert list(unzip_dir.iterdir()) == []


def test_zip_larger_than_the_upload_limit_unpacked_is_refused(tmp_path, unzip_dir):
    noise = np.random.default_rng(5).bytes(5_000)
    archive = _zip(tmp_path / "big.zip", {"a.csv": b"a\n" + noise.hex().encode()})

    with pytest.raises(InvalidUpload, match=r"unpacks to 10,002 bytes, more than the 4,000"):
        read_file(archive, options=ReadOptions(max_unpacked_bytes=4_000))
    assert list(unzip_dir.iterdir()) == []


@pytest.mark.parametrize("name", ["../../evil.csv", "/etc/evil.csv", "ok/../../evil.csv"])
def test_zip_names_that_escape_the_folder_are_refused(tmp_path, unzip_dir, name):
    archive = _zip(tmp_path / "slip.zip", {name: b"a\n1\n"})

    with pytest.raises(InvalidUpload, match="points outside the archive's own folder"):
        read_file(archive)
    assert list(unzip_dir.iterdir()) == []
    assert not (tmp_path / "evil.csv").exists()


def test_encrypted_zip_is_refused(tmp_path):
    path = _zip(tmp_path / "locked.zip", {"data.csv": b"a\n1\n"})
    # Set the "encrypted" flag an encrypting zip tool sets, in the local and central headers.
    data = bytearray(path.read_bytes())
    data[6] |= 0x1
    data[data.find(b"PK\x01\x02") + 8] |= 0x1
    path.write_bytes(bytes(data))

    with pytest.raises(InvalidUpload, match="locked.zip is password-protected"):
        read_file(path)


# GDAL also warns about what it finds wrong in a broken file; the refusal is what counts here.
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.geojson", b'{"type": "FeatureCollection", "features": [', "not a readable Geo"),
        ("broken.gpkg", b"SQLite format 3\x00" + b"\x00" * 200, "not a readable GeoPackage"),
        ("broken.zip", b"PK\x03\x04 not really", "not a readable zip archive"),
        ("parcels.shp", b"\x00\x00\x27\x0a", "zip them together and import the .zip"),
        ("city.gdb", b"", "zip the whole .gdb folder"),
        ("map.mxd", b"\x00", "files of type '.mxd' cannot be imported"),
    ],
)
def test_bad_gis_files(write, name, content, message):
    with pytest.raises(InvalidUpload, match=message) as error:
        read_file(write(name, content))
    assert "/tmp" not in str(error.value)  # no server folder in what a person is shown


def test_zip_with_nothing_importable(tmp_path):
    archive = _zip(tmp_path / "docs.zip", {"readme.pdf": b"%PDF", "notes.docx": b"PK"})

    with pytest.raises(InvalidUpload, match=r"holds no shapefile .*it holds: notes.docx, readme"):
        read_file(archive)


def test_sheet_of_a_gis_file_and_layer_of_a_csv_are_refused(real, write):
    with pytest.raises(InvalidUpload, match="holds GIS layers, not sheets"):
        read_file(real("gis/hartford_holc_1937_shapefile.zip"), options=ReadOptions(sheet="x"))
    with pytest.raises(InvalidUpload, match="t.csv has no layers to choose from"):
        read_file(write("t.csv", "a\n1\n"), options=ReadOptions(layer="x"))


def test_geometry_collections_are_refused(write):
    point = {"type": "Point", "coordinates": [0, 0]}
    collection = {**_feature(1), "geometry": {"type": "GeometryCollection", "geometries": [point]}}
    path = _collection(write, "mixed.geojson", [collection, _feature(2, "Point", [0, 0])])

    with pytest.raises(InvalidUpload, match="GeometryCollection geometries, which cannot be"):
        read_file(path)


def test_a_feature_of_another_kind_in_a_point_layer_names_its_row(write):
    features = [_feature(1, "Point", [0, 0]), _feature(2, "LineString", [[0, 0], [1, 1]])]
    path = _collection(write, "mixed.geojson", features)

    with pytest.raises(InvalidUpload, match="row 2, column the_geom: .* is not a point"):
        read_file(path)
