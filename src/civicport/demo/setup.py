"""Publish the sample datasets into a portal's database, once."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import sqlalchemy as sa

from civicport.auth.accounts import create_user
from civicport.auth.audit import record_event
from civicport.catalog import store
from civicport.catalog.service import ImportResult, import_file
from civicport.config import Settings
from civicport.db.engine import make_engine
from civicport.db.migrate import upgrade
from civicport.db.schema import users
from civicport.demo.catalog import DemoDataset, demo_datasets

# Who the sample datasets' privacy decisions are recorded as made by.
DEMO_ACTOR = "demo"
# Given a label, a context manager that yields the callback a load reports its row count to.
ProgressFactory = Callable[[str], AbstractContextManager[Callable[[int], None] | None]]


# The staff account a new demo portal gets, so its publishing pages can be tried at once.
DEMO_ADMIN_EMAIL = "admin@demo.invalid"


@dataclass(frozen=True)
class DemoAdmin:
    """The admin account made for a new demo portal; its password is shown once."""

    email: str
    password: str


@dataclass(frozen=True)
class DemoOutcome:
    """What setup_demo did with one sample dataset."""

    dataset: DemoDataset
    result: ImportResult | None  # None: the dataset was already there and was left alone


def setup_demo(
    settings: Settings, *, progress: ProgressFactory | None = None
) -> tuple[list[DemoOutcome], DemoAdmin | None]:
    """Migrate the database, import each sample dataset that is not there yet, and make an
    admin account (with a random password, returned once) if the portal has no account.

    Safe to run again: datasets already present (by id) are skipped, never duplicated or reset,
    and no second account is made.

    >>> outcomes, admin = setup_demo(load_settings())  # doctest: +SKIP
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
        return outcomes, _first_admin(engine)
    finally:
        engine.dispose()


def _first_admin(engine: sa.Engine) -> DemoAdmin | None:
    """An admin account for a portal that has none yet (random password), recorded in the
    audit log; None when accounts exist."""
    with engine.begin() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one():
            return None
        password = secrets.token_urlsafe(12)
        create_user(conn, email=DEMO_ADMIN_EMAIL, role="admin", password=password)
        record_event(
            conn,
            actor=DEMO_ACTOR,
            action="user.create",
            detail={"email": DEMO_ADMIN_EMAIL, "role": "admin"},
        )
    return DemoAdmin(DEMO_ADMIN_EMAIL, password)


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
