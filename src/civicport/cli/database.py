"""The database a command works on: the configured one, migrated, disposed of afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from civicport.config import Settings, load_settings
from civicport.db.engine import make_engine
from civicport.db.migrate import upgrade


@contextmanager
def migrated_database(settings: Settings | None = None) -> Iterator[sa.Engine]:
    """An engine on the database of `settings` (default: the environment's), its schema
    brought up to date first."""
    engine = make_engine(settings or load_settings())
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
