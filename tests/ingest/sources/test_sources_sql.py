"""Kind "sql": a query on a real database (the test's SQLite file, and PostgreSQL when the
machine has one), streamed into a CSV file, read-only."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_file
from civicport.ingest.sources import SourceError, SourceSpec, fetch_source

PERMITS = sa.table(
    "dept_permits",
    sa.column("permit"),
    sa.column("issued"),
    sa.column("inspected_at"),
    sa.column("fee"),
    sa.column("paid"),
)
MANY = 2500  # more than one batch of the stream


@pytest.fixture
def department_db(engine: sa.Engine) -> str:
    """The URL (password included) of a database holding a department's permits table."""
    metadata = sa.MetaData()
    table = sa.Table(
        "dept_permits",
        metadata,
        sa.Column("permit", sa.Text),
        sa.Column("issued", sa.Date),
        sa.Column("inspected_at", sa.DateTime),
        sa.Column("fee", sa.Numeric(10, 2)),
        sa.Column("paid", sa.Boolean),
    )
    with engine.begin() as conn:
        metadata.create_all(conn)
        conn.execute(
            table.insert(),
            [
                {
                    "permit": 'P-1, "rush"',
                    "issued": dt.date(2024, 1, 2),
                    "inspected_at": dt.datetime(2024, 1, 5, 14, 30),
                    "fee": Decimal("10.50"),
                    "paid": True,
                },
                {"permit": "P-2", "issued": None, "inspected_at": None, "fee": None, "paid": False},
            ],
        )
    return engine.url.render_as_string(hide_password=False)


def fetch(location: str, query: str, into: Path, **kwargs: object) -> Path:
    spec = SourceSpec("sql", location, query=query)
    return fetch_source(spec, into, max_bytes=1 << 20, **kwargs)  # type: ignore[arg-type]


def rows_of(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_the_result_becomes_a_csv_with_iso_dates_and_empty_nulls(
    department_db: str, backend: str, into: Path
) -> None:
    fetched = fetch(department_db, "SELECT * FROM dept_permits ORDER BY permit", into)
    assert fetched == into / "query.csv"
    header, first, second = rows_of(fetched)
    assert header == ["permit", "issued", "inspected_at", "fee", "paid"]
    if backend == "postgresql":
        assert first == ['P-1, "rush"', "2024-01-02", "2024-01-05T14:30:00", "10.50", "true"]
        assert second == ["P-2", "", "", "", "false"]
    else:  # SQLite keeps dates as text and booleans as numbers: they come back as stored
        assert first == ['P-1, "rush"', "2024-01-02", "2024-01-05 14:30:00.000000", "10.5", "1"]
        assert second == ["P-2", "", "", "", "0"]


def test_the_query_runs_as_written(department_db: str, into: Path) -> None:
    query = "SELECT 'a%b :c' AS note, permit AS \"Permit #\" FROM dept_permits WHERE permit = 'P-2'"
    assert rows_of(fetch(department_db, query, into)) == [["note", "Permit #"], ["a%b :c", "P-2"]]


def test_a_large_result_is_streamed_in_batches(department_db: str, into: Path) -> None:
    many = (
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {MANY}) "
        "SELECT i FROM n"
    )
    seen: list[int] = []
    fetched = fetch(department_db, many, into, progress=seen.append)
    assert len(rows_of(fetched)) == MANY + 1
    assert seen[-1] == fetched.stat().st_size


@pytest.mark.parametrize(
    "writing",
    [
        "WITH gone AS (DELETE FROM dept_permits RETURNING *) SELECT * FROM gone",
        "SELECT nextval('dept_numbers')",  # allowed in a SELECT, refused when read-only
    ],
)
def test_postgresql_refuses_a_query_that_writes(
    department_db: str, engine: sa.Engine, backend: str, into: Path, writing: str
) -> None:
    if backend != "postgresql":
        pytest.skip("only PostgreSQL has data-changing WITH queries and sequences")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SEQUENCE dept_numbers")
    with pytest.raises(SourceError, match="the database said: "):
        fetch(department_db, writing, into)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(PERMITS)).scalar() == 2
        assert conn.exec_driver_sql("SELECT nextval('dept_numbers')").scalar() == 1


def test_sqlite_runs_the_query_query_only(department_db: str, backend: str, into: Path) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's own read-only switch")
    fetched = fetch(department_db, "SELECT * FROM pragma_query_only", into)
    assert rows_of(fetched)[1] == ["1"]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("SELECT * FROM no_such_table", "no_such_table"),
        ("SELECT permit FROM dept_permits WHERE AND", "syntax error"),
    ],
)
def test_query_errors_carry_the_database_words(
    department_db: str, into: Path, query: str, words: str
) -> None:
    with pytest.raises(SourceError) as raised:
        fetch(department_db, query, into)
    message = raised.value.message
    assert message.startswith("Could not fetch SQL query on ")
    assert "the database said: " in message
    assert words in message
    assert list(into.iterdir()) == []


def test_a_database_that_cannot_be_reached_is_named_without_its_password(
    into: Path, closed_port: int
) -> None:
    url = f"postgresql+psycopg://city:hunter2@127.0.0.1:{closed_port}/permits"
    with pytest.raises(SourceError) as raised:
        fetch(url, "SELECT 1", into)
    message = raised.value.message
    assert f"SQL query on postgresql+psycopg://city:***@127.0.0.1:{closed_port}/permits" in message
    assert "hunter2" not in message
    assert "the database said: " in message


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("nosuchdb://u:p@host/db", "the URL's database kind is unknown"),
        ("mysql+pymysql://u:p@host/db", "the driver for mysql+pymysql is not installed"),
    ],
)
def test_unknown_or_missing_drivers_are_named(into: Path, url: str, words: str) -> None:
    with pytest.raises(SourceError) as raised:
        fetch(url, "SELECT 1", into)
    assert words in raised.value.message


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path, into: Path) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(SourceError, match="there is no database file at that path"):
        fetch(f"sqlite:///{missing}", "SELECT 1", into)
    assert not missing.exists()


def test_a_result_over_the_limit_is_refused(department_db: str, into: Path) -> None:
    spec = SourceSpec("sql", department_db, query="SELECT * FROM dept_permits")
    with pytest.raises(SourceError, match="larger than the 40 bytes limit"):
        fetch_source(spec, into, max_bytes=40)
    assert list(into.iterdir()) == []


def test_the_fetched_csv_imports(
    department_db: str, engine: sa.Engine, into: Path, stored_rows
) -> None:
    fetched = fetch(department_db, "SELECT * FROM dept_permits ORDER BY permit", into)
    result = import_file(engine, fetched, metadata=DatasetMetadata(title="Permits"), mode="create")
    rows = stored_rows(result.dataset_id)
    assert [(r["permit"], r["paid"]) for r in rows] == [('P-1, "rush"', True), ("P-2", False)]
    assert [r["issued"] is None for r in rows] == [False, True]
