"""`civicport import` on both backends: each mode, the options, and bad input."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from civicport.catalog.ids import is_dataset_id
from civicport.cli import app

CASES = "case_id,kind,days,zip\nC1,Pothole,3,00123\nC2,Graffiti,5,06103\nC3,Pothole,,06106\n"


@pytest.fixture
def cases_csv(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text(CASES, encoding="utf-8")
    return path


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rows_of(engine, record) -> list[dict]:
    with engine.connect() as conn:
        result = conn.exec_driver_sql(f'SELECT * FROM "{record.data_table}" ORDER BY _id')
        return [dict(row._mapping) for row in result]


def test_import_prints_the_new_id_and_creates_a_private_dataset(cli, cases_csv, dataset):
    result = cli("import", cases_csv, "--title", "Service requests")

    assert result.exit_code == 0, result.output
    dataset_id = result.stdout.strip()
    assert is_dataset_id(dataset_id)
    record = dataset(dataset_id)
    assert record.title == "Service requests"
    assert record.audience == "private"  # docs/decisions/0002-default-audience.md
    assert record.row_count == 3
    assert [c.field_name for c in record.columns] == ["case_id", "kind", "days", "zip"]
    assert "3 created" in result.stderr


def test_import_sets_the_catalog_entry_from_options(cli, cases_csv, dataset):
    result = cli(
        "import", cases_csv,
        "--title", "Requests", "--id", "reqs-2024", "--description", "From **311**.",
        "--category", "Streets", "--tag", "311", "--tag", "potholes",
        "--audience", "public", "--row-id", "case_id",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "reqs-2024"
    record = dataset("reqs-2024")
    assert (record.description, record.category) == ("From **311**.", "Streets")
    assert record.tags == ("311", "potholes")
    assert (record.audience, record.row_identifier) == ("public", "case_id")


def test_type_override_keeps_leading_zeros(cli, cases_csv, dataset, engine):
    result = cli("import", cases_csv, "--title", "T", "--type", "zip=text", "--type", "days=text")

    assert result.exit_code == 0, result.output
    record = dataset(result.stdout.strip())
    types = {c.field_name: c.soda_type for c in record.columns}
    assert types["zip"] == "text"
    assert types["days"] == "text"
    assert [row["zip"] for row in rows_of(engine, record)] == ["00123", "06103", "06106"]


def test_replace_append_and_upsert(cli, cases_csv, tmp_path, dataset, engine):
    dataset_id = cli("import", cases_csv, "--title", "T", "--row-id", "case_id").stdout.strip()

    replaced = cli(
        "import", write(tmp_path, "new.csv", "case_id,kind,days,zip\nC9,Litter,1,06120\n"),
        "--mode", "replace", "--id", dataset_id,
    )  # fmt: skip
    assert replaced.exit_code == 0, replaced.output
    assert replaced.stdout.strip() == dataset_id
    assert [r["case_id"] for r in rows_of(engine, dataset(dataset_id))] == ["C9"]

    appended = cli(
        "import", write(tmp_path, "more.csv", "case_id,kind,days,zip\nC10,Litter,2,06120\n"),
        "--mode", "append", "--id", dataset_id,
    )  # fmt: skip
    assert appended.exit_code == 0, appended.output
    assert dataset(dataset_id).row_count == 2

    upserted = cli(
        "import",
        write(tmp_path, "up.csv", "case_id,kind,days,zip\nC9,Pothole,4,06120\nC11,Tree,1,06120\n"),
        "--mode", "upsert", "--id", dataset_id,
    )  # fmt: skip
    assert upserted.exit_code == 0, upserted.output
    assert "1 created, 1 updated" in upserted.stderr
    rows = {r["case_id"]: r["kind"] for r in rows_of(engine, dataset(dataset_id))}
    assert rows == {"C9": "Pothole", "C10": "Litter", "C11": "Tree"}


def test_missing_title_on_create_is_a_usage_error(cli, cases_csv, dataset_count):
    result = cli("import", cases_csv)

    assert result.exit_code == 2
    assert "--title" in result.stderr
    assert dataset_count() == 0


def test_other_modes_need_an_id(cli, cases_csv):
    result = cli("import", cases_csv, "--mode", "append")

    assert result.exit_code == 2
    assert "--id" in result.stderr


def test_unknown_mode_is_a_usage_error(cli, cases_csv):
    assert cli("import", cases_csv, "--title", "T", "--mode", "merge").exit_code == 2


def failure(result) -> str:
    """The error message of a failed command, after checking it failed cleanly."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return re.sub(r"\s+", " ", result.stderr)


def test_missing_file(cli, tmp_path, dataset_count):
    message = failure(cli("import", tmp_path / "nope.csv", "--title", "T"))

    assert "No such file" in message
    assert "nope.csv" in message
    assert dataset_count() == 0


