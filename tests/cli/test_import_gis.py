"""`civicport import` of GIS files on both backends, then SoQL on the stored geometry through
/resource: a real GeoJSON of points, a zipped shapefile in Connecticut State Plane feet (so
within_box only finds its points if they were reprojected), and the real polygon shapefile."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely
from pyogrio.raw import write

# Hartford's downtown, as within_box takes it: north, west, south, east.
DOWNTOWN = (41.775, -72.69, 41.755, -72.66)
LANDMARKS = {
    "City Hall": (-72.6751, 41.7637),
    "Old State House": (-72.6733, 41.7664),
    "Elizabeth Park": (-72.7185, 41.7773),  # west of downtown
}


def _import(cli, path: Path, *extra: str) -> str:
    result = cli("import", path, "--title", path.stem, "--audience", "public", *extra)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def _query(client, dataset_id: str, fmt: str = "json", **params: str):
    response = client.get(f"/resource/{dataset_id}.{fmt}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _in_box(lon: float, lat: float) -> bool:
    north, west, south, east = DOWNTOWN
    return south <= lat <= north and west <= lon <= east


def test_geojson_points_answer_within_box(cli, client, dataset, real):
    path = real("gis/hartford_holc_1937_label_points.geojson")
    features = json.loads(path.read_text())["features"]
    box = (41.80, -72.75, 41.74, -72.66)  # north, west, south, east
    expected = sorted(
        f["properties"]["name"]
        for f in features
        if box[2] <= f["geometry"]["coordinates"][1] <= box[0]
        and box[1] <= f["geometry"]["coordinates"][0] <= box[3]
    )
    assert 0 < len(expected) < len(features)

    dataset_id = _import(cli, path)

    types = {c.field_name: c.soda_type for c in dataset(dataset_id).columns}
    assert types["the_geom"] == "point"
    where = "within_box(the_geom, {}, {}, {}, {})".format(*box)
    rows = _query(client, dataset_id, **{"$where": where, "$order": "name", "$limit": "100"})
    assert sorted(r["name"] for r in rows) == expected


def test_zipped_state_plane_shapefile_is_stored_in_longitude_latitude(cli, client, tmp_path):
    to_feet = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:2234", always_xy=True)
    folder = tmp_path / "landmarks"
    folder.mkdir()
    points = shapely.points([to_feet.transform(*p) for p in LANDMARKS.values()])
    names = list(LANDMARKS)
    write(str(folder / "landmarks.shp"), shapely.to_wkb(points), [np.array(names, dtype=object)],
          ["name"], driver="ESRI Shapefile", crs="EPSG:2234", geometry_type="Point")  # fmt: skip
    archive = tmp_path / "landmarks.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in folder.iterdir():
            z.write(part, part.name)

    dataset_id = _import(cli, archive)

    where = "within_box(the_geom, {}, {}, {}, {})".format(*DOWNTOWN)
    inside = _query(client, dataset_id, **{"$where": where, "$order": "name"})
    assert [r["name"] for r in inside] == sorted(n for n, p in LANDMARKS.items() if _in_box(*p))
    stored = {r["name"]: r["the_geom"]["coordinates"] for r in _query(client, dataset_id)}
    for name, (lon, lat) in LANDMARKS.items():
        assert stored[name] == pytest.approx([lon, lat], abs=1e-6)


def test_real_polygon_shapefile_round_trips_as_geojson(cli, client, dataset, real):
    dataset_id = _import(cli, real("gis/hartford_holc_1937_shapefile.zip"))

    assert {c.field_name: c.soda_type for c in dataset(dataset_id).columns} == {
        "name": "text",
        "town": "text",
        "grade": "text",
        "the_geom": "multipolygon",
    }
    collection = _query(client, dataset_id, "geojson", **{"$where": "grade = 'A'"})
    features = collection["features"]
    assert features
    assert {f["properties"]["grade"] for f in features} == {"A"}
    for feature in features:
        assert feature["geometry"]["type"] == "MultiPolygon"
        min_x, min_y, max_x, max_y = shapely.geometry.shape(feature["geometry"]).bounds
        assert -72.79 < min_x < max_x < -72.58
        assert 41.72 < min_y < max_y < 41.82
    count = _query(client, dataset_id, **{"$select": "count(*) AS n"})
    assert int(count[0]["n"]) == 46


def test_import_of_a_shapefile_without_its_dbf_changes_nothing(cli, dataset_count, real, tmp_path):
    archive = tmp_path / "holc.zip"
    with (
        zipfile.ZipFile(real("gis/hartford_holc_1937_shapefile.zip")) as source,
        zipfile.ZipFile(archive, "w") as target,
    ):
        for member in source.infolist():
            if not member.filename.endswith(".dbf"):
                target.writestr(member, source.read(member))
    before = dataset_count()

    result = cli("import", archive, "--title", "HOLC")

    assert result.exit_code == 1
    assert "has no .dbf file (its attribute table)" in " ".join(result.stderr.split())
    assert dataset_count() == before


def test_import_picks_a_sheet_and_a_layer(cli, dataset, tmp_path, real):
    path = real("misc/hartford_holc_1937_metadata.xls")
    sheet = cli("import", path, "--title", "HOLC areas", "--sheet", "Data")
    assert sheet.exit_code == 0, sheet.output
    assert dataset(sheet.stdout.strip()).row_count == 27
    gpkg = tmp_path / "city.gpkg"
    for layer, names in (("parks", ["Bushnell Park"]), ("schools", ["Bulkeley", "Weaver"])):
        points = shapely.points([(-72.68, 41.76)] * len(names))
        write(str(gpkg), shapely.to_wkb(points), [np.array(names, dtype=object)], ["name"],
              layer=layer, driver="GPKG", crs="EPSG:4326", geometry_type="Point")  # fmt: skip
    layer = cli("import", gpkg, "--title", "Schools", "--layer", "schools")
    assert layer.exit_code == 0, layer.output
    assert dataset(layer.stdout.strip()).row_count == 2  # the second layer's two schools

    wrong = cli("import", path, "--title", "X", "--layer", "Data")
    assert wrong.exit_code == 1
    assert "has no layers to choose from" in " ".join(wrong.stderr.split())
