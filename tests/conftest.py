"""Shared fixtures: real storage on both backends.

Every test that takes `engine` (or anything built on it) runs on a fresh SQLite file and, when
CIVICPORT_TEST_DATABASE_URL points at a PostgreSQL server, on a throwaway PostgreSQL database
created for this run and dropped at its end.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from civicport.app import create_app
from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_table
from civicport.config import Settings
from civicport.db.engine import make_engine
from civicport.db.migrate import upgrade
from civicport.ingest.records import ColumnSpec, ParsedTable
from civicport.privacy.decisions import Choice

PG_ADMIN_URL = os.environ.get("CIVICPORT_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_ADMIN_URL else [])

# The real city datasets beside the repository (shared/data, one README per file).
SHARED_DATA = Path("/work/shared/data")


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str | None]:
    """A throwaway PostgreSQL database for this test run (or None without a server)."""
    if not PG_ADMIN_URL:
        yield None
        return
    name = f"civicport_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, tmp_path: Path, pg_database_url: str | None) -> Settings:
    database_url = pg_database_url if backend == "postgresql" else None
    # No background jobs inside test apps: tests run queued jobs themselves (tests/jobs). Test
    # sources are servers on loopback, which the portal refuses to fetch from unless told.
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        embedded_worker=False,
        source_private_networks=True,
    )


@pytest.fixture
def engine(settings: Settings, backend: str) -> Iterator[sa.Engine]:
    """A migrated, empty database; PostgreSQL's is wiped after each test."""
    engine = make_engine(settings)
    upgrade(engine)
    yield engine
    if backend == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()


BIG_CSV_ROWS = 20_000  # three chunks of the first pass; enough for worker processes


@pytest.fixture
def big_csv(tmp_path: Path) -> Path:
    """A 311-like CSV of BIG_CSV_ROWS rows: text, timestamps, numbers, checkboxes, points."""
    path = tmp_path / "requests.csv"
    lines = ["Case ID,Opened,Days,Open,Location"]
    for i in range(BIG_CSV_ROWS):
        opened = dt.datetime(2020, 1, 1) + dt.timedelta(minutes=17 * i)
        days = "" if i % 7 == 0 else f"{i % 50}.{i % 10}"
        location = f'"({41.7 + i % 100 / 1000}, {-72.6 - i % 50 / 1000})"'
        lines.append(f"C{i},{opened.isoformat()},{days},{'true' if i % 2 else 'false'},{location}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# The app on real storage, an in-process client, and datasets made through the catalog service
# (never by writing tables directly): shared by the API and page tests.
MakeDataset = Callable[..., str]

# The "inspections" dataset: one column of each common type, nulls included.
INSPECTION_COLUMNS = [
    ("name", "text"),
    ("score", "number"),
    ("ratio", "double"),
    ("passed", "checkbox"),
    ("inspected", "floating_timestamp"),
    ("stamp", "fixed_timestamp"),
    ("location", "point"),
    ("website", "url"),
]
INSPECTION_ROWS = [
    (
        'Joe\'s "Diner"',
        Decimal("92"),
        0.5,
        True,
        dt.datetime(2019, 1, 2, 8, 0),
        dt.datetime(2019, 1, 2, 13, 0, tzinfo=dt.UTC),
        (-72.68, 41.76),
        "http://joes.example",
    ),
    ("Pizza Place", Decimal("75.5"), 1.25, False, dt.datetime(2020, 5, 6), None, None, None),
    ("Taco Stand", None, None, None, None, None, (-72.7, 41.7), None),
]


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI, engine: sa.Engine) -> Iterator[TestClient]:
    """An in-process HTTP client; the app runs its lifespan (engine, migrations)."""
    with TestClient(app) as client:
        yield client


# Fixture rows are made up, so whatever the privacy guard flags in them is accepted, with why.
FIXTURE_REASON = "Made-up test rows: they hold no real person's data"


@pytest.fixture
def make_dataset(engine: sa.Engine) -> MakeDataset:
    """Create a dataset through the catalog service; returns its id. Every column is accepted
    by the privacy guard (FIXTURE_REASON) unless `privacy` gives the decisions."""

    def make(
        columns: Sequence[tuple[str, str]] = INSPECTION_COLUMNS,
        rows: Sequence[Sequence[Any]] = INSPECTION_ROWS,
        *,
        title: str = "Restaurant inspections",
        audience: str = "public",
        row_identifier: str | None = None,
        privacy: dict[str, Choice] | None = None,
        **metadata: Any,
    ) -> str:
        specs = [ColumnSpec(n, n.replace("_", " ").title(), t) for n, t in columns]
        table = ParsedTable(columns=specs, rows=(tuple(r) for r in rows))
        if privacy is None:
            privacy = {n: Choice("accept", FIXTURE_REASON) for n, _ in columns}
        result = import_table(
            engine,
            table,
            metadata=DatasetMetadata(title=title, audience=audience, **metadata),
            row_identifier=row_identifier,
            privacy_decisions=privacy,
            decided_by="tests",
        )
        return result.dataset_id

    return make


@pytest.fixture
def inspections(make_dataset: MakeDataset) -> str:
    """The id of a public dataset holding INSPECTION_ROWS."""
    return make_dataset(
        category="Health",
        tags=("food", "restaurants"),
        description="Inspections of restaurants.",
        license_id="CC0_10",
        license_name="Public Domain",
        license_url="https://creativecommons.org/publicdomain/zero/1.0/",
        custom_fields={"Dataset Info": {"Agency": "Health"}},
    )


@pytest.fixture
def real() -> Callable[[str], Path]:
    """real("dir/file") -> a file of the shared real-data collection (skips if absent)."""

    def find(relative: str) -> Path:
        path = SHARED_DATA / relative
        if not path.exists():
            pytest.skip(f"{path} not available")
        return path

    return find
