"""Real files with personal data (shared/data), cut to a few thousand rows where a test does not
need them all, and a reader of what a load stored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from civicport.catalog.store import get_dataset

DATA = Path("/work/shared/data")

Stored = Callable[..., list[tuple[Any, ...]]]


def real(relative: str) -> Path:
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


def head_of(source: Path, target: Path, lines: int) -> Path:
    """The first `lines` lines of a real file (its header included), as a file of its own."""
    with source.open(encoding="utf-8") as file:
        text = "".join(line for _, line in zip(range(lines), file, strict=False))
    target.write_text(text, encoding="utf-8")
    return target


@pytest.fixture
def employees_file() -> Path:
    """Chicago's employees in January 2016: "LAST,  FIRST M" names, titles, salaries."""
    return real("misc/chicago_employee_names_salaries_position_titles.csv")


@pytest.fixture
def employees(employees_file: Path, tmp_path: Path) -> Path:
    """The first 3,000 of those employees."""
    return head_of(employees_file, tmp_path / "employees.csv", 3001)


@pytest.fixture
def crimes() -> Path:
    """Chicago crimes of 1–3 January 2016, with exact latitude, longitude and location."""
    return real("police/chicago_crimes_2016-01-01_to_03_sample.csv")


@pytest.fixture
def potholes() -> Path:
    """Kansas City 311 pothole requests, with street addresses."""
    return real("service_requests/kansas_city_311_potholes_2020-01_to_02.csv")


@pytest.fixture
def stored(engine: sa.Engine) -> Stored:
    """stored(dataset_id, *fields) → the stored values of those (physical) columns, by :id."""

    def read(dataset_id: str, *fields: str) -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            table = get_dataset(conn, dataset_id).data_table
            names = ", ".join(f'"{f}"' for f in fields)
            query = f'SELECT {names} FROM "{table}" ORDER BY _id'
            return [tuple(row) for row in conn.exec_driver_sql(query)]

    return read