def test_unsupported_format(cli, tmp_path, dataset_count):
    path = write(tmp_path, "report.pdf", "%PDF-1.4 not a table")

    message = failure(cli("import", path, "--title", "T"))

    assert "report.pdf" in message or ".pdf" in message
    assert dataset_count() == 0


@pytest.mark.parametrize("bad", ["zip", "=text", "zip="])
def test_bad_type_syntax(cli, cases_csv, bad, dataset_count):
    message = failure(cli("import", cases_csv, "--title", "T", "--type", bad))

    assert "COLUMN=SODA_TYPE" in message
    assert dataset_count() == 0


def test_type_for_an_unknown_column(cli, cases_csv, dataset_count):
    message = failure(cli("import", cases_csv, "--title", "T", "--type", "zipcode=text"))

    assert "zipcode" in message
    assert dataset_count() == 0


def test_unknown_type(cli, cases_csv, dataset_count):
    message = failure(cli("import", cases_csv, "--title", "T", "--type", "zip=zipcode"))

    assert "zipcode" in message
    assert dataset_count() == 0


def test_empty_file(cli, tmp_path, dataset_count):
    message = failure(cli("import", write(tmp_path, "empty.csv", ""), "--title", "T"))

    assert "empty" in message.lower()
    assert dataset_count() == 0


def test_bad_value_names_row_and_column(cli, tmp_path, dataset_count):
    path = write(tmp_path, "bad.csv", "case_id,days\nC1,3\nC2,lots\n")

    message = failure(cli("import", path, "--title", "T", "--type", "days=number"))

    assert "days" in message
    assert "row" in message.lower()
    assert dataset_count() == 0


def test_replace_of_unknown_dataset(cli, cases_csv):
    message = failure(cli("import", cases_csv, "--mode", "replace", "--id", "zzzz-9999"))

    assert "zzzz-9999" in message


def test_id_already_taken(cli, cases_csv, dataset):
    assert cli("import", cases_csv, "--title", "A", "--id", "abcd-1234").exit_code == 0

    message = failure(cli("import", cases_csv, "--title", "B", "--id", "abcd-1234"))

    assert "abcd-1234" in message
    assert dataset("abcd-1234").title == "A"


def test_failed_upsert_leaves_the_dataset_alone(cli, cases_csv, dataset):
    dataset_id = cli("import", cases_csv, "--title", "T").stdout.strip()

    # No row identifier declared and none given: the upsert cannot match rows.
    message = failure(cli("import", cases_csv, "--mode", "upsert", "--id", dataset_id))

    assert "identif" in message
    assert dataset(dataset_id).row_count == 3


def test_unreachable_database_is_reported_without_traceback(cases_csv, tmp_path):
    env = {
        "CIVICPORT_HOME": str(tmp_path),
        "CIVICPORT_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none",
    }
    result = CliRunner().invoke(app, ["import", str(cases_csv), "--title", "T"], env=env)

    assert "Cannot use the database" in failure(result)


CRASHES = "id,lat,lng,kind\n1,41.7658,-72.6734,A\n2,,-72.68,O\n3,141.2,-72.6,K\n"


def test_point_built_from_latitude_and_longitude_columns(cli, tmp_path, dataset, engine):
    path = write(tmp_path, "crashes.csv", CRASHES)
    result = cli(
        "import", path, "--title", "Crashes", "--point", "Location=lat,lng", "--row-id", "id"
    )

    assert result.exit_code == 0, result.output
    record = dataset(result.stdout.strip())
    assert [(c.field_name, c.soda_type) for c in record.columns][-1] == ("location", "point")
    rows = rows_of(engine, record)
    assert (rows[0]["location__lon"], rows[0]["location__lat"]) == (-72.6734, 41.7658)
    # A missing or impossible coordinate gives no point; the numbers themselves are kept.
    assert rows[1]["location__lat"] is None
    assert rows[2]["location__lat"] is None
    assert float(rows[2]["lat"]) == 141.2

    more = write(tmp_path, "more.csv", "id,lat,lng,kind\n4,41.77,-72.69,O\n")
    appended = cli(
        "import", more, "--mode", "append", "--id", record.id, "--point", "Location=lat,lng"
    )
    assert appended.exit_code == 0, appended.output
    assert rows_of(engine, dataset(record.id))[-1]["location__lat"] == 41.77


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ("Location", "NAME=LATITUDE,LONGITUDE"),
        ("Location=lat", "NAME=LATITUDE,LONGITUDE"),
        ("Location=latitude,lng", "no column 'latitude'"),
        ("Location=kind,lng", "not numbers"),
    ],
)
def test_bad_point_is_refused_and_creates_nothing(cli, tmp_path, point, expected, dataset_count):
    path = write(tmp_path, "crashes.csv", CRASHES)

    message = failure(cli("import", path, "--title", "Crashes", "--point", point))

    assert expected in message
    assert dataset_count() == 0
