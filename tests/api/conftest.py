"""Fixtures for API tests: the app on real storage, an in-process client, and datasets made
through the catalog service (never by writing tables directly)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from civicport.app import create_app
from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_table
from civicport.config import Settings
from civicport.ingest.records import ColumnSpec, ParsedTable

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


@pytest.fixture
def make_dataset(engine: sa.Engine) -> MakeDataset:
    """Create a dataset through the catalog service; returns its id."""

    def make(
        columns: Sequence[tuple[str, str]] = INSPECTION_COLUMNS,
        rows: Sequence[Sequence[Any]] = INSPECTION_ROWS,
        *,
        title: str = "Restaurant inspections",
        audience: str = "public",
        row_identifier: str | None = None,
        **metadata: Any,
    ) -> str:
        specs = [ColumnSpec(n, n.replace("_", " ").title(), t) for n, t in columns]
        table = ParsedTable(columns=specs, rows=(tuple(r) for r in rows))
        result = import_table(
            engine,
            table,
            metadata=DatasetMetadata(title=title, audience=audience, **metadata),
            row_identifier=row_identifier,
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
