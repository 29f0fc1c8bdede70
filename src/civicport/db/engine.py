"""The one place engines are made: SQLite (WAL, busy timeout, foreign keys) or PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from civicport.config import Settings
from civicport.db.sqlite_functions import register_sqlite_functions


def make_engine(settings: Settings) -> Engine:
    url = sa.make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url)
    else:
        engine = sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    # The load checks (catalog.service) find the city's boundary here: the catalog service is
    # handed an engine, not the settings.
    if settings.city_boundary is not None:
        engine.update_execution_options(city_boundary=str(settings.city_boundary))
    return engine


def _sqlite_engine(url: sa.URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=16,
        max_overflow=16,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        # SQLAlchemy's pysqlite driver opens transactions lazily itself; WAL lets readers see
        # the last committed version while a load writes the next one.
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        # Page cache, temp store and memory mapping stay at SQLite's defaults: a bigger cache or
        # in-memory temp b-trees made GROUP BY sorts over a million rows 40-60% slower in bench/
        # (Q5), and a mapped file makes a full export look like 4 GB of resident memory.
        register_sqlite_functions(dbapi_conn)

    return engine


def dialect_name(engine_or_conn: Engine | sa.Connection) -> str:
    """'sqlite' or 'postgresql'."""
    return engine_or_conn.dialect.name
