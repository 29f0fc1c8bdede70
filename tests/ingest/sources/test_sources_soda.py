"""Kind "soda" against civicport itself, served by uvicorn on loopback, with pages small enough
that a few rows take several requests."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sources_loopback import serving

from civicport.catalog.records import DatasetMetadata
from civicport.catalog.service import import_file
from civicport.ingest.sources import SourceError, SourceSpec, fetch_source

ROWS = [(n, f"Permit {n}") for n in range(1, 6)]


@pytest.fixture
def portal(app: FastAPI, engine: sa.Engine) -> Iterator[str]:
    with serving(app) as base:
        yield base


@pytest.fixture
def permits(make_dataset: Callable[..., str]) -> str:
    """A public dataset of five permits."""
    return make_dataset([("n", "number"), ("name", "text")], ROWS, title="Permits")


def fetch(location: str, into: Path, **options: object) -> Path:
    return fetch_source(SourceSpec("soda", location, options=options), into, max_bytes=1 << 20)


def rows_of(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("page_size", [2, 5, 50_000])
def test_every_row_arrives_once_whatever_the_page_size(
    portal: str, permits: str, into: Path, page_size: int
) -> None:
    fetched = fetch(f"{portal}/resource/{permits}.json", into, page_size=page_size)
    assert fetched == into / f"{permits}.csv"
    header, *rows = rows_of(fetched)
    assert header == ["n", "name"]
    assert rows == [[str(n), name] for n, name in ROWS]


def test_the_address_own_filter_is_kept(portal: str, permits: str, into: Path) -> None:
    fetched = fetch(f"{portal}/resource/{permits}?$where=n > 3", into, page_size=1)
    assert rows_of(fetched)[1:] == [["4", "Permit 4"], ["5", "Permit 5"]]


def test_a_missing_dataset_fails_plainly(portal: str, into: Path) -> None:
    with pytest.raises(SourceError) as raised:
        fetch(f"{portal}/resource/zzzz-9999.csv", into)
    assert raised.value.message.startswith(f"Could not fetch SODA dataset zzzz-9999 on {portal}: ")
    assert "answered 404 Not Found" in raised.value.message
    assert list(into.iterdir()) == []


def test_the_copy_imports_into_another_dataset(
    portal: str, permits: str, into: Path, engine: sa.Engine, stored_rows
) -> None:
    fetched = fetch(f"{portal}/resource/{permits}", into, page_size=2)
    copy = import_file(engine, fetched, metadata=DatasetMetadata(title="Copy"), mode="create")
    assert [(int(r["n"]), r["name"]) for r in stored_rows(copy.dataset_id)] == ROWS
