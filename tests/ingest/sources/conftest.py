"""Fixtures for source tests: a place to fetch into, a closed port, and a way to read back what
an import stored. (The loopback server is in sources_loopback.py.)"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from civicport.catalog.store import get_dataset


@pytest.fixture
def into(tmp_path: Path) -> Path:
    """An empty directory to fetch into."""
    path = tmp_path / "fetched"
    path.mkdir()
    return path


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def stored_rows(engine: sa.Engine) -> Callable[[str], list[dict[str, Any]]]:
    """A dataset's current rows as stored, in row-id order."""

    def read(dataset_id: str) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            data_table = get_dataset(conn, dataset_id).data_table
            result = conn.exec_driver_sql(f'SELECT * FROM "{data_table}" ORDER BY _id')
            return [dict(row._mapping) for row in result]

    return read
