"""check_source refuses specs that can never work; describe_source never shows a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from civicport.errors import InvalidUpload
from civicport.ingest.sources import (
    SourceError,
    SourceSpec,
    check_source,
    describe_source,
    fetch_source,
)


@pytest.mark.parametrize(
    "spec",
    [
        SourceSpec("url", "https://data.example.gov/permits.csv"),
        SourceSpec("url", "http://10.0.0.5:8080/export?id=3", options={"format": "xlsx"}),
        SourceSpec("url", "https://x.gov/a", options={"format": "Shapefile"}),
        SourceSpec("file", "/mnt/share/permits.csv"),
        SourceSpec("sql", "postgresql+psycopg://u:p@db/city", query="SELECT * FROM permits"),
        SourceSpec("sql", "sqlite:////srv/x.db", query="  -- open ones\n(select 1)"),
        SourceSpec(
            "sql", "sqlite:////srv/x.db", query="/* c */ WITH a AS (SELECT 1) SELECT * FROM a"
        ),
        SourceSpec("soda", "https://data.example.gov/resource/abcd-1234.json"),
        SourceSpec(
            "soda", "https://data.example.gov/resource/abcd-1234", options={"page_size": 10}
        ),
        SourceSpec("ckan", "https://ckan.example.gov/dataset/permits/resource/0f1e-22"),
        SourceSpec("ckan", "https://ckan.example.gov/api/3/action/resource_show?id=0f1e-22"),
        SourceSpec("arcgis", "https://gis.x.gov/arcgis/rest/services/Parks/FeatureServer/0"),
        SourceSpec("arcgis", "https://gis.x.gov/arcgis/rest/services/Parks/MapServer/3/query"),
        SourceSpec("url", "https://x.gov/a.csv", headers={"X-Api-Key": "abc 123"}),
    ],
)
def test_specs_that_can_work_pass(spec: SourceSpec) -> None:
    check_source(spec)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (SourceSpec("ftp", "ftp://x.gov/a.csv"), "Unknown kind of source 'ftp'"),
        (SourceSpec("url", ""), "needs a location"),
        (SourceSpec("url", "ftp://x.gov/a.csv"), "must start with http:// or https://"),
        (SourceSpec("url", "file:///etc/passwd"), "must start with http:// or https://"),
        (SourceSpec("url", "https:///a.csv"), "has no host name"),
        (SourceSpec("url", "https://x.gov/a\nb.csv"), "control characters"),
        (SourceSpec("url", "https://x.gov/a", options={"format": "pdf"}), "format 'pdf'"),
        (SourceSpec("url", "https://x.gov/a", options={"fromat": "csv"}), "no option 'fromat'"),
        (SourceSpec("file", "shared/permits.csv"), "must be absolute"),
        (SourceSpec("sql", "postgresql://db/city"), "needs a query"),
        (SourceSpec("sql", "postgresql://db/city", query="DELETE FROM permits"), "SELECT or WITH"),
        (SourceSpec("sql", "postgresql://db/city", query="-- x\nDROP TABLE a"), "SELECT or WITH"),
        (SourceSpec("sql", "not a url", query="SELECT 1"), "not a database URL"),
        (SourceSpec("sql", "sqlite://", query="SELECT 1"), "database file"),
        (SourceSpec("sql", "sqlite:///rel.db", query="SELECT 1"), "absolute path"),
        (SourceSpec("soda", "https://x.gov/views/abcd-1234"), "not a SODA dataset address"),
        (SourceSpec("soda", "https://x.gov/resource/abcd-1234.json?$limit=5"), "Leave $limit"),
        (
            SourceSpec("soda", "https://x.gov/resource/abcd-1234", options={"page_size": 0}),
            "page_size",
        ),
        (SourceSpec("ckan", "https://x.gov/dataset/permits"), "not a CKAN resource address"),
        (SourceSpec("ckan", "https://x.gov/api/3/action/resource_show"), "not a CKAN resource"),
        (
            SourceSpec("arcgis", "https://x.gov/arcgis/rest/services/P/FeatureServer"),
            "layer's number",
        ),
        (SourceSpec("url", "https://x.gov/a", headers={"X-Key": "a\r\nX-Evil: 1"}), "one line"),
        (SourceSpec("url", "https://x.gov/a", headers={"X Key": "a"}), "header name"),
    ],
)
def test_specs_that_can_never_work_are_refused(spec: SourceSpec, words: str) -> None:
    with pytest.raises(SourceError) as raised:
        check_source(spec)
    assert words in raised.value.message
    assert raised.value.code == "source.failed"
    assert isinstance(raised.value, InvalidUpload)


def test_files_outside_the_allowed_folders_are_refused(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    inside = SourceSpec("file", str(share / "permits.csv"))
    check_source(inside, allowed_dirs=[share])
    escaping = SourceSpec("file", str(share / ".." / "civicport.db"))
    with pytest.raises(SourceError, match="outside the folders sources may read from"):
        check_source(escaping, allowed_dirs=[share])
    database = SourceSpec("sql", f"sqlite:///{tmp_path}/civicport.db", query="SELECT * FROM users")
    with pytest.raises(SourceError, match="outside the folders"):
        check_source(database, allowed_dirs=[share])


def test_a_symlink_out_of_an_allowed_folder_is_refused(tmp_path: Path, into: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    (share / "innocent.csv").symlink_to(secret)
    with pytest.raises(SourceError, match="outside the folders"):
        fetch_source(
            SourceSpec("file", str(share / "innocent.csv")),
            into,
            max_bytes=1000,
            allowed_dirs=[share],
        )
    assert list(into.iterdir()) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (SourceSpec("url", "https://data.x.gov/permits.csv"), "URL https://data.x.gov/permits.csv"),
        (
            SourceSpec("url", "https://bob:hunter2@data.x.gov/p.csv?api_key=s3cret&year=2024"),
            "URL https://bob:***@data.x.gov/p.csv?api_key=***&year=2024",
        ),
        (SourceSpec("file", "/mnt/share/p.csv"), "file /mnt/share/p.csv"),
        (
            SourceSpec("sql", "postgresql+psycopg://city:hunter2@db/permits", query="SELECT 1"),
            "SQL query on postgresql+psycopg://city:***@db/permits",
        ),
        (
            SourceSpec("sql", "postgresql://u@db/x?sslpassword=s3&sslmode=require", query="x"),
            "SQL query on postgresql://u@db/x?sslmode=require&sslpassword=***",
        ),
        (
            SourceSpec("sql", "sqlite:////srv/permits.db", query="SELECT 1"),
            "SQL query on sqlite:////srv/permits.db",
        ),
        (
            SourceSpec("soda", "https://data.x.gov/resource/abcd-1234.json"),
            "SODA dataset abcd-1234 on https://data.x.gov",
        ),
        (
            SourceSpec("ckan", "https://ckan.x.gov/data/dataset/p/resource/r-1"),
            "CKAN resource r-1 on https://ckan.x.gov/data",
        ),
        (
            SourceSpec(
                "arcgis", "https://g.x.gov/arcgis/rest/services/P/FeatureServer/0?token=abc"
            ),
            "ArcGIS layer https://g.x.gov/arcgis/rest/services/P/FeatureServer/0?token=***",
        ),
        (SourceSpec("nope", "https://a:b@x.gov/"), "nope source https://a:***@x.gov/"),
    ],
)
def test_descriptions_name_the_source_without_secrets(spec: SourceSpec, expected: str) -> None:
    assert describe_source(spec) == expected


def test_descriptions_never_show_header_values() -> None:
    spec = SourceSpec("url", "https://x.gov/a.csv", headers={"X-Api-Key": "s3cret"})
    assert "s3cret" not in describe_source(spec)
