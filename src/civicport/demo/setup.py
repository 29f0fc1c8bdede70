"""Publish the sample datasets into a portal's database, once."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import sqlalchemy as sa

from civicport.catalog import store
from civicport.catalog.service import ImportResult, import_file
from civicport.config import Settings
from civicport.db.engine import make_engine
from civicport.db.migrate import upgrade
from civicport.demo.catalog import DemoDataset, demo_datasets

# Who the sample datasets' privacy decisions are recorded as made by.
DEMO_ACTOR = "demo"
# Given a label, a context manager that yields the callback a load reports its row count to.
ProgressFactory = Callable[[str], AbstractContextManager[Callable[[int], None] | None]]


@dataclass(frozen=True)
class DemoOutcome:
    """What setup_demo did with one sample dataset."""

    dataset: DemoDataset
    result: ImportResult | None  # None: the dataset was already there and was left alone


def setup_demo(settings: Settings, *, progress: ProgressFactory | None = None) -> list[DemoOutcome]:
    """Migrate the database and import each sample dataset that is not there yet.

    Safe to run again: datasets already present (by id) are skipped, never duplicated or reset.

    >>> setup_demo(load_settings())  # doctest: +SKIP
    """
    engine = make_engine(settings)
    try:
        upgrade(engine)
        outcomes = []
        for dataset in demo_datasets():
            with engine.connect() as conn:
                present = store.dataset_exists(conn, dataset.id)
            result = None if present else _import(engine, dataset, progress)
            outcomes.append(DemoOutcome(dataset, result))
        return outcomes
    finally:
        engine.dispose()


def _import(
    engine: sa.Engine, dataset: DemoDataset, progress: ProgressFactory | None
) -> ImportResult:
    tracker = progress(dataset.metadata.title) if progress else nullcontext(None)
    with tracker as report:
        return import_file(
            engine,
            dataset.path,
            metadata=dataset.metadata,
            dataset_id=dataset.id,
            row_identifier=dataset.row_identifier,
            type_overrides=dataset.types or None,
            points=dataset.points,
            progress=report,
            privacy_decisions=dataset.privacy,
            decided_by=DEMO_ACTOR,
        )
