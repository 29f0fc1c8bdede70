"""Run the command line against the test database: settings reach it through CIVICPORT_* vars."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from civicport.catalog.records import DatasetRecord
from civicport.catalog.store import get_dataset
from civicport.cli import app
from civicport.config import Settings
from civicport.db.schema import datasets


def settings_env(settings: Settings) -> dict[str, str | None]:
    """The environment that makes load_settings() return `settings` (None unsets a variable)."""
    return {
        "CIVICPORT_HOME": str(settings.home),
        "CIVICPORT_DATABASE_URL": settings.database_url,
        "CIVICPORT_CONFIG": str(settings.home / "no-such-civicport.toml"),
    }


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str | None]:
    return settings_env(settings)


@pytest.fixture
def cli(cli_env: dict[str, str | None], engine: sa.Engine) -> Callable[..., Result]:
    """cli("import", "x.csv", "--title", "X"): run a command on the test database.

    Depends on `engine` so the database exists and is cleaned up like every storage test's.
    """
    runner = CliRunner()

    def run(*args: object) -> Result:
        return runner.invoke(app, [str(a) for a in args], env=cli_env)

    return run


@pytest.fixture
def dataset(engine: sa.Engine) -> Callable[[str], DatasetRecord]:
    def get(dataset_id: str) -> DatasetRecord:
        with engine.connect() as conn:
            return get_dataset(conn, dataset_id)

    return get


@pytest.fixture
def dataset_count(engine: sa.Engine) -> Callable[[], int]:
    def count() -> int:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(datasets)).scalar_one()

    return count
